"""The choices made for speed keep their promises (issue 12): the format `auto` picks for
transparent images, exact sizes after a reduced-scale JPEG decode, and the quality bar:
PSNR of at least 38 dB against the straightforward pipeline (full decode, LANCZOS from the
full image for every variant, the same format and quality) at every variant size, on
photo-like content."""

from __future__ import annotations

import io
import math
import random

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from chalicelib import imaging
from chalicelib.config import Preset
from chalicelib.domain import formats
from chalicelib.imaging import decoding, shrink_on_load, sizing

from . import corpus
from .conftest import opened, settings_with

# Boxes a quarter of the defaults (2048, 1024, 256), so a 1000x750 photo plays a 4000x3000 one.
PRESETS = (Preset("large", 512), Preset("medium", 256), Preset("thumb", 64))
QUALITY_FLOOR_DB = 38.0


def photo(size: tuple[int, int], seed: int = 1, alpha: bool = False) -> Image.Image:
    """Gradients, soft shapes and sensor-like grain: compresses and resamples like a photo.
    The grain comes from Python's seeded random, so the picture is the same in every run."""
    rng = random.Random(seed)
    w, h = size
    sky = Image.linear_gradient("L").resize(size)
    sun = Image.radial_gradient("L").resize(size)
    image = Image.merge("RGB", (sun, sky.transpose(Image.Transpose.ROTATE_90).resize(size), sky))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randrange(w // 40, w // 6)
        fill = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        else:
            draw.polygon([(x + rng.randrange(-r, r), y + rng.randrange(-r, r)) for _ in range(5)], fill=fill)
    image = image.filter(ImageFilter.GaussianBlur(1.5))
    image = Image.blend(image, Image.frombytes("RGB", size, rng.randbytes(w * h * 3)), 0.08)
    if alpha:
        mask = Image.radial_gradient("L").resize(size).point(lambda v: 255 if v < 150 else max(0, 400 - 2 * v))
        image.putalpha(mask)
    return image


def on_white(data: bytes) -> Image.Image:
    image = opened(data).convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", image.size, (255, 255, 255, 255)), image).convert("RGB")


def psnr(a: bytes, b: bytes) -> float:
    x, y = on_white(a), on_white(b)
    assert x.size == y.size
    mse = sum(ImageStat.Stat(ImageChops.difference(x, y)).sum2) / (3 * x.width * x.height)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def straightforward(data: bytes, variant: imaging.RenderedVariant) -> bytes:
    """What most code does for this variant: the full image, LANCZOS, the same format and quality."""
    full = opened(data)
    small = full.resize((variant.width, variant.height), Image.Resampling.LANCZOS)
    fmt = opened(variant.data).format
    return corpus.save(small, fmt, quality=85)


def test_a_phone_photo_is_decoded_at_half_scale_and_enlarged_to_exact_sizes():
    # 1000x750 in a 512 box is 4000x3000 in the 2048 box: half scale is 500x375, 2.4% short.
    data = corpus.save(photo((1000, 750)), "JPEG", quality=92)
    decoded = decoding.decode(data, formats.JPEG, settings_with(), largest_box=512)
    assert decoded.image.size == (500, 375)
    result = imaging.process(data, settings_with(presets=PRESETS))
    assert [(v.width, v.height) for v in result.variants] == [(512, 384), (256, 192), (64, 48)]
    assert [opened(v.data).size for v in result.variants] == [(512, 384), (256, 192), (64, 48)]
    assert (result.width, result.height) == (1000, 750)


def test_a_reduced_scale_more_than_a_tenth_short_of_the_variant_is_not_used():
    # 900 px at half scale is 450: 512 / 450 = 1.14, more enlargement than sizing allows.
    data = corpus.save(photo((900, 675)), "JPEG", quality=92)
    assert sizing.decode_request(900, 675, 512) == (466, 350)
    assert decoding.decode(data, formats.JPEG, settings_with(), largest_box=512).image.size == (900, 675)
    # Within the allowance, the smallest scale that is at most 10% short is taken: 1/4 of 2000 is 500.
    data = corpus.save(photo((2000, 1500)), "JPEG", quality=92)
    assert decoding.decode(data, formats.JPEG, settings_with(), largest_box=512).image.size == (500, 375)


@pytest.mark.parametrize(
    "name, data",
    [
        ("JPEG decoded at half scale, enlarged 2.4%", lambda: corpus.save(photo((1000, 750)), "JPEG", quality=92)),
        ("JPEG decoded at half scale, shrunk 1.46x", lambda: corpus.save(photo((1500, 1000), 2), "JPEG", quality=92)),
        ("JPEG decoded at full scale", lambda: corpus.save(photo((900, 675), 3), "JPEG", quality=92)),
        ("opaque PNG, 2.9x", lambda: corpus.save(photo((1500, 1000), 4), "PNG")),
        ("WebP", lambda: corpus.save(photo((960, 540), 5), "WEBP", quality=90)),
        ("transparent PNG to WebP", lambda: corpus.save(photo((1000, 750), 6, alpha=True), "PNG")),
    ],
)
def test_every_variant_stays_within_the_quality_bar_of_the_straightforward_pipeline(name, data):
    data = data()
    result = imaging.process(data, settings_with(presets=PRESETS))
    for variant in result.variants:
        db = psnr(straightforward(data, variant), variant.data)
        assert db >= QUALITY_FLOOR_DB, f"{name}, {variant.name}: {db:.1f} dB"


def test_a_transparent_photo_becomes_lossy_webp_with_alpha_far_smaller_than_png():
    source = photo((1000, 750), 6, alpha=True)
    result = imaging.process(corpus.save(source, "PNG"), settings_with(presets=PRESETS))
    assert result.details["has_alpha"] is True
    for variant in result.variants:
        assert (variant.content_type, variant.ext) == ("image/webp", "webp")
        assert variant.data[12:16] == b"VP8X" and b"ALPH" in variant.data and b"VP8 " in variant.data  # lossy + alpha
        image = opened(variant.data)
        assert image.mode == "RGBA" and image.size == (variant.width, variant.height)
        assert image.getpixel((0, 0))[3] == 0 and image.getpixel((image.width // 2, image.height // 2))[3] == 255
        assert len(variant.data) < len(corpus.save(image, "PNG")) / 2  # `auto` made PNG before


def test_a_transparent_drawing_becomes_lossless_webp_where_that_is_smaller():
    result = imaging.process(corpus.rgba_png(), settings_with(presets=PRESETS))
    for variant in result.variants:
        assert variant.content_type == "image/webp" and b"VP8L" in variant.data[:64]  # lossless
        image = opened(variant.data)
        assert len(variant.data) < len(corpus.save(image, "WEBP", quality=85))  # smaller than the lossy one
        assert image.getpixel((image.width - 3, 3)) == (20, 120, 240, 255)  # exact colours


def test_an_opaque_image_stays_jpeg_under_auto_even_with_an_alpha_channel():
    opaque = photo((600, 400), 7).convert("RGBA")  # alpha present, every pixel opaque
    result = imaging.process(corpus.save(opaque, "PNG"), settings_with(presets=PRESETS))
    assert result.details["has_alpha"] is False
    assert [v.content_type for v in result.variants] == ["image/jpeg"] * 3


def test_a_still_webp_is_decoded_straight_at_the_largest_variants_size():
    source = photo((960, 540), 5)
    data = corpus.save(source, "WEBP", quality=90)
    decoded = decoding.decode(data, formats.WEBP, settings_with(), largest_box=512)
    assert (decoded.width, decoded.height) == (960, 540)  # what the record says
    assert decoded.image.mode == "RGB" and decoded.image.size == (512, 288)
    reference = opened(data).resize((512, 288), Image.Resampling.LANCZOS)
    assert psnr(corpus.save(reference, "PNG"), corpus.save(decoded.image, "PNG")) >= QUALITY_FLOOR_DB


def test_a_webp_keeps_its_alpha_profile_and_orientation_through_the_scaled_decode():
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgba = photo((400, 300), 8, alpha=True)
    decoded = decoding.decode(
        corpus.save(rgba, "WEBP", icc_profile=srgb), formats.WEBP, settings_with(), largest_box=200
    )
    assert decoded.image.mode == "RGBA" and decoded.image.size == (200, 150)
    assert decoded.image.getpixel((0, 0))[3] == 0 and decoded.image.getpixel((100, 75))[3] == 255
    assert decoded.icc_profile == srgb
    turned = decoding.decode(corpus.oriented(6, "WEBP"), formats.WEBP, settings_with(), largest_box=64)
    assert turned.exif.get(0x0112) == 6


def test_an_animated_webp_still_gives_its_first_frame_through_pillow():
    frames = [Image.new("RGB", (200, 100), colour) for colour in ((220, 30, 30), (30, 30, 220))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    result = imaging.process(out.getvalue(), settings_with(presets=PRESETS))
    assert result.details["animated"] is True and result.details["frames"] == 2
    assert opened(result.variants[0].data).convert("RGB").getpixel((100, 50))[0] > 200  # red: frame one


def test_a_broken_webp_is_rejected_not_retried():
    data = corpus.save(photo((640, 480), 9), "WEBP", quality=80)
    no_start_code = data[:23] + bytes(3) + data[26:]  # VP8's 9d 01 2a
    for broken in (data[: len(data) // 2], no_start_code):
        with pytest.raises(imaging.Rejected, match="WEBP"):
            imaging.process(broken, settings_with(presets=PRESETS))
    with pytest.raises(OSError, match="WebP"):  # what decoding turns into a rejection
        shrink_on_load.scaled(no_start_code, (320, 240))


def test_without_a_reachable_libwebp_pillow_decodes_the_webp_as_before(monkeypatch):
    monkeypatch.setattr(shrink_on_load, "_libwebp", lambda: None)
    data = corpus.save(photo((960, 540), 5), "WEBP", quality=90)
    assert decoding.decode(data, formats.WEBP, settings_with(), largest_box=512).image.size == (960, 540)
    result = imaging.process(data, settings_with(presets=PRESETS))
    assert [(v.width, v.height) for v in result.variants] == [(512, 288), (256, 144), (64, 36)]


def test_encoding_in_a_thread_or_in_line_makes_the_same_bytes(monkeypatch):
    from chalicelib.imaging import rendering

    data = corpus.save(photo((1000, 750), 10, alpha=True), "PNG")
    results = {}
    for cpus in (1, 2):
        monkeypatch.setattr(rendering.os, "process_cpu_count", lambda cpus=cpus: cpus)
        assert isinstance(rendering._encoder(), rendering._Inline) is (cpus == 1)
        results[cpus] = [v.data for v in imaging.process(data, settings_with(presets=PRESETS)).variants]
    assert results[1] == results[2]


def test_an_encoding_failure_in_the_thread_reaches_the_caller(monkeypatch):
    from chalicelib.imaging import rendering

    monkeypatch.setattr(rendering.os, "process_cpu_count", lambda: 2)
    monkeypatch.setattr(rendering.features, "check", lambda name: False)  # a build without AVIF
    with pytest.raises(RuntimeError, match="cannot write"):
        imaging.process(corpus.camera_jpeg(), settings_with(presets=(Preset("a", 64, "avif"),)))


def test_libwebps_verdicts_reject_and_its_failures_are_retried():
    from chalicelib.imaging.decoding import is_verdict

    with pytest.raises(OSError) as broken:
        shrink_on_load._raise(3)
    assert is_verdict(broken.value, formats.WEBP)
    for status, kind in ((1, MemoryError), (2, RuntimeError)):
        with pytest.raises(kind) as failed:
            shrink_on_load._raise(status)
        assert not is_verdict(failed.value, formats.WEBP)
