"""Image decoding and variants: the only module that imports Pillow.

Bytes in, bytes out; it never touches AWS. `process` either returns what the
record needs plus the rendered variants, or raises Rejected with a reason a
person can act on.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps

from . import formats
from .config import Preset, Settings

_PILLOW_FORMATS = ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"]


class Rejected(Exception):
    """The bytes are not an image imgstore accepts; the message says why."""


@dataclass
class RenderedVariant:
    name: str
    data: bytes
    width: int
    height: int
    content_type: str
    ext: str


@dataclass
class Processed:
    format: str
    content_type: str
    width: int
    height: int
    variants: list[RenderedVariant]
    details: dict[str, Any] = field(default_factory=dict)


def _open(data: bytes, settings: Settings) -> Image.Image:
    """Decode once. Decoding the same bytes fails the same way every time, so
    any decoder error is a rejection, never a retry (MemoryError excepted)."""
    found = formats.sniff(data[:64])
    if found is None or found.name not in _PILLOW_FORMATS:
        raise Rejected(f"not a supported image; accepted formats: {', '.join(_PILLOW_FORMATS)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[found.name])
    except MemoryError:
        raise
    except Exception as exc:
        raise Rejected(f"not a readable {found.name} image ({exc})") from None
    if image.width * image.height > settings.max_pixels:
        raise Rejected(f"image is {image.width}x{image.height} pixels; the limit is "
                       f"{settings.max_pixels / 1e6:g} megapixels")
    try:
        image.load()
    except MemoryError:
        raise
    except Exception as exc:
        raise Rejected(f"the {found.name} data is truncated or corrupt ({exc})") from None
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _render(image: Image.Image, preset: Preset, alpha: bool) -> RenderedVariant:
    copy = image.copy()
    copy.thumbnail((preset.box, preset.box), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if alpha and preset.format in ("auto", "png"):
        copy.convert("RGBA").save(out, "PNG", optimize=True)
        kind, ext = "image/png", "png"
    else:
        copy.convert("RGB").save(out, "JPEG", quality=preset.quality, optimize=True)
        kind, ext = "image/jpeg", "jpg"
    return RenderedVariant(preset.name, out.getvalue(), copy.width, copy.height, kind, ext)


def process(data: bytes, settings: Settings) -> Processed:
    """Check `data` and render every preset. Raises Rejected for a bad image."""
    image = _open(data, settings)
    source_format = image.format
    alpha = _has_alpha(image)
    upright = ImageOps.exif_transpose(image)
    if upright.mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert("RGBA" if alpha else "RGB")
    variants = [_render(upright, p, alpha) for p in settings.presets]
    fmt = formats.BY_MIME.get(Image.MIME.get(source_format, ""), None)
    return Processed(
        format=source_format,
        content_type=fmt.mime if fmt else Image.MIME.get(source_format, "application/octet-stream"),
        width=upright.width, height=upright.height, variants=variants,
    )
