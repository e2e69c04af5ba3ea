"""Where a rendition's pixels come from and what size it is: pure arithmetic, no Pillow.

Every size is computed from the ORIGINAL's displayed (upright) size, so a rendition
made from a stored variant and one made from the original have the same size.

- `inside` (the default): fit inside the box; either side may be missing.
- `cover`: exactly the box, cropped; the crop keeps the focal point in view, as close
  to the centre as the crop allows (the centre without one).
- `contain`: exactly the box, the image fitted inside it and padded.

Never enlarged: a box larger than the image can fill shrinks, keeping its aspect ratio,
until the image fills it at its own size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .options import Options

# How much larger than the rendition a lossy variant must be to stand in for the original.
# Measured on the bench's grainy 12 MP photo (bench/delivery.py; SSIM against LANCZOS from the
# original): a 1920 px JPEG from the 2048 px variant scores 0.922 against 0.935 from the
# original, but costs 0.1-0.2x the CPU (the HEIC: 140 ms against 1180; the PNG: against
# 1150); from variants 1.6-1.9x larger the loss is 0.003-0.006. The CPU wins: any variant
# at least as large as the rendition will do.
SOURCE_MARGIN = 1.0


@dataclass(frozen=True)
class Plan:
    size: tuple[int, int]  # the rendition's size
    scaled: tuple[float, float]  # the whole image at the rendition's scale (what a source must cover)
    crop: tuple[float, float, float, float]  # the part of the image shown, in its displayed pixels
    placed: tuple[int, int, int, int]  # where the resized crop goes on the rendition (contain pads around it)


def _both(options: Options) -> bool:
    return bool(options.width and options.height)


def plan(
    options: Options, shown: tuple[int, int], max_dimension: int, focus: tuple[float, float] | None = None
) -> Plan:
    """The rendition of an image displayed `shown` (width, height)."""
    width, height = shown
    if options.fit in ("cover", "contain") and _both(options):
        box_w, box_h = options.width or 0, options.height or 0
        if options.fit == "cover":
            room = min(1.0, width / box_w, height / box_h)
        else:
            room = min(1.0, max(width / box_w, height / box_h))
        box = max(1, round(box_w * room)), max(1, round(box_h * room))
        scale = (max if options.fit == "cover" else min)(box[0] / width, box[1] / height)
        if options.fit == "cover":
            crop_w, crop_h = min(width, box[0] / scale), min(height, box[1] / scale)
            fx, fy = focus or (0.5, 0.5)
            left = min(max(fx * width - crop_w / 2, 0.0), width - crop_w)
            top = min(max(fy * height - crop_h / 2, 0.0), height - crop_h)
            return Plan(box, (width * scale, height * scale), (left, top, left + crop_w, top + crop_h), (0, 0, *box))
        inner = min(box[0], max(1, round(width * scale))), min(box[1], max(1, round(height * scale)))
        x, y = (box[0] - inner[0]) // 2, (box[1] - inner[1]) // 2
        return Plan(box, (width * scale, height * scale), (0.0, 0.0, width, height), (x, y, x + inner[0], y + inner[1]))
    limit_w = options.width or max_dimension
    limit_h = options.height or max_dimension
    scale = min(1.0, limit_w / width, limit_h / height)
    size = max(1, round(width * scale)), max(1, round(height * scale))
    return Plan(size, (width * scale, height * scale), (0.0, 0.0, width, height), (0, 0, *size))


@dataclass(frozen=True)
class Source:
    """A stored picture of the image: the original or one of its variants."""

    key: str
    width: int  # displayed (variants are upright; the original's as displayed too)
    height: int
    content_type: str
    original: bool = False
    quality: int | None = None  # a lossy variant's encoding quality; None for the original


def choose_source(
    sources: Iterable[Source],
    needed: tuple[float, float],
    *,
    quality: int,
    lossless: bool,
    has_alpha: bool,
    animated: bool,
) -> Source:
    """The smallest stored picture at least SOURCE_MARGIN times `needed` (the whole image at
    the rendition's scale), where quality allows: a variant only for a still, lossy rendition
    no finer than the variant itself, that keeps the image's transparency. Else the original."""
    candidates = list(sources)
    original = next(s for s in candidates if s.original)
    if animated or lossless:
        return original  # variants hold the first frame only, and are lossy
    usable = [
        s
        for s in candidates
        if not s.original
        and s.width >= round(needed[0] * SOURCE_MARGIN)
        and s.height >= round(needed[1] * SOURCE_MARGIN)
        and (s.quality is None or s.quality >= quality)
        and not (has_alpha and s.content_type == "image/jpeg")
    ]
    return min(usable, key=lambda s: s.width * s.height, default=original)


def sources_of(record, presets) -> list[Source]:
    """The original and every stored variant of `record` (an ImageRecord), each variant with
    the quality its preset encodes at."""
    quality = {p.name: p.quality for p in presets}
    found = [Source(record.original_key, record.width, record.height, record.content_type or "", original=True)]
    for name, variant in record.variants.items():
        lossless = variant.content_type == "image/png"
        found.append(
            Source(
                variant.key,
                variant.width,
                variant.height,
                variant.content_type,
                quality=None if lossless else quality.get(name, 0),
            )
        )
    return found
