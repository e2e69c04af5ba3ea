"""How the pipeline works, where the corpus alone would not show it: reduced JPEG
decoding, sizes from the original, output formats, limits, and what is never run."""
from __future__ import annotations

import pytest
from PIL import Image, features

from chalicelib import imaging
from chalicelib.config import Preset
from chalicelib.domain import formats
from chalicelib.imaging import decoding, metadata

from . import corpus
from .conftest import close, opened, settings_with


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_no_smaller_than_the_largest_variant(settings):
    data = corpus.save(corpus.quarters((2000, 1500)), "JPEG")
    decoded = decoding.decode(data, formats.JPEG, settings, largest_box=240)
    assert (decoded.width, decoded.height) == (2000, 1500)  # what the record says
    assert decoded.image.size == (250, 188)  # libjpeg's 1/8 scale: the smallest >= 240x180


def test_every_size_is_computed_from_the_original_so_the_cascade_does_not_drift(settings):
    # 200x101 -> 120x61 -> 64x33 when cascaded naively; from the original it is 64x32.
    result = imaging.process(corpus.save(corpus.quarters((200, 101)), "PNG"), settings)
    assert [(v.width, v.height) for v in result.variants] == [(120, 61), (64, 32), (24, 12)]


@pytest.mark.parametrize("kind, content_type", [
    ("webp", "image/webp"), ("png", "image/png"), ("jpeg", "image/jpeg"),
    pytest.param("avif", "image/avif", marks=pytest.mark.skipif(not features.check("avif"), reason="no AVIF")),
])
def test_a_preset_can_ask_for_one_format_for_every_image(kind, content_type):
    settings = settings_with(presets=(Preset("thumb", 64, kind, 80),))
    for data in (corpus.camera_jpeg(), corpus.rgba_png()):
        variant = imaging.process(data, settings).variants[0]
        assert variant.content_type == content_type and variant.ext in ("webp", "png", "jpg", "avif")
        assert opened(variant.data).format == kind.upper()


def test_alpha_is_flattened_onto_white_only_when_the_output_is_jpeg():
    as_jpeg = imaging.process(corpus.rgba_png(), settings_with(presets=(Preset("t", 100, "jpeg"),)))
    image = opened(as_jpeg.variants[0].data)
    assert image.mode == "RGB" and close(image.getpixel((3, 3)), (255, 255, 255), tolerance=5)
    as_webp = imaging.process(corpus.rgba_png(), settings_with(presets=(Preset("t", 100, "webp"),)))
    assert opened(as_webp.variants[0].data).getpixel((3, 3))[3] == 0


def test_limits_come_from_the_settings():
    photo = corpus.save(corpus.quarters((200, 100)), "PNG")
    with pytest.raises(imaging.Rejected, match=r"^image is 20000 pixels; the limit is 10000 pixels$"):
        imaging.process(photo, settings_with(max_pixels=10_000))
    with pytest.raises(imaging.Rejected, match="3 frames; the limit is 2"):
        imaging.process(corpus.animated_gif(3), settings_with(max_frames=2))
    with pytest.raises(imaging.Rejected, match=r"file is \d[\d,]* bytes; the limit is 10 bytes"):
        imaging.process(photo, settings_with(max_upload_bytes=10))
    assert imaging.process(corpus.animated_gif(3), settings_with(max_frames=3)).details["frames"] == 3


def test_a_bomb_is_refused_from_its_header_without_decoding(settings, monkeypatch):
    def no_decoding(self, *args, **kwargs):
        raise AssertionError("a bomb's pixels were decoded")

    monkeypatch.setattr(Image.core, "zip_decoder", no_decoding)  # PNG's pixel decoder
    for size, claimed in (((100_000, 100_000), "10000000000 pixels \\(10000"), ((20_000, 20_000), "400000000 pixels \\(400")):
        limit = r"50000000 pixels \(50 megapixels\)"
        with pytest.raises(imaging.Rejected, match=f"image is {claimed} megapixels\\); the limit is {limit}"):
            imaging.process(corpus.png_bomb(*size), settings)


def test_postscript_never_reaches_ghostscript(settings, monkeypatch):
    from PIL import EpsImagePlugin

    def forbidden(*args, **kwargs):
        raise AssertionError("Ghostscript was run")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", forbidden)
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", forbidden)
    dos_eps = b"\xc5\xd0\xd3\xc6" + b"\x00" * 28 + corpus.EPS
    for data in (corpus.EPS, dos_eps):
        with pytest.raises(imaging.Rejected, match="PostScript"):
            imaging.process(data, settings)


def test_a_png_zip_polyglot_is_refused_too(settings):
    with pytest.raises(imaging.Rejected, match="ZIP"):
        imaging.process(corpus.save(corpus.quarters(), "PNG") + corpus.zipfile_bytes(), settings)


@pytest.mark.parametrize("tags, taken_at", [
    ({"DateTimeOriginal": "2021:12:31 23:59:58"}, "2021-12-31T23:59:58"),
    ({"DateTimeOriginal": "2021:12:31 23:59:58", "OffsetTimeOriginal": "-05:30"}, "2021-12-31T23:59:58-05:30"),
    ({"DateTimeOriginal": "0000:00:00 00:00:00", "DateTimeDigitized": "2020:01:02 03:04:05"}, "2020-01-02T03:04:05"),
    ({"DateTimeOriginal": "yesterday"}, None),
    ({}, None),
])
def test_taken_at_reads_the_capture_time(tags, taken_at):
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({Image.ExifTags.Base[k]: v for k, v in tags.items()})
    exif = opened(corpus.save(corpus.quarters(), "JPEG", exif=exif.tobytes())).getexif()
    assert metadata.camera_facts(exif)["taken_at"] == taken_at
