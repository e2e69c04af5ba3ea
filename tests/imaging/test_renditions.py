"""Renditions through imaging.renditions.render: exact sizes for each fit, focus,
orientation, no metadata, animation, every source format to every encoding, limits
checked on the headers, and AVIF's time budget."""

from __future__ import annotations

import io
import logging
import time

import pytest
from PIL import Image, features

from chalicelib.delivery import geometry
from chalicelib.delivery.options import Options
from chalicelib.imaging import Rejected, renditions

from . import corpus
from .conftest import assert_no_metadata, assert_upright, close, opened, settings_with

_BY_NAME = {c.name: c for c in corpus.cases()}
_MAGIC = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "gif": "GIF"}
ENCODINGS = ["jpeg", "png", "webp"] + (["avif"] if features.check("avif") else [])


def render(data: bytes, opts: Options, client: str = "basic", **kwargs) -> renditions.Rendition:
    return renditions.render(data, opts, settings_with(**kwargs.pop("settings", {})), client=client, **kwargs)


def test_each_fit_gives_its_exact_size_in_pixels():
    photo = corpus.save(corpus.quarters((400, 300)), "PNG")
    for opts, size in [
        (Options(100), (100, 75)),
        (Options(None, 60), (80, 60)),
        (Options(100, 100), (100, 75)),
        (Options(100, 100, "cover"), (100, 100)),
        (Options(100, 30, "cover"), (100, 30)),
        (Options(100, 100, "contain"), (100, 100)),
        (Options(1000), (400, 300)),
        (Options(1000, 1000, "cover"), (300, 300)),
        (Options(1000, 1000, "contain"), (400, 400)),
    ]:
        made = render(photo, opts)
        assert (made.width, made.height) == opened(made.data).size == size, opts


def test_contain_pads_around_the_image():
    made = opened(render(corpus.save(corpus.quarters((400, 200)), "PNG"), Options(100, 100, "contain", "png")).data)
    assert made.size == (100, 100)
    assert made.convert("RGB").getpixel((50, 5)) == (255, 255, 255)  # padding above
    assert close(made.convert("RGB").getpixel((10, 40)), corpus.RED)
    transparent = opened(render(corpus.rgba_png(), Options(100, 100, "contain", "png")).data)
    assert transparent.mode == "RGBA" and transparent.getpixel((50, 2))[3] == 0


def _columns() -> bytes:
    """Five vertical stripes, 100 px each: red, green, blue, yellow, white."""
    image = Image.new("RGB", (500, 100))
    for i, colour in enumerate([corpus.RED, corpus.GREEN, corpus.BLUE, corpus.YELLOW, (255, 255, 255)]):
        image.paste(colour, (i * 100, 0, (i + 1) * 100, 100))
    return corpus.save(image, "PNG")


@pytest.mark.parametrize(
    ("focus", "left", "right"),
    [
        (None, corpus.GREEN, corpus.YELLOW),  # the centre: 100-400
        ((0.0, 0.5), corpus.RED, corpus.BLUE),  # pushed to the left edge: 0-300
        ((0.9, 0.5), corpus.BLUE, (255, 255, 255)),  # to the right edge: 200-500
        ((0.4, 0.5), corpus.RED, corpus.YELLOW),  # 200 +- 150: 50-350, the point at the centre
    ],
)
def test_cover_crops_around_the_focal_point(focus, left, right):
    made = opened(render(_columns(), Options(30, 10, "cover", "png"), focus=focus).data).convert("RGB")
    assert made.size == (30, 10)
    assert close(made.getpixel((1, 5)), left, 10) and close(made.getpixel((28, 5)), right, 10), focus


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("opts", [Options(80), Options(60, 60, "cover"), Options(90, 40, "contain")], ids=repr)
def test_every_orientation_comes_out_upright(orientation, opts):
    made = render(corpus.oriented(orientation), opts)
    assert made.width == opts.width
    if opts.fit == "inside":
        assert made.height == 50  # 160x100 upright
    assert_upright(made.data if opts.fit != "contain" else _unpadded(made.data), f"orientation {orientation}")


def _unpadded(data: bytes) -> bytes:
    image = opened(data).convert("RGB")
    return corpus.save(image.crop((13, 0, 77, 40)), "PNG")  # 64x40 of a 160x100 picture, centred


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_no_metadata_survives_into_any_encoding(encoding):
    made = render(corpus.camera_jpeg(), Options(120, format=encoding))
    assert opened(made.data).format == _MAGIC[encoding]
    assert_no_metadata(made.data)


@pytest.mark.parametrize(
    "name", ["photo.heic", "photo.png", "photo.webp", "animated.gif", "photo.tiff", "photo.bmp", "alpha.avif",
             "orientation-6.heic", "cmyk.jpg", "gray16.png", "palette-transparent.png"]
)
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_original_format_renders_to_every_web_format(name, encoding):
    if name not in _BY_NAME:
        pytest.skip(f"{name} needs AVIF in this Pillow build")
    case = _BY_NAME[name]
    made = render(case.data, Options(50, format=encoding))
    image = opened(made.data)
    assert image.format == _MAGIC[made.encoding] and made.encoding == encoding
    assert made.content_type == Image.MIME[image.format]
    assert image.size == (made.width, made.height) == geometry.plan(Options(50), case.size, 4096).size


def test_an_animation_stays_animated():
    gif = corpus.animated_gif()
    for client, encoding in [("avif", "webp"), ("webp", "webp"), ("basic", "gif")]:
        made = render(gif, Options(30), client)
        image = opened(made.data)
        assert made.encoding == encoding and image.format == _MAGIC[encoding]
        assert image.n_frames == made.frames == 3
        assert image.size == (30, 20)
        assert image.info.get("duration") == 100  # the frames keep their timing
    still = opened(render(gif, Options(30, format="jpeg")).data)
    assert still.format == "JPEG" and close(still.getpixel((15, 10)), corpus.RED)


def test_auto_picks_by_the_client_and_the_transparency():
    photo, cutout = corpus.save(corpus.quarters(), "PNG"), corpus.rgba_png()
    assert render(photo, Options(40), "basic").encoding == "jpeg"
    assert render(cutout, Options(40), "basic").encoding == "png"
    assert render(photo, Options(40), "webp").encoding == "webp"
    if features.check("avif"):
        assert render(cutout, Options(40), "avif").encoding == "avif"
    # the record's word on transparency wins over what a (flattened) source shows
    assert render(photo, Options(40), "basic", has_alpha=True).encoding == "png"


@pytest.mark.skipif(not features.check("avif"), reason="no AVIF encoder in this Pillow build")
def test_avif_over_its_time_budget_is_webp_and_says_so(caplog):
    photo = corpus.save(corpus.quarters((400, 200)), "PNG")
    with caplog.at_level(logging.WARNING, logger=renditions.__name__):
        within = render(photo, Options(200, format="avif"))  # 200x100: 3 ms predicted
        over = render(photo, Options(200, format="avif"), settings={"avif_budget_ms": 2})
    assert within.encoding == "avif" and not within.avif_over_budget and opened(within.data).format == "AVIF"
    assert over.encoding == "webp" and over.avif_over_budget and opened(over.data).format == "WEBP"
    assert [r.getMessage() for r in caplog.records] == [
        "AVIF over its time budget: 200x100, 1 frame(s), predicted 3 ms > AVIF_BUDGET_MS 2; serving WebP"
    ]


def test_a_source_over_the_pixel_limit_is_rejected_from_its_header_alone():
    bomb = corpus.png_bomb(100_000, 100_000)
    started = time.perf_counter()
    with pytest.raises(Rejected, match="10000 megapixels"):
        render(bomb, Options(100))
    assert time.perf_counter() - started < 1  # a guard against decoding 10 GP, not a speed claim


def test_an_animation_over_the_frame_or_pixel_limits_is_rejected():
    with pytest.raises(Rejected, match="101 frames"):
        render(corpus.animated_gif(101, (4, 4)), Options(10))
    with pytest.raises(Rejected, match="3 frames of 60x40"):
        render(corpus.animated_gif(), Options(10), settings={"max_pixels": 5000})


def test_from_a_variant_the_rendition_has_the_size_it_has_from_the_original():
    original = corpus.save(corpus.quarters((4003, 3001)), "JPEG", quality=90)
    variant = corpus.save(corpus.quarters((1024, 768)), "JPEG", quality=85)
    for opts in (Options(333), Options(300, 200, "cover"), Options(500, 500, "contain")):
        a = render(original, opts)
        b = render(variant, opts, shown=(4003, 3001))
        assert (a.width, a.height) == (b.width, b.height), opts


def test_a_jpeg_is_decoded_at_a_reduced_scale_for_a_small_rendition(monkeypatch):
    seen = []
    real = Image.Image.resize

    def resize(self, size, *args, **kwargs):
        seen.append(self.size)
        return real(self, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", resize)
    made = render(corpus.save(corpus.quarters((4000, 3000)), "JPEG"), Options(320))
    assert (made.width, made.height) == (320, 240)
    assert seen and max(seen)[0] == 500  # 1/8 scale, not 4000 px
