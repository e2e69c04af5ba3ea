"""Serving a rendition: from the stored object when there is one, rendered once when not.

    Renditions.serve(path, accept, now) -> Delivered     (status, headers, body)

1. The path is verified (`signing.verify`): a bad or expired signature is BadSignature
   (403), whatever else is wrong with it.
2. Its options and the client's Accept outcome (only when `format=auto`) name the stored
   object, `keys.rendition_key`. One S3 read: a hit is served from it, with no render.
3. A miss renders only for a ready image at the path's version (404 otherwise: deleted,
   not ready, or another version, whose pixels this path must never serve), through the
   `render` port, stores the result under `processed/{image_id}/`, and serves it. If the
   image was deleted meanwhile, the new object is removed and the answer is 404.
4. Output over `INLINE_LIMIT` (a Lambda response's safe line) is a 302: to the stored
   object's presigned URL, or (the renderer behind the CDN) to the same path, which the
   CDN then serves from the bucket.

Pillow-free: rendering happens behind the port (`render_in_process`, in the renderer).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..adapters.presigning import Window
from ..domain import keys
from ..domain.errors import NotFound, Unprocessable
from ..domain.records import ImageRecord
from ..usecases.lifecycle import UseCases
from . import keyring, options, signing

log = logging.getLogger(__name__)

INLINE_LIMIT = 4 * 1024 * 1024  # a Lambda response carries ~4.5 MB of binary after base64
CAPABILITY_CACHE = "public, max-age=31536000, immutable"
NOT_CACHED = "private, no-store"


@dataclass
class Rendered:
    data: bytes
    content_type: str


# (record, options, Accept outcome) -> the rendition's bytes
RenderPort = Callable[[ImageRecord, options.Options, str], Rendered]


class NotStored(Exception):
    """A verified path of a ready image whose rendition is not stored yet, where no render
    port is given (the API): the renderer has to make it."""

    def __init__(self, signed: signing.Signed, client: str):
        super().__init__(f"rendition {signed.options.canonical()} of {signed.image_id} is not stored yet")
        self.signed, self.client = signed, client


@dataclass
class Delivered:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Renditions(UseCases):
    render: RenderPort | None = None
    renders: int = 0  # rendered by this instance: a hit must not add to it

    def serve(
        self,
        path: str,
        accept: str | None,
        now: float | None = None,
        *,
        client: str | None = None,
        redirect_to_self: bool = False,
    ) -> Delivered:
        """The answer to a GET of `path` from a client sending `accept` (or whose Accept the
        edge already reduced to `client`)."""
        now = time.time() if now is None else now
        signed = signing.verify(path, keyring.load(self.settings), now, self.settings.max_rendition_dimension)
        negotiated = options.negotiated(signed.options)
        if not negotiated:
            client = "any"
        elif client not in options.ACCEPTS:
            client = options.accepts(accept)
        key = keys.rendition_key(signed.image_id, signed.version, signed.options.canonical(), client)
        headers = {"Cache-Control": self._cache_control(signed, now)}
        if negotiated:
            headers["Vary"] = "Accept"
        found = self.blobs.fetch(key, INLINE_LIMIT)
        if found is not None:
            info, data = found
            return self._answer(
                path,
                key,
                info.content_type or "application/octet-stream",
                info.size,
                data,
                headers,
                redirect_to_self,
                now,
            )
        record = self.store.get(signed.image_id)
        if record is None or record.deleting or record.status != "ready" or not record.width:
            raise NotFound(f"no image with id '{signed.image_id}'")
        if record.version != signed.version:
            raise NotFound(f"version {signed.version} of image '{signed.image_id}' is gone; ask the API for a new URL")
        if self.render is None:
            raise NotStored(signed, client)
        made = self.render(record, signed.options, client)
        self.renders += 1
        self.blobs.put(key, made.data, made.content_type, headers["Cache-Control"])
        still = self.store.get(signed.image_id)
        if still is None or still.deleting:  # deleted while rendering: leave nothing behind
            self.blobs.delete_many([key])
            raise NotFound(f"no image with id '{signed.image_id}'")
        body = made.data if len(made.data) <= INLINE_LIMIT else None
        return self._answer(path, key, made.content_type, len(made.data), body, headers, redirect_to_self, now)

    def _cache_control(self, signed: signing.Signed, now: float) -> str:
        if not signed.expires:
            return CAPABILITY_CACHE
        return f"public, max-age={max(0, signed.expires - int(now))}"

    def _answer(
        self,
        path: str,
        key: str,
        content_type: str,
        size: int,
        data: bytes | None,
        headers: dict[str, str],
        redirect_to_self: bool,
        now: float,
    ) -> Delivered:
        if data is None:  # over the line: the client fetches the stored object itself
            settings = self.settings
            location = (
                path
                if redirect_to_self
                else self.blobs.presign_get(key, Window(settings.url_window, now), settings.view_url_ttl)
            )
            redirect = {"Location": location, "Cache-Control": NOT_CACHED, "Content-Length": "0"}
            return Delivered(302, {**redirect, **({"Vary": headers["Vary"]} if "Vary" in headers else {})})
        return Delivered(200, {**headers, "Content-Type": content_type, "Content-Length": str(size)}, data)


def render_in_process(settings, blobs) -> RenderPort:
    """The renderer itself: choose the stored picture, read it, render (imports Pillow)."""

    def render(record: ImageRecord, opts: options.Options, client: str) -> Rendered:
        from ..imaging import renditions  # the renderer's code path only
        from . import geometry

        shown = (record.width or 0, record.height or 0)
        planned = geometry.plan(opts, shown, settings.max_rendition_dimension, focus_of(record))
        has_alpha = bool(record.details.get("has_alpha"))
        animated = bool(record.details.get("animated"))
        encoding = options.output_format(opts, client, has_alpha=has_alpha, animated=animated)
        source = geometry.choose_source(
            geometry.sources_of(record, settings.presets),
            planned.scaled,
            quality=opts.quality or options.DEFAULT_QUALITY.get(encoding, 100),
            lossless=encoding in ("png", "gif"),
            has_alpha=has_alpha,
            animated=animated,
        )
        data = blobs.get(source.key)
        if data is None:
            raise NotFound(f"image '{record.image_id}' has no stored picture to render from")
        try:
            made = renditions.render(
                data, opts, settings, client=client, shown=shown, focus=focus_of(record), has_alpha=has_alpha
            )
        except renditions.Rejected as exc:  # over a limit: the same answer every time
            raise Unprocessable(str(exc)) from None
        return Rendered(made.data, made.content_type)

    return render


def focus_of(record: ImageRecord) -> tuple[float, float] | None:
    focus = record.focus
    return (float(focus["x"]), float(focus["y"])) if focus else None
