"""The variants: decode once, cascade largest -> smallest, encode with no metadata.

Each step answers a measured cost (see bench/imaging.py and the README):
- the decoder already reduced a JPEG (draft); nothing is decoded twice;
- the largest variant comes from the decoded image with BICUBIC, in bands,
  so no full-size intermediate exists; each smaller one from the previous
  variant (a 2x2 average for a halving, LANCZOS otherwise), every size
  computed from the original dimensions;
- orientation and colour conversion happen on the first, already small variant;
- alpha is flattened onto white only for JPEG; under `auto` a transparent image
  becomes WebP: lossy with alpha, or lossless where that is smaller.
Variants carry no EXIF, XMP or comments; an ICC profile that fits is kept.
"""

from __future__ import annotations

import io
import os
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image, features

from ..config import Preset
from . import colour, orientation, sizing
from .decoding import Decoded
from .outcome import RenderedVariant

# The first step (after a JPEG's DCT-domain reduction, usually less than 2x) is
# the costliest resize, so it uses HAMMING: BILINEAR's two taps per side (the
# 3000 -> 2048 step of a 24 MP photo: 43 ms, BICUBIC 68, LANCZOS 96) with a
# sharper kernel. Against LANCZOS from the full image it keeps 39-44 dB on the
# bench's grainy photos (BILINEAR fell to 38.1 on the 24 MP one; bench/imaging.py).
# reducing_gap: shrink by a whole factor with a box filter while the rest
# still shrinks by at least this much; 1 makes a 2x step a plain 2x2 average.
_FIRST_FILTER, _FIRST_GAP = Image.Resampling.HAMMING, 2.0
# A JPEG decoded at a scale a little under the largest variant (sizing.decode_request)
# is enlarged with BICUBIC: 2000 -> 2048 px costs 44 ms (LANCZOS 60, BILINEAR 29) and
# stays at 39-42 dB from LANCZOS on the full image (BILINEAR: 40.4 on the bench's photo).
_ENLARGE_FILTER = Image.Resampling.BICUBIC
# A cascade step of 3x or more (1024 -> 256) is plain LANCZOS: on a variant that
# small it costs a few milliseconds, and a box pre-shrink there cost 2-3 dB on
# grainy photos (PSNR against LANCZOS from the full image; tests/imaging).
_HALVING_GAP, _LARGE_STEP_GAP = 1.0, None
# Banding costs a few percent more filtering; worth it only for big decodes.
_BANDED_FROM, _BAND_PIXELS, _MAX_BANDS = 3_000_000, 375_000, 16  # 6 MP: 16 bands
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
# Under `auto`, a transparent variant with at most this many colours is also
# encoded losslessly, and the smaller file kept.
_DRAWN_COLOURS = 256
# libwebp's effort (0-6; Pillow's default 4). A 2048 px transparent photo at q85:
# 615 ms at 4, 432 ms at 3 for 2% more bytes and the same PSNR, 295 ms at 2 for 7%
# more and 0.5 dB less. The alpha plane costs over half of it.
_WEBP_METHOD = 3
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
    """The variants, largest first. Takes `decoded.image`: the largest thing in
    memory goes as soon as the first variant exists."""
    shown = orientation.displayed_size(decoded.width, decoded.height, turn)
    current: Image.Image | None = None
    icc, has_alpha = None, False
    made: dict[str, Future[RenderedVariant]] = {}
    encoder = _encoder()
    try:
        for preset in sorted(presets, key=lambda p: p.box, reverse=True):
            target = sizing.fit(*shown, preset.box)
            if current is None:
                stored = orientation.displayed_size(*target, turn)  # the same turn undoes itself
                current = orientation.upright(_first_step(decoded, stored), turn)
                current, icc = colour.for_display(current, decoded.icc_profile)
                has_alpha = colour.alpha_in_use(current)
                if not has_alpha and current.mode in ("RGBA", "LA"):
                    current = current.convert(current.mode[:-1])
            else:
                current = _cascade_step(current, target)
            made[preset.name] = encoder.submit(_encode, current, preset, has_alpha, icc)
        assert current is not None, "there is always at least one preset"
        return Rendered([made[p.name].result() for p in presets], current, has_alpha)
    finally:
        encoder.shutdown(cancel_futures=True)


class _Inline(Executor):
    """Runs each call at once, in this thread."""

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


def _encoder() -> Executor:
    """Where variants are encoded. With more than one CPU, in threads beside the cascade
    (Pillow releases the GIL while it encodes and resizes): less wall time, the same CPU
    time. On one CPU, in line. Lambda below 1769 MB grants less than one vCPU whatever the
    sandbox shows, so there the threads cannot gain (bench/imaging.py: the same CPU time)."""
    cpus = os.process_cpu_count() or 1
    return ThreadPoolExecutor(max_workers=cpus) if cpus > 1 else _Inline()


def _first_step(decoded: Decoded, size: tuple[int, int]) -> Image.Image:
    """From the decoded image (taken from `decoded`, so that only this frame holds
    it), in horizontal bands.

    Pillow resizes in two passes and keeps the first pass whole (2048 x 2000
    for a 24 MP photo: 16 MB). Each band reads the source rows its filter
    needs, across the band's edges, so the pixels are the same.
    """
    assert decoded.image is not None, "render() takes the decoded image once"
    image = colour.for_resampling(decoded.image)
    decoded.image = None
    image.info = {}  # nothing of the original (EXIF, XMP, comments) may reach an encoder
    if image.size == size:
        return image
    resample = _ENLARGE_FILTER if size[0] > image.width else _FIRST_FILTER
    pixels = image.width * image.height
    if pixels < _BANDED_FROM:
        return image.resize(size, resample, reducing_gap=_FIRST_GAP)
    bands = min(_MAX_BANDS, pixels // _BAND_PIXELS)
    # Pillow resamples alpha premultiplied, converting the whole image on every
    # call: convert once here instead of once per band (and drop the original).
    straight = image.mode
    if straight in _PREMULTIPLIED:
        image = image.convert(_PREMULTIPLIED[straight])
    out = Image.new(image.mode, size)
    scale = image.height / size[1]
    step = -(-size[1] // bands)
    for top in range(0, size[1], step):
        bottom = min(top + step, size[1])
        band = image.resize(
            (size[0], bottom - top),
            resample,
            box=(0, top * scale, image.width, bottom * scale),
            reducing_gap=_FIRST_GAP,
        )
        out.paste(band, (0, top))
    return out.convert(straight) if out.mode != straight else out


def _cascade_step(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """From the previous, already filtered variant. A step of less than 3x starts
    with a 2x2 average when it can (as libjpeg's half-scale decode does);
    larger steps keep LANCZOS's anti-aliasing whole."""
    if image.size == size:
        return image
    gap = _HALVING_GAP if image.width < 3 * size[0] else _LARGE_STEP_GAP
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=gap)


def _output_format(preset: Preset, has_alpha: bool) -> str:
    if preset.format == "auto":  # every current browser reads WebP; a PNG of a photo is ~10x larger
        return "webp" if has_alpha else "jpeg"
    return preset.format


def _looks_drawn(image: Image.Image) -> bool:
    """Few distinct colours: a logo, icon or drawing, where lossless WebP can be the smaller.
    getcolors gives up as soon as it has seen more, so a photo costs little."""
    return image.getcolors(_DRAWN_COLOURS) is not None


def _encode(image: Image.Image, preset: Preset, has_alpha: bool, icc: bytes | None) -> RenderedVariant:
    kind = _output_format(preset, has_alpha)
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
    elif kind == "webp":
        params = {"quality": preset.quality, "method": _WEBP_METHOD}
    elif kind == "avif":
        params = {"quality": preset.quality}
    profile = colour.profile_for(image.mode, icc)
    if profile:
        params["icc_profile"] = profile
    data = _saved(image, name, params)
    if kind == "webp" and preset.format == "auto" and _looks_drawn(image):
        data = min(data, _saved(image, name, {**params, "lossless": True}), key=len)
    return RenderedVariant(preset.name, data, image.width, image.height, content_type, ext)


def _saved(image: Image.Image, name: str, params: dict) -> bytes:
    out = io.BytesIO()
    image.save(out, name, **params)
    return out.getvalue()
