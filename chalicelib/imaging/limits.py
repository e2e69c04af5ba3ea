"""The configured limits on what imaging will decode, each with a reason a person can act on.

Checked on what the headers claim, before any pixel is decoded, so a
decompression bomb (a tiny file claiming huge dimensions) costs nothing.
"""
from __future__ import annotations

import contextlib
import re
import warnings
from typing import Iterator

from PIL import Image

from ..config import Settings
from .outcome import Rejected


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _mp(n: int) -> str:
    return f"{n / 1e6:g} megapixels"


def check_bytes(size: int, settings: Settings) -> None:
    if size > settings.max_upload_bytes:
        raise Rejected(f"file is {_mb(size)}; the limit is {_mb(settings.max_upload_bytes)}")


def check_pixels(width: int, height: int, settings: Settings) -> None:
    if width < 1 or height < 1:
        raise Rejected(f"image claims to be {width}x{height} pixels")
    if width * height > settings.max_pixels:
        raise Rejected(f"image is {width}x{height} pixels ({_mp(width * height)}); "
                       f"the limit is {_mp(settings.max_pixels)}")


def check_frames(frames: int, settings: Settings) -> None:
    if frames > settings.max_frames:
        raise Rejected(f"image has {frames} frames; the limit is {settings.max_frames}")


def bomb_reason(exc: Exception, settings: Settings) -> str:
    """Pillow's bomb check, said with our limit (its error names twice the limit)."""
    claimed = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"is {_mp(int(claimed.group(1)))}" if claimed else "is too large"
    return f"image {size}; the limit is {_mp(settings.max_pixels)} (a possible decompression bomb)"


@contextlib.contextmanager
def pillow_bomb_check(max_pixels: int | None) -> Iterator[None]:
    """Pillow's own bomb check at `max_pixels` (None: off), its warning raised as an error.

    Pillow consults the module-wide MAX_IMAGE_PIXELS; a Lambda process
    handles one image at a time, and the old value is restored.
    """
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous
