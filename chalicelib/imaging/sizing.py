"""Variant sizes: fit inside a square box, never upscale, always from the ORIGINAL size.

Computing each target from the original (not from the previous, already
rounded variant) keeps a cascade from drifting: 683 must not become 682.
"""

from __future__ import annotations


def fit(width: int, height: int, box: int) -> tuple[int, int]:
    """The size of a `width`x`height` image shrunk to fit a `box` square (at least 1x1)."""
    if max(width, height) <= box:
        return width, height
    scale = box / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))
