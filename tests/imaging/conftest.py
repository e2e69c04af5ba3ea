"""Fixtures for the imaging tests: settings with small presets, and variant inspection."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib.config import Preset, Settings

# Smaller than the corpus pictures, so every variant is really resized.
SMALL_PRESETS = (Preset("large", 120), Preset("medium", 64), Preset("thumb", 24))


def settings_with(**changes) -> Settings:
    return Settings(bucket="b", table="t", signing_secret="s", **{"presets": SMALL_PRESETS, **changes})


@pytest.fixture
def settings() -> Settings:
    return settings_with()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close(actual, expected, tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


def assert_no_metadata(data: bytes) -> None:
    """No EXIF, XMP, comment or GPS anywhere in a variant's bytes."""
    image = opened(data)
    assert not image.getexif(), f"EXIF in a {image.format} variant"
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment"):
        assert key not in image.info, f"{key} in a {image.format} variant"
    for marker in (b"Exif\x00\x00", b"<x:xmpmeta", b"GPS", b"<script"):
        assert marker not in data, f"{marker!r} in a {image.format} variant"


def assert_upright(data: bytes, name: str = "") -> None:
    """The variant shows the corpus's four quarters the right way up."""
    from . import corpus

    image = opened(data).convert("RGB")
    w, h = image.size
    spots = {"top-left": (w // 4, h // 4), "top-right": (3 * w // 4, h // 4),
             "bottom-left": (w // 4, 3 * h // 4), "bottom-right": (3 * w // 4, 3 * h // 4)}
    for quarter, colour in corpus.QUARTERS.items():
        seen = image.getpixel(spots[quarter])
        assert close(seen, colour), f"{name} {quarter}: {seen}, expected {colour}"
