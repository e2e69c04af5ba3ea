"""The composition root: the one place the use-cases meet their adapters
(*Architecture Patterns with Python*'s bootstrap). Routes and handlers ask here;
the use-cases never build an adapter themselves."""

from __future__ import annotations

from . import config
from .adapters.blobs import BlobStore
from .adapters.delivery_queue import DeliveryQueue
from .adapters.event_bus import EventBus
from .adapters.store import ImageStore
from .adapters.webhook_store import WebhookStore
from .config import Settings
from .delivery.service import Renditions, render_in_process
from .events import destinations
from .usecases.api import ApiService
from .usecases.outbox import Outbox
from .usecases.s3_events import S3EventService
from .usecases.webhook_delivery import Sender
from .usecases.webhooks import Webhooks


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


def _webhook_store(settings: Settings) -> WebhookStore:
    return WebhookStore(settings.table, settings.webhook_key_id, on_lambda=settings.on_lambda)


def outbox(settings: Settings | None = None) -> Outbox:
    """The stream consumer's use-case: events onto the bus, webhook deliveries queued."""
    settings = settings or config.load()
    return Outbox(EventBus(settings.event_bus), _webhook_store(settings), DeliveryQueue(settings.webhook_queue))


def webhook_sender(settings: Settings | None = None) -> Sender:
    """The webhook sender's use-case: one delivery attempt when it is due."""
    settings = settings or config.load()
    return Sender(
        _webhook_store(settings),
        DeliveryQueue(settings.webhook_queue, settings.webhook_dlq),
        retry_schedule=settings.webhook_retry_schedule,
        allow_loopback=settings.webhooks_allow_loopback,
        resolve=_resolver(settings),
    )


def webhooks(settings: Settings | None = None) -> Webhooks:
    """The webhooks API's use-cases."""
    settings = settings or config.load()
    return Webhooks(
        _webhook_store(settings),
        DeliveryQueue(settings.webhook_queue),
        allow_loopback=settings.webhooks_allow_loopback,
        resolve=_resolver(settings),
    )


def _resolver(settings: Settings) -> destinations.Resolver | None:
    """The local stage resolves localhost only (no DNS); elsewhere the system's."""
    return destinations.local_resolver if settings.webhooks_allow_loopback else None
