"""The golden corpus through imaging.process: each file gets the status it should, and
each accepted one variants of the right sizes, formats and orientation, with no metadata."""
from __future__ import annotations

import io
import warnings

import pytest
from PIL import Image, ImageChops, ImageFile, ImageOps, TiffImagePlugin

from chalicelib import imaging
from chalicelib.config import DEFAULT_PRESETS, Preset
from chalicelib.domain import formats
from chalicelib.imaging import colour, sizing

from . import corpus
from .conftest import SMALL_PRESETS, assert_no_metadata, assert_upright, close, opened, settings_with

CASES = corpus.cases()
ACCEPTED = [c for c in CASES if c.accepted]
REJECTED = [c for c in CASES if not c.accepted]
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "AVIF": "image/avif"}
# One lossless variant as large as any corpus picture: the decoded pixels, as the pipeline shows them.
WHOLE = settings_with(presets=(Preset("whole", 16384, "png"),))


def assert_same_pixels(got: Image.Image, expected: Image.Image, tolerance: int = 0, name: str = "") -> None:
    """Every channel of every pixel within `tolerance` (0: identical)."""
    assert got.size == expected.size, name
    diff = ImageChops.difference(got.convert(expected.mode), expected)
    extrema = diff.getextrema() if len(diff.getbands()) > 1 else [diff.getextrema()]
    worst = [high for _low, high in extrema]
    assert max(worst) <= tolerance, f"{name}: channels differ by up to {worst}"


def test_the_corpus_is_oriented_as_pillows_reference_reads_it():
    # The stored pictures undo each orientation exactly: a lossless copy of
    # each, put upright by ImageOps.exif_transpose, is the upright picture.
    for orientation in range(1, 9):
        stored = opened(corpus.oriented(orientation, "PNG"))
        assert ImageOps.exif_transpose(stored).tobytes() == corpus.quarters().tobytes(), orientation


@pytest.mark.parametrize("case", REJECTED, ids=repr)
def test_rejected_with_a_reason(case, settings):
    with pytest.raises(imaging.Rejected) as caught:
        imaging.process(case.data, settings)
    assert case.reason.lower() in str(caught.value).lower()


@pytest.mark.parametrize("case", ACCEPTED, ids=repr)
def test_accepted_with_variants_of_the_right_size_format_and_no_metadata(case, settings):
    result = imaging.process(case.data, settings)

    assert (result.width, result.height) == case.size
    assert [v.name for v in result.variants] == [p.name for p in SMALL_PRESETS]
    for preset, variant in zip(SMALL_PRESETS, result.variants):
        image = opened(variant.data)
        assert (variant.width, variant.height) == image.size == sizing.fit(*case.size, preset.box)
        assert variant.content_type == _MIME[image.format]
        assert variant.ext == {"JPEG": "jpg", "WEBP": "webp"}[image.format]
        expected = "WEBP" if result.details["has_alpha"] else "JPEG"
        assert image.format == expected
        assert_no_metadata(variant.data)
    for key, value in case.facts.items():
        assert result.details[key] == value, key
    if case.dominant:
        hex_colour = result.details["dominant_color"]
        assert close(bytes.fromhex(hex_colour[1:]), case.dominant, tolerance=8), hex_colour


@pytest.mark.parametrize("case", [c for c in ACCEPTED if c.upright], ids=repr)
def test_every_variant_comes_out_upright(case, settings):
    for variant in imaging.process(case.data, settings).variants:
        assert_upright(variant.data, variant.name)


def test_details_carry_everything_a_client_needs_and_never_gps(settings):
    details = imaging.process(corpus.camera_jpeg(), settings).details
    assert set(details) == {"has_alpha", "animated", "frames", "dominant_color", "blurhash",
                            "camera_make", "camera_model", "taken_at"}
    assert details["dominant_color"].startswith("#") and len(details["dominant_color"]) == 7
    assert len(details["blurhash"]) == 4 + 2 * 4 * 3  # header + two characters per component
    assert "gps" not in repr(details).lower() and "48" not in repr(details)


def test_transparency_is_kept_where_the_original_had_it(settings):
    large = opened(imaging.process(corpus.rgba_png(), settings).variants[0].data)
    assert large.mode == "RGBA"
    assert large.getpixel((5, 5))[3] == 0  # the transparent half
    assert large.getpixel((large.width - 5, 5)) == (20, 120, 240, 255)


def test_palette_images_are_resampled_smoothly_not_with_nearest(settings):
    # One-pixel stripes of two colours: LANCZOS blends them, NEAREST could only pick one.
    large = opened(imaging.process(corpus.palette_png(), settings).variants[0].data)
    opaque = {p[:3] for p in large.get_flattened_data() if p[3] == 255}
    assert len(opaque) > 2
    assert large.getpixel((2, 2))[3] == 0  # palette index 0 was the transparent one


def test_cmyk_colours_come_out_right(settings):
    large = opened(imaging.process(corpus.cmyk_jpeg(), settings).variants[0].data)
    assert large.mode == "RGB"
    assert close(large.getpixel((10, 10)), (255, 0, 0), tolerance=20)


def test_cmyk_goes_to_srgb_through_its_own_icc_profile(settings):
    large = opened(imaging.process(corpus.cmyk_profiled_jpeg(), settings).variants[0].data)
    assert large.mode == "RGB" and "icc_profile" not in large.info  # plain sRGB now
    assert close(large.getpixel((10, 10)), (0, 128, 0), tolerance=20)


def test_16_bit_grey_is_scaled_not_clipped(settings):
    large = opened(imaging.process(corpus.gray16_png(), settings).variants[0].data)
    assert abs(large.convert("L").getpixel((10, 10)) - 40000 / 257) <= 3


def test_1_bit_images_keep_black_and_white(settings):
    large = opened(imaging.process(corpus.bilevel_png(), settings).variants[0].data).convert("L")
    assert large.getpixel((5, 5)) > 240 and large.getpixel((large.width - 5, 5)) < 15


def test_animated_gif_variants_come_from_the_first_frame(settings):
    result = imaging.process(corpus.animated_gif(), settings)
    assert result.details["animated"] is True and result.details["frames"] == 3
    for variant in result.variants:
        image = opened(variant.data)
        assert getattr(image, "n_frames", 1) == 1
        assert close(image.convert("RGB").getpixel((image.width // 2, image.height // 2)), corpus.RED)


def test_the_strip_keeps_at_least_one_pixel_with_the_default_presets():
    result = imaging.process(corpus.strip_png(), settings_with(presets=DEFAULT_PRESETS))
    assert [(v.width, v.height) for v in result.variants] == [(256, 1), (1024, 1), (2048, 2)]


def test_an_icc_profile_that_fits_travels_with_the_variants(settings):
    source = opened(corpus.camera_jpeg())
    for variant in imaging.process(corpus.camera_jpeg(), settings).variants:
        assert opened(variant.data).info.get("icc_profile") == source.info["icc_profile"]


@pytest.mark.parametrize("case", [c for c in ACCEPTED if c.pixels is not None], ids=repr)
def test_the_variant_holds_exactly_the_picture_the_file_holds(case):
    # Built byte by byte (TIFF kinds, RLE BMPs, damaged PNGs) or lossy with a known
    # picture (AVIF with alpha): the truth is the picture, not what a decoder made of it.
    [variant] = imaging.process(case.data, WHOLE).variants
    assert_same_pixels(opened(variant.data), case.pixels, case.tolerance, case.name)


# -- The goal of issue 11 -----------------------------------------------------------------

# Pillow reads the picture, but the file is also a ZIP: refused on purpose (sniffing.py).
_REFUSED_BY_POLICY = {"polyglot.jpg": "ZIP"}


def _what_pillow_makes_of(data: bytes, settings) -> Image.Image | str:
    """Pillow (with pillow-heif, libtiff for every TIFF) alone, on the formats imgstore takes:
    the first frame fully decoded and shown upright, or why not. Truncated data is not
    fully decoded: LOAD_TRUNCATED_IMAGES stays off."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    assert not ImageFile.LOAD_TRUNCATED_IMAGES
    if len(data) > settings.max_upload_bytes:
        return "over the size limit"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[f.name for f in formats.ACCEPTED])
        # The picture, not its metadata: what follows a PNG's last row (text, EXIF) is not read.
        image.load_end = lambda: None  # type: ignore[method-assign]
        if image.width * image.height > settings.max_pixels:
            return "over the pixel limit"  # checked before any pixel is decoded
        if getattr(image, "n_frames", 1) > settings.max_frames:
            return "over the frame limit"
        image.load()
    except Exception as exc:  # noqa: BLE001 - any failure means not fully decoded
        return f"{type(exc).__name__}: {exc}"
    shown = ImageOps.exif_transpose(image)
    return colour.for_display(colour.for_resampling(shown), image.info.get("icc_profile"))[0]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_every_file_pillow_fully_decodes_within_the_limits_is_ready_with_its_pixels(case, monkeypatch):
    with monkeypatch.context() as pillow:  # only for the reference: imaging must set up Pillow itself
        pillow.setattr(TiffImagePlugin, "READ_LIBTIFF", True)
        pillow.setattr(Image, "MAX_IMAGE_PIXELS", None)  # the limits are checked by hand, before decoding
        reference = _what_pillow_makes_of(case.data, WHOLE)
    if isinstance(reference, str) or case.name in _REFUSED_BY_POLICY:
        with pytest.raises(imaging.Rejected) as caught:
            imaging.process(case.data, WHOLE)
        assert not case.accepted, f"{case.name} is in the corpus as accepted, but Pillow says: {reference}"
        assert _REFUSED_BY_POLICY.get(case.name, case.reason).lower() in str(caught.value).lower()
        return
    assert case.accepted, f"Pillow fully decodes {case.name}, which the corpus expects rejected"
    [variant] = imaging.process(case.data, WHOLE).variants
    assert_same_pixels(opened(variant.data), reference.convert("RGBA"), name=case.name)
