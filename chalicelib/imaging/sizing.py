"""Variant sizes: fit inside a square box, never upscale, always from the ORIGINAL size.

Computing each target from the original (not from the previous, already
rounded variant) keeps a cascade from drifting: 683 must not become 682.
"""

from __future__ import annotations

import math

# How far a JPEG's reduced-scale decode may fall short of the largest variant,
# to be enlarged the rest of the way. A 12 MP phone photo (4000 or 4032 px) at
# half scale is 2000 px: a 2.4% enlargement to 2048 costs a few milliseconds,
# where the full-scale decode and the 2x resize cost 100 ms more. Measured on
# photo-like content (bench/imaging.py) against a full-scale LANCZOS resize,
# both encoded at q85: 40.5 dB at 1.024x, 40.2 dB at 1.067x, 39.6 dB at 1.14x.
MAX_ENLARGEMENT = 1.1


def fit(width: int, height: int, box: int) -> tuple[int, int]:
    """The size of a `width`x`height` image shrunk to fit a `box` square (at least 1x1)."""
    if max(width, height) <= box:
        return width, height
    scale = box / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def decode_request(width: int, height: int, box: int) -> tuple[int, int]:
    """The smallest size a reduced-scale decode may have, for a variant fitting `box`: the
    variant's size, less up to MAX_ENLARGEMENT."""
    target = fit(width, height, box)
    return tuple(max(1, math.ceil(side / MAX_ENLARGEMENT)) for side in target)  # type: ignore[return-value]
