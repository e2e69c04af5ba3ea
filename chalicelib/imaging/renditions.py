"""Renditions on demand: one stored picture in, one web image out. Bytes in, bytes out, no AWS.

    render(source, options, settings, client=..., shown=..., focus=...) -> Rendition

- The source is the original or a stored variant (`delivery.geometry.choose_source`);
  every size is computed from the original's displayed size `shown`, so both give the
  same rendition size (`delivery.geometry.plan`).
- Headers first: the format, the pixel count and the frames are checked before any
  pixel is decoded; over a limit is `Rejected` (a 4xx, never retried).
- A JPEG is decoded at the smallest DCT scale that still covers the rendition, a still
  WebP by libwebp at the rendition's scale (`decoding`); nothing is decoded twice.
- EXIF orientation is applied; CMYK becomes sRGB; no EXIF, GPS, XMP or comment is ever
  written (only an ICC profile that fits the pixels).
- An animation stays animated (WebP, GIF, AVIF or APNG; a JPEG gets the first frame).
- AVIF has a time budget (`AVIF_BUDGET_MS`): a rendition predicted to take longer to
  encode is WebP instead, and a log line says so.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass

from PIL import Image, ImageSequence

from ..config import Settings
from ..delivery import geometry
from ..delivery.options import DEFAULT_QUALITY, ENCODINGS, Options, output_format
from ..domain import formats
from . import colour, decoding, limits, orientation, sniffing
from .outcome import Rejected

log = logging.getLogger(__name__)

# libavif's speed (0-10; Pillow's default 6). A 1920x1440 photo at q60 on one CPU:
# 1670 ms at 6, 267 ms at 8 for 2% fewer bytes, 159 ms at 9 for 2% more. From 2 MP up
# (a 1920 px rendition) speed 9: at 8 it cost 1.12x libvips' whole thumbnail at 1920 px
# (bench/delivery.py), where the encode is nearly all of it.
AVIF_SPEED, AVIF_SPEED_LARGE, AVIF_LARGE_PIXELS = 8, 9, 2_000_000
# Predicted AVIF encoding time at AVIF_SPEED, per output pixel (and frame), on one
# Lambda vCPU share: ~100 ns measured here (bench/delivery.py), 150 with headroom.
AVIF_NS_PER_PIXEL = 150
# libwebp's effort (0-6): renditions are served many times, so the default 4.
WEBP_METHOD = 4
_SAVE_NAMES = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "gif": "GIF"}
_ANIMATED = ("webp", "gif", "avif", "png")  # the encodings that can carry an animation


@dataclass
class Rendition:
    data: bytes
    content_type: str
    ext: str
    encoding: str  # jpeg | png | webp | avif | gif
    width: int
    height: int
    frames: int
    avif_over_budget: bool = False  # AVIF was asked (or negotiated) and WebP served


def render(
    source: bytes,
    options: Options,
    settings: Settings,
    *,
    client: str = "basic",
    shown: tuple[int, int] | None = None,
    focus: tuple[float, float] | None = None,
    has_alpha: bool | None = None,
) -> Rendition:
    """The rendition of `source` (an original or a variant) by `options`, for a client whose
    Accept header came to `client` (delivery.options.accepts). `shown`: the original's
    displayed size (default: the source's own); `has_alpha`: the image's transparency as
    its record says (default: what the source's pixels say)."""
    fmt = sniffing.sniff(source)
    decoding.prepare(fmt)
    limits.apply_to_pillow(settings)
    opened = _opened(source, fmt, settings)
    frames = getattr(opened, "n_frames", 1)
    animated = fmt.name in decoding.ANIMATION_FORMATS and frames > 1
    stored = opened.size
    turn = orientation.read(decoding.exif_of(opened))
    shown_here = orientation.displayed_size(*stored, turn)
    shown = shown or shown_here
    planned = geometry.plan(options, shown, settings.max_rendition_dimension, focus)
    if animated:
        limits.check_animation(stored, frames, settings)
    provisional = output_format(options, client, has_alpha=bool(has_alpha), animated=animated)
    if animated and provisional in _ANIMATED:
        return _animation(opened, fmt, options, planned, shown, turn, provisional, settings)
    first = _still(source, fmt, planned, shown, stored, turn, settings)
    alpha = colour.alpha_in_use(first) if has_alpha is None else has_alpha
    if not alpha and first.mode in ("RGBA", "LA"):
        first = first.convert(first.mode[:-1])
    encoding = output_format(options, client, has_alpha=alpha, animated=False)
    return _encoded([first], [0], 0, encoding, options, settings, icc=first.info.get("icc_profile"))


def _opened(source: bytes, fmt: formats.Format, settings: Settings) -> Image.Image:
    with decoding.untrusted(settings, fmt, lambda e: f"the stored {fmt.name} image cannot be read ({e})"):
        image = Image.open(io.BytesIO(source), formats=[fmt.name])  # headers only
    limits.check_pixels(*image.size, settings)
    with decoding.untrusted(settings, fmt, lambda e: f"the image's frames are corrupt ({e})"):
        limits.check_frames(getattr(image, "n_frames", 1), settings)
    return image


def _source_box(
    planned: geometry.Plan, shown: tuple[int, int], upright: tuple[int, int]
) -> tuple[float, float, float, float]:
    """The plan's crop (in the original's displayed pixels) in the decoded picture's pixels."""
    sx, sy = upright[0] / shown[0], upright[1] / shown[1]
    left, top, right, bottom = planned.crop
    return left * sx, top * sy, right * sx, bottom * sy


def _resized(image: Image.Image, planned: geometry.Plan, shown: tuple[int, int]) -> Image.Image:
    """The crop of `image` (upright) resized to its place on the rendition."""
    x0, y0, x1, y1 = planned.placed
    size = (x1 - x0, y1 - y0)
    box = _source_box(planned, shown, image.size)
    enlarging = size[0] > box[2] - box[0] + 0.5
    # LANCZOS after a box reduction down to twice the size (reducing_gap=2): the
    # anti-aliasing of LANCZOS at a fraction of its cost. A JPEG decoded a little under
    # the size (draft) is enlarged the rest of the way with BICUBIC.
    resample = Image.Resampling.BICUBIC if enlarging else Image.Resampling.LANCZOS
    return image.resize(size, resample, box=box, reducing_gap=None if enlarging else 2.0)


def _placed(image: Image.Image, planned: geometry.Plan) -> Image.Image:
    """`contain`: the resized image centred on the rendition, padded with transparency when
    it has an alpha channel, with white otherwise."""
    if planned.placed == (0, 0, *planned.size):
        return image
    pad = (255, 255, 255, 0) if image.mode in ("RGBA", "LA") else (255, 255, 255)
    canvas = Image.new("RGBA" if image.mode in ("RGBA", "LA") else "RGB", planned.size, pad)
    canvas.paste(image.convert(canvas.mode), planned.placed[:2])
    return canvas


def _still(
    source: bytes,
    fmt: formats.Format,
    planned: geometry.Plan,
    shown: tuple[int, int],
    stored: tuple[int, int],
    turn: int,
    settings: Settings,
) -> Image.Image:
    """The rendition's pixels: decoded as small as the decoder allows, upright, resized, placed."""
    # The decode must still cover the whole image at the rendition's scale.
    own = orientation.displayed_size(*stored, turn)
    ratio = min(1.0, max(planned.scaled[0] / own[0], planned.scaled[1] / own[1]))
    decoded = decoding.decode(source, fmt, settings, largest_box=max(1, round(max(stored) * ratio)))
    image, decoded.image = decoded.image, None
    assert image is not None, "decode always returns the first frame"
    icc = decoded.icc_profile
    image = colour.for_resampling(image)
    image.info = {}  # nothing of the original (EXIF, XMP, comments) may reach an encoder
    image = _resized(orientation.upright(image, turn), planned, shown)
    image, icc = colour.for_display(image, icc)
    image = _placed(image, planned)
    if icc:
        image.info["icc_profile"] = icc
    return image


def _animation(
    opened: Image.Image,
    fmt: formats.Format,
    options: Options,
    planned: geometry.Plan,
    shown: tuple[int, int],
    turn: int,
    encoding: str,
    settings: Settings,
) -> Rendition:
    frames: list[Image.Image] = []
    durations: list[int] = []
    with decoding.untrusted(settings, fmt, lambda e: f"the {fmt.name} data is truncated or corrupt ({e})"):
        for frame in ImageSequence.Iterator(opened):
            durations.append(int(frame.info.get("duration") or 100))
            picture = orientation.upright(frame.convert("RGBA"), turn)
            frames.append(_placed(_resized(picture, planned, shown), planned))
    loop = int(opened.info.get("loop", 0) or 0)
    return _encoded(frames, durations, loop, encoding, options, settings, icc=None)


def _predicted_avif_ms(frames: list[Image.Image]) -> float:
    return sum(f.width * f.height for f in frames) * AVIF_NS_PER_PIXEL / 1e6


def _encoded(
    frames: list[Image.Image],
    durations: list[int],
    loop: int,
    encoding: str,
    options: Options,
    settings: Settings,
    icc: bytes | None,
) -> Rendition:
    over_budget = False
    if encoding == "avif":
        predicted = _predicted_avif_ms(frames)
        if predicted > settings.avif_budget_ms:
            log.warning(
                "AVIF over its time budget: %dx%d, %d frame(s), predicted %.0f ms > AVIF_BUDGET_MS %d; serving WebP",
                frames[0].width,
                frames[0].height,
                len(frames),
                predicted,
                settings.avif_budget_ms,
            )
            encoding, over_budget = "webp", True
    first = frames[0]
    if encoding == "jpeg":
        frames = [colour.without_alpha(f) for f in frames]
    if encoding in ("jpeg", "webp", "avif"):
        frames = [f.convert("RGBA" if f.mode == "LA" else "RGB") if f.mode in ("L", "LA") else f for f in frames]
    quality = options.quality or DEFAULT_QUALITY.get(encoding)
    params: dict = {}
    if encoding == "jpeg":
        params = {"quality": quality, "optimize": True}
    elif encoding == "webp":
        params = {"quality": quality, "method": WEBP_METHOD}
    elif encoding == "avif":
        large = sum(f.width * f.height for f in frames) >= AVIF_LARGE_PIXELS
        params = {"quality": quality, "speed": AVIF_SPEED_LARGE if large else AVIF_SPEED, "max_threads": 1}
    elif encoding == "png":
        params = {"optimize": False}
    profile = colour.profile_for(frames[0].mode, icc)
    if profile and encoding != "gif":
        params["icc_profile"] = profile
    if len(frames) > 1:
        params.update(save_all=True, append_images=frames[1:], duration=durations, loop=loop)
        if encoding == "gif":
            params["disposal"] = 2
    for frame in frames:
        frame.info = {}  # nothing of the source (EXIF, XMP, comments) may reach an encoder
    started = time.perf_counter()
    out = io.BytesIO()
    frames[0].save(out, _SAVE_NAMES[encoding], **params)
    if encoding == "avif":
        spent = (time.perf_counter() - started) * 1000
        if spent > settings.avif_budget_ms:
            log.warning("AVIF took %.0f ms, over AVIF_BUDGET_MS %d", spent, settings.avif_budget_ms)
    content_type, ext = ENCODINGS[encoding]
    return Rendition(out.getvalue(), content_type, ext, encoding, first.width, first.height, len(frames), over_budget)


__all__ = ["Rejected", "Rendition", "render"]
