"""What a client paints before any variant loads: a dominant colour and a BlurHash.

Both come from the smallest variant (already upright and small) shrunk
further, so together they cost a few milliseconds.
"""

from __future__ import annotations

import blurhash
from PIL import Image

from . import colour, sizing

_COLOUR_SAMPLE = 64
_BLURHASH_SAMPLE = 16  # plenty for 4x3 components; the encoder is pure Python


def dominant_color(image: Image.Image) -> str | None:
    """The most common colour among the visible pixels, as #rrggbb; None if all are transparent."""
    sample = image.convert("RGBA").resize(sizing.fit(*image.size, _COLOUR_SAMPLE), Image.Resampling.BOX)
    quantized = sample.quantize(colors=8, method=Image.Quantize.FASTOCTREE)
    palette = quantized.getpalette("RGBA") or []
    for _count, index in sorted(quantized.getcolors() or [], reverse=True):
        red, green, blue, alpha = palette[index * 4 : index * 4 + 4]  # type: ignore[operator]  # index: int
        if alpha >= 128:
            return f"#{red:02x}{green:02x}{blue:02x}"
    return None


def blurhash_of(image: Image.Image) -> str:
    """A BlurHash with four components along the long side and three across (on white)."""
    width, height = sizing.fit(*image.size, _BLURHASH_SAMPLE)
    sample = colour.without_alpha(image).convert("RGB").resize((width, height), Image.Resampling.BOX)
    pixels = sample.get_flattened_data()
    rows = [pixels[y * width : (y + 1) * width] for y in range(height)]
    across, down = (4, 3) if width > height else (3, 4) if height > width else (4, 4)
    return blurhash.encode(rows, components_x=across, components_y=down)
