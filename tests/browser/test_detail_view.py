"""Issue 19's detail view over the real local stack: the rendition that fits the screen
(srcset and sizes from `delivery`), the variants and renditions listed, copy and embed
with a builder that previews what its URL serves, and the focal point set by clicking
(or by the keyboard) with its cover crops previewed."""

from __future__ import annotations

import io
import math
import re
from html.parser import HTMLParser

import pytest
import requests
from PIL import Image

from tests.browser.conftest import MARKS, _page, picture, ready_pictures
from tests.browser.test_accessibility import violations
from tests.browser.test_shown_truthfully import DETAIL_LOADED, upload

pytestmark = MARKS

CHROMIUM_IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def candidates(page, srcset: str) -> dict[str, int]:
    """srcset's absolute URLs -> their width descriptors."""
    pairs = (c.split() for c in srcset.split(", "))
    return {page.evaluate("u => new URL(u, location.href).href", url): int(w[:-1]) for url, w in pairs}


def version_of(record) -> int:
    """The record's version, as its rendition URLs name it: /r/{id}/{version}/..."""
    return int(record["delivery"]["src"].split("/r/")[1].split("/")[1])


def open_detail(page, web_api, owner: str, filename: str, data: bytes, **params):
    """Upload `data`, sign in, open its detail once the picture has loaded: (record, dialog)."""
    image_id = upload(web_api, owner, filename, data, **params)
    record = web_api.wait_for([image_id])[image_id]
    page.open()
    page.sign_in(owner)
    page.tile(image_id).get_by_role("button").click()
    page.wait_for_function(DETAIL_LOADED)
    return record, page.get_by_role("dialog")


@pytest.fixture
def phone3x(browser, stack):
    yield from _page(
        browser,
        stack.app_url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )


@pytest.fixture
def clipboard_page(browser, stack):
    yield from _page(browser, stack.app_url, permissions=["clipboard-read", "clipboard-write"])


def test_the_detail_shows_a_srcset_candidate_not_the_large_variant(page, web_api, owner):
    record, dialog = open_detail(page, web_api, owner, "wide.jpg", picture(5, size=(2000, 1250)))
    delivery = record["delivery"]
    img = dialog.locator("#detail-img")
    assert img.get_attribute("srcset") == delivery["srcset"] and img.get_attribute("src") == delivery["src"]
    assert (img.get_attribute("width"), img.get_attribute("height")) == ("2000", "1250")
    widths = candidates(page, delivery["srcset"])
    chosen = img.evaluate("i => i.currentSrc")
    assert chosen in widths and "/r/" in chosen
    large = web_api.record(record["image_id"])["urls"]["large"]
    assert chosen != large
    # The slot is the dialog's column at 1280 px (632 px), so at DPR 1 the 640 px rendition.
    slot = img.evaluate("i => i.getBoundingClientRect().width")
    assert 600 <= slot <= 632, slot
    assert widths[chosen] == 640
    served = requests.get(chosen, headers={"Accept": CHROMIUM_IMAGE_ACCEPT}, timeout=30)
    assert Image.open(io.BytesIO(served.content)).width == 640
    # The transparency checkerboard stays behind the picture.
    assert "conic-gradient" in img.evaluate("i => getComputedStyle(i).backgroundImage")


def test_a_phone_at_dpr_3_downloads_a_phone_sized_webp_or_avif(phone3x, web_api, owner):
    page = phone3x
    types: dict[str, str] = {}
    page.on("response", lambda r: types.update({r.url: r.headers.get("content-type", "")}) if "/r/" in r.url else None)
    record, dialog = open_detail(page, web_api, owner, "phone.jpg", picture(6, size=(2000, 1250)))
    img = dialog.locator("#detail-img")
    widths = candidates(page, record["delivery"]["srcset"])
    chosen = img.evaluate("i => i.currentSrc")
    assert chosen in widths
    slot = img.evaluate("i => i.getBoundingClientRect().width")
    # The dialog's column: 390 px less the modal dialog's margins (19 px a side) and its padding.
    assert slot == pytest.approx(page.locator(".detail-figure").bounding_box()["width"], abs=1) == 320
    need = slot * 3
    smallest_enough = min(w for w in widths.values() if w >= need)
    largest_short = max(w for w in widths.values() if w < need)
    # Chromium takes the candidate just past the need, or the one just short of it when that is nearer.
    assert largest_short <= widths[chosen] <= smallest_enough, (widths[chosen], need)
    assert widths[chosen] < 2000  # not the original's width
    assert types[chosen] in ("image/webp", "image/avif"), types[chosen]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert page.locator("#detail").evaluate("d => d.scrollWidth <= d.clientWidth")  # no sideways scroll in it
    assert violations(page) == [], "phone detail with the new panels"
    page.locator("#embed summary").click()
    page.locator("#built-state").filter(has_text="×").wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert page.locator("#detail").evaluate("d => d.scrollWidth <= d.clientWidth")
    assert violations(page) == [], "phone detail with copy and embed open"
    page.locator("#embed").scroll_into_view_if_needed()
    page.screenshot_to("phone-embed.png")


def test_the_info_lists_variants_renditions_camera_and_taken_and_downloads_the_original(page, web_api, owner):
    record, dialog = open_detail(page, web_api, owner, "info photo.jpg", with_camera(picture(8, size=(1300, 900))))
    assert (record["camera_make"], record["camera_model"]) == ("Fujifilm", "X100V")
    meta = dict(zip(dialog.locator("dt").all_inner_texts(), dialog.locator("dd").all_inner_texts(), strict=True))
    ladder = "256, 320, 384, 480, 640, 750, 828, 1080, 1200, 1300"
    assert meta["Renditions"] == f"{ladder} px wide, in the browser's best format"
    assert meta["Camera"] == "Fujifilm X100V"
    assert "2025" in meta["Taken"] and not re.search(r"\d{4}-\d\d-\d\dT", meta["Taken"])  # in words
    assert dialog.locator(f'dd time[datetime="{record["taken_at"]}"]').count() == 1
    for name, v in record["variants"].items():
        assert f"{name} {v['width']} × {v['height']}, " in meta["Sizes made"]
    link = dialog.get_by_role("link", name="Download the original")
    assert link.get_attribute("download") == "info photo.jpg"
    served = requests.get(link.get_attribute("href"), timeout=30)
    assert served.status_code == 200
    assert served.headers["Content-Disposition"] == (
        "attachment; filename=\"info photo.jpg\"; filename*=UTF-8''info%20photo.jpg"
    )
    assert served.content == with_camera(picture(8, size=(1300, 900)))


class _Img(HTMLParser):
    def handle_starttag(self, tag, attrs):
        assert tag == "img"
        self.attrs = dict(attrs)


def test_copy_url_and_copy_img_put_the_records_values_on_the_clipboard(clipboard_page, web_api, owner):
    page = clipboard_page
    title = 'Quotes "and" <tags> & more'
    record, dialog = open_detail(page, web_api, owner, "embed.jpg", picture(9, size=(900, 600)), title=title)
    dialog.get_by_text("Copy and embed").click()
    dialog.get_by_role("button", name="Copy URL").click()
    page.locator("#copy-state").filter(has_text="URL copied.").wait_for()
    whole = page.evaluate("u => new URL(u, location.href).href", record["delivery"]["src"])
    assert whole.startswith("http") and page.evaluate("() => navigator.clipboard.readText()") == whole
    dialog.get_by_role("button", name="Copy <img>").click()
    page.locator("#copy-state").filter(has_text="<img> snippet copied.").wait_for()
    text = page.evaluate("() => navigator.clipboard.readText()")
    assert "<tags>" not in text and "&lt;tags&gt;" in text and "&quot;and&quot;" in text  # escaped
    parsed = _Img()
    parsed.feed(text)
    d = record["delivery"]
    # The record's URLs, made whole for another site's page.
    assert parsed.attrs["src"] == whole
    assert candidates(page, parsed.attrs["srcset"]) == candidates(page, d["srcset"])
    assert all(c.startswith("http") for c in parsed.attrs["srcset"].split(", "))
    assert (parsed.attrs["width"], parsed.attrs["height"]) == (str(d["width"]), str(d["height"])) == ("900", "600")
    assert parsed.attrs["alt"] == record["title"] == 'Quotes "and" <tags> & more'
    assert parsed.attrs["sizes"] == "(max-width: 600px) 100vw, 50vw"

    # An edit is a new version: the snippet copied after it has that version's URLs and the new title.
    dialog.get_by_label("Title").fill("Renamed & co")
    dialog.get_by_role("button", name="Save changes").click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    edited = web_api.record(record["image_id"])
    assert version_of(edited) > version_of(record)
    fresh = page.evaluate("u => new URL(u, location.href).href", edited["delivery"]["src"])
    page.wait_for_function("s => document.querySelector('#embed-code').value.includes(s)", arg=fresh)
    dialog.get_by_role("button", name="Copy <img>").click()
    parsed = _Img()
    parsed.feed(page.evaluate("() => navigator.clipboard.readText()"))
    assert parsed.attrs["alt"] == "Renamed & co" and parsed.attrs["src"] == fresh != whole
    assert candidates(page, parsed.attrs["srcset"]) == candidates(page, edited["delivery"]["srcset"])


def test_the_builder_previews_the_rendition_its_options_ask_for(page, web_api, owner):
    record, dialog = open_detail(page, web_api, owner, "builder.jpg", picture(10, size=(1200, 800)))
    image_id = record["image_id"]
    dialog.get_by_text("Copy and embed").click()
    builder = dialog.locator("#builder")
    asked = []
    page.on("request", lambda r: asked.append(r.url) if f"/images/{image_id}/url" in r.url else None)
    builder.get_by_label("Width").fill("300")
    builder.get_by_label("Fit").select_option("cover")
    builder.get_by_label("Height").fill("300")
    builder.get_by_label("Format").select_option("webp")
    state = page.locator("#built-state")
    state.filter(has_text="WebP, 300 × 300").wait_for()
    # Debounced: one request for the options typed in a row (the last), not one per key.
    assert len(asked) == 1 and "width=300" in asked[0] and "fit=cover" in asked[0] and "format=webp" in asked[0]
    preview = dialog.locator("#built-img")
    assert preview.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [300, 300]
    url = dialog.locator("#built-url").input_value()
    body = requests.get(url, timeout=30)
    assert body.headers["Content-Type"] == "image/webp"
    shown = int(state.locator("data").get_attribute("value"))
    assert shown == len(body.content) > 0
    page.locator("#embed").scroll_into_view_if_needed()
    page.screenshot_to("embed-builder.png")

    for bad, message in (
        ("0", "width must be a whole number from 1 to 4096, got '0'"),
        ("99999", "width must be a whole number from 1 to 4096, got '99999'"),
    ):
        builder.get_by_label("Width").fill(bad)
        state.filter(has_text=message).wait_for()
        assert state.inner_text() == message
        assert not preview.is_visible() and dialog.locator("#built-url").input_value() == ""


def with_camera(jpeg: bytes) -> bytes:
    """The JPEG again with a camera and a time taken in its EXIF."""
    image = Image.open(io.BytesIO(jpeg))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Fujifilm", "X100V"  # Make, Model
    exif.get_ifd(0x8769)[0x9003] = "2025:06:01 14:30:00"  # DateTimeOriginal
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def click_at(page, locator, fx: float, fy: float) -> None:
    box = locator.bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def test_clicking_the_picture_sets_the_focal_point_and_refreshes_the_crops(page, web_api, owner):
    # Very wide, so the picture is letterboxed in its column and the click must be read off the picture itself.
    record, dialog = open_detail(page, web_api, owner, "focus.jpg", picture(11, size=(1600, 500)))
    image_id = record["image_id"]
    square = dialog.locator("#crop-square")
    page.wait_for_function("() => document.querySelector('#crop-square').naturalWidth > 0")
    wide = dialog.locator("#crop-wide")
    page.wait_for_function("() => document.querySelector('#crop-wide').naturalWidth > 0")
    before, wide_before = square.evaluate("i => i.currentSrc"), wide.evaluate("i => i.currentSrc")
    assert square.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [240, 240]
    img = dialog.locator("#detail-img")
    with page.expect_response(lambda r: r.request.method == "PATCH") as patched:
        click_at(page, img, 0.25, 0.2)
    assert patched.value.status == 200
    page.wait_for_function("b => document.querySelector('#crop-square').currentSrc !== b", arg=before)
    focus = web_api.record(image_id)["focus"]
    assert math.isclose(focus["x"], 0.25, abs_tol=0.01) and math.isclose(focus["y"], 0.2, abs_tol=0.01), focus
    page.wait_for_function("() => document.querySelector('#crop-square').complete")
    after = square.evaluate("i => i.currentSrc")
    assert after != before and square.evaluate("i => i.naturalWidth") == 240
    page.wait_for_function(
        "b => { const i = document.querySelector('#crop-wide'); return i.currentSrc !== b && i.complete; }",
        arg=wide_before,
    )
    assert wide.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [426, 240]
    # The marker sits on the point clicked (on the new version's picture, once loaded).
    page.wait_for_function(DETAIL_LOADED)
    mark, box = dialog.locator("#focus-mark").bounding_box(), img.bounding_box()
    centre = (mark["x"] + mark["width"] / 2, mark["y"] + mark["height"] / 2)
    assert abs(centre[0] - (box["x"] + 0.25 * box["width"])) < 2
    assert abs(centre[1] - (box["y"] + 0.2 * box["height"])) < 2
    assert dialog.locator("#focus-state").inner_text() == "Focal point at x 25 %, y 20 % from the top left."
    dialog.locator("#focus-panel").scroll_into_view_if_needed()
    page.screenshot_to("focal-point.png")

    # The keyboard does the same: arrows move the point from where it is, Enter saves it.
    img.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowDown"):
        page.keyboard.press(key)
    assert "Enter saves it" in dialog.locator("#focus-state").inner_text()
    with page.expect_response(lambda r: r.request.method == "PATCH"):
        page.keyboard.press("Enter")
    dialog.locator("#focus-state").filter(has_text="x 35 %, y 25 %").wait_for()
    focus = web_api.record(image_id)["focus"]
    assert math.isclose(focus["x"], 0.35, abs_tol=0.011) and math.isclose(focus["y"], 0.25, abs_tol=0.011), focus

    with page.expect_response(lambda r: r.request.method == "PATCH"):
        dialog.get_by_role("button", name="Clear", exact=True).click()
    dialog.locator("#focus-state").filter(has_text="No focal point").wait_for()
    assert web_api.record(image_id)["focus"] is None
    assert not dialog.locator("#focus-mark").is_visible()


def test_the_detail_modules_load_only_when_the_dialog_first_opens(page, web_api, owner):
    [image_id] = ready_pictures(web_api, owner, {"lazy-detail.jpg": 13})
    scripts = []
    page.on("request", lambda r: scripts.append(r.url.rsplit("/", 1)[-1]) if r.url.endswith(".js") else None)
    page.open()
    page.sign_in(owner)
    page.wait_thumbnails(1)
    # The gallery's first view waits for neither.
    assert "detail.js" in scripts and not {"embed.js", "focus.js"} & set(scripts)
    page.tile(image_id).get_by_role("button").click()
    page.locator("#embed").wait_for(state="attached")
    page.locator("#focus-state").filter(has_text="No focal point").wait_for()
    assert {"embed.js", "focus.js"} <= set(scripts)


def test_the_dialog_still_traps_focus_closes_on_escape_and_passes_axe(page, web_api, owner):
    page.set_viewport_size({"width": 1280, "height": 800})
    open_detail(page, web_api, owner, "axe-detail.jpg", picture(12, size=(900, 600)))
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Copy and embed").click()
    page.locator("#built-state").filter(has_text="×").wait_for()
    assert violations(page) == [], "detail with embed and focal point"
    assert page.locator("#detail").evaluate("d => d.scrollWidth <= d.clientWidth")
    seen = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        inside = page.evaluate("() => document.activeElement.closest('dialog') !== null")
        assert inside
        seen.add(page.evaluate("() => document.activeElement.id || document.activeElement.name || ''"))
    assert {"detail-img", "copy-url", "copy-img", "width", "detail-close"} <= seen
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
