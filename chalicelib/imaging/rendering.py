"""The variants: decode once, cascade largest -> smallest, encode with no metadata.

Each step answers a measured cost (see bench/imaging.py and the README):
- the decoder already reduced a JPEG (draft); nothing is decoded twice;
- every variant is resized from the previous, larger one, to a size computed
  from the original dimensions, with LANCZOS and reducing_gap=2;
- orientation and colour conversion happen on the first, already small variant;
- alpha is flattened onto white only for JPEG.
Variants carry no EXIF, XMP or comments; an ICC profile that fits is kept.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, features

from ..config import Preset
from . import colour, orientation, sizing
from .decoding import Decoded
from .outcome import RenderedVariant

_REDUCING_GAP = 2.0
# preset format -> (Pillow's name, content type, file extension)
_ENCODINGS = {
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "png": ("PNG", "image/png", "png"),
    "webp": ("WEBP", "image/webp", "webp"),
    "avif": ("AVIF", "image/avif", "avif"),
}


@dataclass
class Rendered:
    variants: list[RenderedVariant]  # in the presets' order
    smallest: Image.Image  # upright, alpha kept: what placeholders are made from
    has_alpha: bool


def render(decoded: Decoded, presets: tuple[Preset, ...], turn: int) -> Rendered:
    source = colour.for_resampling(decoded.image)
    source.info = {}  # nothing of the original (EXIF, XMP, comments) may reach an encoder
    shown = orientation.displayed_size(decoded.width, decoded.height, turn)
    current: Image.Image | None = None
    icc, has_alpha = None, False
    made: dict[str, RenderedVariant] = {}
    for preset in sorted(presets, key=lambda p: p.box, reverse=True):
        target = sizing.fit(*shown, preset.box)
        if current is None:
            stored = orientation.displayed_size(*target, turn)  # the same turn undoes itself
            current = orientation.upright(_resized(source, stored), turn)
            current, icc = colour.for_display(current, decoded.icc_profile)
            has_alpha = colour.alpha_in_use(current)
            if not has_alpha and current.mode in ("RGBA", "LA"):
                current = current.convert(current.mode[:-1])
        else:
            current = _resized(current, target)
        made[preset.name] = _encode(current, preset, has_alpha, icc)
    assert current is not None, "there is always at least one preset"
    return Rendered([made[p.name] for p in presets], current, has_alpha)


def _resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)


def output_format(preset: Preset, has_alpha: bool) -> str:
    if preset.format == "auto":
        return "png" if has_alpha else "jpeg"
    return preset.format


def _encode(image: Image.Image, preset: Preset, has_alpha: bool, icc: bytes | None) -> RenderedVariant:
    kind = output_format(preset, has_alpha)
    name, content_type, ext = _ENCODINGS[kind]
    if kind == "avif" and not features.check("avif"):
        raise RuntimeError(f"preset {preset.name} asks for AVIF, which this Pillow build cannot write")
    if kind == "jpeg":
        image = colour.without_alpha(image)
    elif kind in ("webp", "avif") and image.mode in ("L", "LA"):
        image = image.convert("RGBA" if image.mode == "LA" else "RGB")
    image.info = {}
    params: dict = {}
    if kind == "jpeg":
        params = {"quality": preset.quality, "optimize": True}
    elif kind in ("webp", "avif"):
        params = {"quality": preset.quality}
    profile = colour.profile_for(image.mode, icc)
    if profile:
        params["icc_profile"] = profile
    out = io.BytesIO()
    image.save(out, name, **params)
    return RenderedVariant(preset.name, out.getvalue(), image.width, image.height, content_type, ext)
