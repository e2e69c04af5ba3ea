"""Rendition options, their canonical spelling, Accept negotiation, sizes and source choice
(chalicelib/delivery: Pillow-free, so these need no image)."""

from __future__ import annotations

import pytest

from chalicelib.delivery import geometry, options
from chalicelib.delivery.options import Options
from chalicelib.domain.errors import Invalid

CHROMIUM = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI = (
    "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
    "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
)
SAFARI_15 = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
PLAIN = "image/png,image/*;q=0.8,*/*;q=0.5"


@pytest.mark.parametrize(
    ("accept", "outcome"),
    [
        (CHROMIUM, "avif"),
        (SAFARI, "avif"),
        (SAFARI_15, "webp"),
        ("image/avif,image/webp,*/*", "avif"),  # Firefox
        (PLAIN, "basic"),
        ("*/*", "basic"),
        ("image/*", "basic"),
        ("", "basic"),
        (None, "basic"),
        ("image/avif;q=0, image/webp", "webp"),  # refused by q=0
        ("IMAGE/WEBP ; q=0.5", "webp"),
        ("image/avif;q=oops", "basic"),
    ],
)
def test_accept_comes_down_to_three_outcomes(accept, outcome):
    assert options.accepts(accept) == outcome


@pytest.mark.parametrize(
    ("fmt", "client", "alpha", "animated", "encoding"),
    [
        ("auto", "avif", False, False, "avif"),
        ("auto", "webp", False, False, "webp"),
        ("auto", "basic", False, False, "jpeg"),
        ("auto", "basic", True, False, "png"),
        ("auto", "avif", True, False, "avif"),
        ("auto", "avif", False, True, "webp"),  # animations prefer WebP
        ("auto", "webp", False, True, "webp"),
        ("auto", "basic", False, True, "gif"),
        ("jpeg", "avif", True, False, "jpeg"),
        ("png", "basic", False, True, "png"),
    ],
)
def test_output_format(fmt, client, alpha, animated, encoding):
    chosen = options.output_format(Options(format=fmt), client, has_alpha=alpha, animated=animated)
    assert chosen == encoding


def test_parse_and_canonical_spelling_round_trip():
    parsed = options.parse({"width": "640", "height": "480", "fit": "cover", "quality": "70"}, 4096)
    assert parsed == Options(640, 480, "cover", "auto", 70)
    assert parsed.canonical() == "w640-h480-cover-auto-q70"
    assert options.from_canonical("w640-h480-cover-auto-q70", 4096) == parsed
    assert options.parse({}, 4096).canonical() == "inside-auto"
    assert options.parse({"format": "webp", "height": "10"}, 4096).canonical() == "h10-inside-webp"
    assert Options(640, None, "inside", "avif", None).query() == {"width": "640", "format": "avif"}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"width": "0"}, "width"),
        ({"width": "4097"}, "width"),
        ({"width": "64.0"}, "width"),
        ({"width": "+64"}, "width"),
        ({"width": "064"}, "width"),
        ({"height": "abc"}, "height"),
        ({"fit": "fill"}, "fit"),
        ({"format": "gif"}, "format"),
        ({"quality": "101"}, "quality"),
        ({"quality": "0"}, "quality"),
        ({"size": "9"}, "unknown option 'size'"),
    ],
)
def test_a_bad_option_is_invalid_and_named(params, named):
    with pytest.raises(Invalid) as caught:
        options.parse(params, 4096)
    assert str(caught.value).startswith(named)


@pytest.mark.parametrize(
    "text", ["inside-auto-q080", "h10-w20-inside-auto", "w0-inside-auto", "w20-auto", "w5000-inside-auto", "w20-inside-auto-"]
)
def test_only_the_canonical_spelling_names_a_rendition(text):
    with pytest.raises(Invalid):
        options.from_canonical(text, 4096)


# -- sizes: the exact rendition size for each fit ------------------------------------

SHOWN = (4000, 3000)


@pytest.mark.parametrize(
    ("opts", "size"),
    [
        (Options(640), (640, 480)),
        (Options(None, 480), (640, 480)),
        (Options(640, 640), (640, 480)),  # inside the box
        (Options(640, 640, "cover"), (640, 640)),
        (Options(640, 200, "cover"), (640, 200)),
        (Options(640, 640, "contain"), (640, 640)),
        (Options(640, None, "cover"), (640, 480)),  # one side: as inside
        (Options(8000), (4000, 3000)),  # never enlarged
        (Options(8000, 8000, "cover"), (3000, 3000)),  # the box shrinks to what the image fills
        (Options(8000, 4000, "cover"), (4000, 2000)),
        (Options(8000, 8000, "contain"), (4000, 4000)),  # the image at its own size, padded
        (Options(), (4000, 3000)),
    ],
)
def test_the_exact_size_for_each_fit(opts, size):
    assert geometry.plan(opts, SHOWN, 4096).size == size


def test_with_no_size_a_huge_image_fits_the_largest_dimension():
    assert geometry.plan(Options(), (9000, 3000), 4096).size == (4096, 1365)


def test_contain_centres_the_image_in_its_box():
    planned = geometry.plan(Options(640, 640, "contain"), SHOWN, 4096)
    assert planned.placed == (0, 80, 640, 560)


@pytest.mark.parametrize(
    ("focus", "crop"),
    [
        (None, (500.0, 0.0, 3500.0, 3000.0)),  # the centre
        ((0.5, 0.5), (500.0, 0.0, 3500.0, 3000.0)),
        ((0.0, 0.5), (0.0, 0.0, 3000.0, 3000.0)),  # as close to the centre as the crop allows
        ((0.2, 0.9), (0.0, 0.0, 3000.0, 3000.0)),
        ((0.6, 0.0), (900.0, 0.0, 3900.0, 3000.0)),  # the point itself at the centre
        ((1.0, 1.0), (1000.0, 0.0, 4000.0, 3000.0)),
    ],
)
def test_cover_keeps_the_focal_point_in_view_as_close_to_the_centre_as_it_can(focus, crop):
    planned = geometry.plan(Options(300, 300, "cover"), SHOWN, 4096, focus)
    assert planned.size == (300, 300)
    assert planned.crop == pytest.approx(crop)
    if focus:
        left, top, right, bottom = planned.crop
        assert left <= focus[0] * SHOWN[0] <= right and top <= focus[1] * SHOWN[1] <= bottom


def _sources():
    return [
        geometry.Source("o", 4000, 3000, "image/jpeg", original=True),
        geometry.Source("thumb", 256, 192, "image/jpeg", quality=85),
        geometry.Source("medium", 1024, 768, "image/jpeg", quality=85),
        geometry.Source("large", 2048, 1536, "image/jpeg", quality=85),
    ]


@pytest.mark.parametrize(
    ("opts", "key"),
    [
        (Options(200), "thumb"),
        (Options(256), "thumb"),
        (Options(320), "medium"),
        (Options(1024), "medium"),
        (Options(1080), "large"),
        (Options(1920), "large"),
        (Options(2560), "o"),
        (Options(640, 640, "cover"), "medium"),  # the crop needs the image at 853 px wide
        (Options(1080, 1080, "cover"), "large"),  # 1440
        (Options(1600, 1600, "cover"), "o"),  # 2133
    ],
)
def test_the_smallest_stored_picture_that_is_large_enough(opts, key):
    planned = geometry.plan(opts, SHOWN, 4096)
    chosen = geometry.choose_source(_sources(), planned.scaled, quality=80, lossless=False, has_alpha=False,
                                    animated=False)
    assert chosen.key == key


def test_the_original_where_quality_needs_it():
    needed = geometry.plan(Options(320), SHOWN, 4096).scaled
    choose = geometry.choose_source
    assert choose(_sources(), needed, quality=95, lossless=False, has_alpha=False, animated=False).key == "o"
    assert choose(_sources(), needed, quality=80, lossless=True, has_alpha=False, animated=False).key == "o"
    assert choose(_sources(), needed, quality=80, lossless=False, has_alpha=False, animated=True).key == "o"
    # JPEG variants of a transparent image lost its alpha
    assert choose(_sources(), needed, quality=80, lossless=False, has_alpha=True, animated=False).key == "o"
