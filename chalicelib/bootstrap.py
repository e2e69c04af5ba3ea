"""The composition root: the one place the use-cases meet their adapters
(*Architecture Patterns with Python*'s bootstrap). Routes and handlers ask here;
the use-cases never build an adapter themselves."""

from __future__ import annotations

from . import config
from .adapters.blobs import BlobStore
from .adapters.store import ImageStore
from .config import Settings
from .delivery.service import Renditions, render_in_process
from .usecases.api import ApiService
from .usecases.s3_events import S3EventService


def api(settings: Settings | None = None) -> ApiService:
    """The API's use-cases over this stage's table and bucket."""
    settings = settings or config.load()
    return ApiService(settings, ImageStore(settings.table, shards=settings.list_shards), BlobStore(settings.bucket))


def s3_events(settings: Settings | None = None) -> S3EventService:
    """The S3 events' use-cases over this stage's table and bucket."""
    settings = settings or config.load()
    return S3EventService(settings, ImageStore(settings.table, shards=settings.list_shards), BlobStore(settings.bucket))


def renditions(settings: Settings | None = None, *, renderer: bool = False) -> Renditions:
    """Serving renditions over this stage's table and bucket; with `renderer`, able to
    render a miss (the renderer function: imports Pillow on its first render), else a miss
    raises NotStored for the caller to hand to the renderer."""
    settings = settings or config.load()
    blobs = BlobStore(settings.bucket)
    render = render_in_process(settings, blobs) if renderer else None
    return Renditions(settings, ImageStore(settings.table, shards=settings.list_shards), blobs, render=render)
