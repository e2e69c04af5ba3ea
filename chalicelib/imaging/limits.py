"""The configured limits on what imaging will decode, each with a reason a person can act on.

Checked on what the headers claim, before any pixel is decoded, so a
decompression bomb (a tiny file claiming huge dimensions) costs nothing.
"""

from __future__ import annotations

import re
import warnings

from PIL import Image

from ..config import Settings
from ..domain.upload_limits import upload_size_problem
from .outcome import Rejected


def _mp(n: int) -> str:
    """Exact, as every limit message is: a rounded figure can make the size and the limit read the same."""
    return f"{n} pixels ({n // 10**6} megapixels)" if n and n % 10**6 == 0 else f"{n} pixels"


def check_bytes(size: int, settings: Settings) -> None:
    problem = upload_size_problem(size, settings)
    if problem:
        raise Rejected(problem)


def check_pixels(width: int, height: int, settings: Settings) -> None:
    if width < 1 or height < 1:
        raise Rejected(f"image claims to be {width}x{height} pixels")
    if width * height > settings.max_pixels:
        raise Rejected(
            f"image is {width}x{height} pixels ({_mp(width * height)}); the limit is {_mp(settings.max_pixels)}"
        )


def check_frames(frames: int, settings: Settings) -> None:
    if frames > settings.max_frames:
        raise Rejected(f"image has {frames} frames; the limit is {settings.max_frames}")


def bomb_reason(exc: Exception, settings: Settings) -> str:
    """Pillow's bomb check said no; it names the pixel count, not the dimensions."""
    claimed = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"is {_mp(int(claimed.group(1)))}" if claimed else "is too large"
    return f"image {size}; the limit is {_mp(settings.max_pixels)}"


def apply_to_pillow(settings: Settings) -> None:
    """Pillow's own bomb check (on every header, frame and tile it reads) at our
    limit, its warning an error, as Pillow's docs advise.

    Process-wide and idempotent: a deployment has one limit, so threads (the
    local stack runs handlers in threads) always agree on it.
    """
    Image.MAX_IMAGE_PIXELS = settings.max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def check_animation(size: tuple[int, int], frames: int, settings: Settings) -> None:
    """An animation is decoded frame by frame for a rendition: its pixels over all frames
    (as imgproxy counts them) are held to the pixel limit."""
    total = size[0] * size[1] * frames
    if total > settings.max_pixels:
        raise Rejected(
            f"the animation is {frames} frames of {size[0]}x{size[1]} pixels ({_mp(total)} in all); "
            f"the limit for an animated rendition is {_mp(settings.max_pixels)}"
        )
