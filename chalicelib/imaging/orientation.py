"""EXIF orientation (1-8): which way up the camera meant the picture.

Applied to the first, already small variant, never to the full image
(rotating a 24 MP image costs ~84 ms, a 2048 px variant a few). ImageOps'
exif_transpose reads the tag from the image it is given, and the resized
image no longer carries it for every format (TIFF keeps it in its own tags),
so the tag is read once from the source and applied here with the same table.
"""

from __future__ import annotations

from PIL import ExifTags, Image

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def read(exif: Image.Exif) -> int:
    """The orientation tag, or 1 (as stored) when it is missing or nonsense."""
    value = exif.get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and value in range(1, 9) else 1


def quarter_turned(orientation: int) -> bool:
    return orientation in (5, 6, 7, 8)


def displayed_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    return (height, width) if quarter_turned(orientation) else (width, height)


def upright(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image
