"""The rendition URLs the API hands out: one for any options, and `delivery` for a record.

    delivery = {"src": ..., "srcset": "... 256w, ... 320w, ...", "width": W, "height": H}

`src` is a signed `format=auto` URL at DEFAULT_WIDTH (or the image's own width when it is
narrower); `srcset` offers the same over WIDTH_LADDER, stopping at the original's width
(which it always includes), so a browser picks a candidate by its layout and pixel
density. Pillow-free: the API builds these without loading imaging.
"""

from __future__ import annotations

import time
from typing import Any

from ..config import Settings
from ..domain.records import ImageRecord
from . import keyring, signing
from .options import Options

# Next.js' deviceSizes (the widths phones, tablets and desktops lay out), with its imageSizes
# 256 and 384 and our 320 and 480 below them: a gallery tile of 160-240 CSS px at 2x then
# finds a candidate within 1.25x of the pixels it shows, not 640 for all.
WIDTH_LADDER = (256, 320, 384, 480, 640, 750, 828, 1080, 1200, 1920, 2048, 3840)
DEFAULT_WIDTH = 1080


def path_for(record: ImageRecord, options: Options, settings: Settings, now: float | None = None) -> str:
    expires = signing.expiry(time.time() if now is None else now, settings.url_window, settings.delivery_url_ttl)
    return signing.sign(keyring.load(settings), record.image_id, record.version, options, expires)


def url_for(record: ImageRecord, options: Options, settings: Settings, base: str, now: float | None = None) -> str:
    """The signed URL of one rendition: under DELIVERY_BASE_URL (the CDN) when set, else `base`
    (the API's own address, where the local stack serves renditions)."""
    return (settings.delivery_base_url or base) + path_for(record, options, settings, now)


def widths(original: int, max_dimension: int) -> list[int]:
    """The ladder's widths below the original's, then the original's own (within the limit)."""
    top = min(original, max_dimension)
    return [w for w in WIDTH_LADDER if w < top] + [top]


def delivery(record: ImageRecord, settings: Settings, base: str, now: float | None = None) -> dict[str, Any] | None:
    """`delivery` for a ready record with its size; None otherwise."""
    if record.status != "ready" or not record.width or not record.height or record.deleting:
        return None
    now = time.time() if now is None else now
    ladder = widths(record.width, settings.max_rendition_dimension)
    srcset = ", ".join(f"{url_for(record, Options(w), settings, base, now)} {w}w" for w in ladder)
    return {
        "src": url_for(record, Options(min(DEFAULT_WIDTH, ladder[-1])), settings, base, now),
        "srcset": srcset,
        "width": record.width,
        "height": record.height,
    }
