"""Issue 19's "shown wrongly" list, each as the browser sees it: transparency on a
checkerboard, placeholders gone once loaded, filenames rather than a batch title,
refusals in words and once, banners that scroll away, upload rows that clear,
a rejected image's detail, the dialog's scroll, and the smaller ones."""

from __future__ import annotations

import io
import re
from urllib.parse import urlparse

from PIL import Image, ImageDraw

from tests.browser.conftest import MARKS, picture

pytestmark = MARKS

RED = (220, 20, 30)
DETAIL_LOADED = "() => { const i = document.querySelector('#detail-img'); return i.complete && i.naturalWidth > 0; }"


def red_circle(size=320) -> bytes:
    """A red disc on full transparency: the corners are transparent."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse([size // 4, size // 4, 3 * size // 4, 3 * size // 4], fill=(*RED, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def upload(web_api, owner: str, filename: str, data: bytes, content_type="image/jpeg", **params) -> str:
    reply = web_api(
        "POST",
        "/images",
        params={"user_id": owner, "filename": filename, **params},
        headers={"Content-Type": content_type},
        data=data,
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["image_id"]


def files(tmp_path, named: dict[str, bytes]) -> list[str]:
    for name, data in named.items():
        (tmp_path / name).write_bytes(data)
    return [str(tmp_path / name) for name in named]


def pixels(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def far(a, b, by=60) -> bool:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) > by


def neutral(p) -> bool:
    return max(p) - min(p) <= 12



def test_a_transparent_image_shows_on_a_checkerboard_and_its_placeholder_goes_once_loaded(page, web_api, stack, owner):
    opaque = upload(web_api, owner, "photo.jpg", picture(7))
    image_id = upload(web_api, owner, "logo.png", red_circle(), "image/png")
    record = web_api.wait_for([opaque, image_id])[image_id]
    assert record["status"] == "ready" and record["has_alpha"] is True
    dominant = rgb(record["dominant_color"])
    assert not far(dominant, RED)  # the disc's red: what the transparent area must not show

    # Before the thumbnail arrives: the dominant colour and the BlurHash stand in.
    held = []
    page.route("**/r/**", lambda route: held.append(route))
    page.open()
    page.sign_in(owner)
    tile = page.tile(image_id)
    tile.wait_for()
    page.wait_for_function("() => document.querySelector('#gallery canvas[data-hash]')")
    assert tile.evaluate("t => getComputedStyle(t).backgroundColor") == "rgb({}, {}, {})".format(*dominant)
    assert tile.locator("canvas").get_attribute("data-hash") == record["blurhash"]
    for route in held:
        route.continue_()
    page.unroute("**/r/**")
    page.wait_thumbnails(2)
    # The checkerboard only behind what can show it: an opaque tile fading in would flash it.
    checker = "t => getComputedStyle(t).backgroundImage.startsWith('repeating-conic-gradient')"
    assert tile.evaluate(checker) and not page.tile(opaque).evaluate(checker)
    # Once loaded, no placeholder behind it: no canvas, no colour, the corners neutral.
    page.wait_for_function(f"() => !document.querySelector('[data-image-id=\"{image_id}\"] canvas')")
    assert tile.evaluate("t => getComputedStyle(t).backgroundColor") != "rgb({}, {}, {})".format(*dominant)
    shot = pixels(tile.screenshot())
    for corner in ((3, 3), (shot.width - 4, 3), (shot.width // 2, 3)):  # the caption is along the bottom
        p = shot.getpixel(corner)
        assert neutral(p) and far(p, dominant), (corner, p)

    tile.get_by_role("button").click()
    page.wait_for_function(DETAIL_LOADED)
    page.wait_for_timeout(300)  # the dialog's opening settles
    detail = pixels(page.locator("#detail-img").screenshot())
    page.screenshot_to("transparent-detail.png")
    # The transparent corner is a checkerboard of two neutral greys, never the dominant red.
    corner = [detail.getpixel((x, y)) for x in range(0, 40, 2) for y in range(0, 40, 2)]
    assert all(neutral(p) and far(p, dominant) for p in corner), corner[:5]
    assert len({p for p in corner}) >= 2  # two squares, not one flat fill
    middle = detail.getpixel((detail.width // 2, detail.height // 2))
    assert not far(middle, RED), middle  # the disc itself is red


def test_letterbox_bars_are_not_painted_in_the_dominant_colour(page, web_api, owner):
    # Very wide: the detail view shows bars above and below it.
    image_id = upload(web_api, owner, "panorama.jpg", picture(4, size=(1600, 300)))
    record = web_api.wait_for([image_id])[image_id]
    page.open()
    page.sign_in(owner)
    page.tile(image_id).get_by_role("button").click()
    page.wait_for_function(DETAIL_LOADED)
    figure = page.locator(".detail-figure")
    box, img = figure.bounding_box(), page.locator("#detail-img").bounding_box()
    assert box["height"] > img["height"] + 20  # there are bars
    bar = pixels(figure.screenshot()).getpixel((int(box["width"] // 2), 4))
    assert neutral(bar) and far(bar, rgb(record["dominant_color"]), by=30), bar


def test_filenames_not_the_batch_title_name_each_image(page, web_api, owner, tmp_path):
    page.open()
    page.sign_in(owner)
    page.locator("#up-title").fill("Summer trip")
    page.get_by_label("Upload images").set_input_files(
        files(tmp_path, {"beach.jpg": picture(31), "pier.jpg": picture(32), "notes.jpg": b"not a photo\n" * 30})
    )
    page.locator('#gallery [data-status="ready"]').nth(1).wait_for()
    page.locator('#gallery [data-status="rejected"]').wait_for()
    listed = {i["filename"]: i for i in web_api("GET", "/images", params={"user_id": owner}).json()["images"]}
    for name in ("beach.jpg", "pier.jpg"):
        tile = page.tile(listed[name]["image_id"])
        assert tile.locator("img").get_attribute("alt") == f"Summer trip ({name})"
        caption = tile.locator(".caption")
        assert caption.is_visible() and caption.inner_text() == name  # on the tile, not only for screen readers
    rejected = page.tile(listed["notes.jpg"]["image_id"])
    assert rejected.locator(".caption").inner_text() == "notes.jpg"
    page.screenshot_to("gallery-captions.png")

    page.tile(listed["pier.jpg"]["image_id"]).get_by_role("button").click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_role("heading", level=2).inner_text() == "Summer trip (pier.jpg)"
    dialog.get_by_role("button", name="Delete…").click()
    dialog.get_by_role("button", name="Yes, delete it").click()
    page.locator("#gallery-state").filter(has_text="Deleted").wait_for()
    assert page.locator("#gallery-state").inner_text().endswith("Deleted pier.jpg.")


def test_a_refused_file_is_said_in_words_once_and_never_sent(page, owner, tmp_path):
    page.open()
    page.sign_in(owner)
    sent = []
    page.on("request", lambda r: sent.append(r.url) if urlparse(r.url).path.endswith("/uploads") else None)
    page.get_by_label("Upload images").set_input_files(
        files(tmp_path, {"photo.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>', "readme.txt": b"hello"})
    )
    rows = page.locator("#sending li")
    rows.nth(1).wait_for()
    page.wait_for_timeout(300)
    use = "use JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC or AVIF."
    statuses = {r.locator(".name").inner_text(): r.locator(".status").inner_text() for r in rows.all()}
    assert statuses == {
        "photo.svg": f"not sent: SVG isn't supported; {use}",
        "readme.txt": f"not sent: TXT isn't supported; {use}",
    }
    assert sent == []  # checked in the page, against /client-config's list
    assert page.error_texts() == []  # said once, in the row
    assert "content_type" not in page.locator("body").inner_text()


def test_an_api_refusal_during_upload_is_shown_once_in_its_row(page, owner, tmp_path):
    page.open()
    page.sign_in(owner)
    page.locator("#up-tags").fill("x" * 70)
    page.get_by_label("Upload images").set_input_files(files(tmp_path, {"long-tag.jpg": picture(40)}))
    status = page.locator("#sending li .status")
    status.filter(has_text="not uploaded").wait_for()
    assert "is longer than 64 characters" in status.inner_text()
    assert page.error_texts() == []


def test_error_banners_collapse_and_do_not_stay_pinned(phone390, owner):
    page = phone390
    page.open()
    page.sign_in(owner)
    page.route(re.compile(r".*/images\?.*"), lambda route: route.abort("internetdisconnected"))
    for times in (1, 2, 3):
        page.get_by_role("button", name="Apply filters").click()
        page.locator("#errors .error").filter(has_text=f"({times} times)" if times > 1 else "Listing images").wait_for()
    assert page.locator("#errors .error").count() == 1  # the same message, counted, not stacked
    assert page.error_texts()[0].endswith("(3 times)")
    page.locator("#drop").evaluate("d => d.scrollIntoView({block: 'start'})")
    banner = page.locator("#errors .error").bounding_box()
    for target in ("#upload-title", "#drop"):
        box = page.locator(target).bounding_box()
        overlap = banner["y"] < box["y"] + box["height"] and box["y"] < banner["y"] + banner["height"]
        assert not overlap, (target, banner, box)


def test_upload_rows_show_sizes_fit_a_phone_and_clear_when_done(phone390, owner, tmp_path):
    page = phone390
    page.open()
    page.sign_in(owner)
    names = {"a-rather-long-filename-from-a-phone-camera-0001.jpg": picture(50), "b.jpg": picture(51)}
    held = []
    page.route(re.compile(r".*/uploads$"), lambda route: held.append(route))
    page.get_by_label("Upload images").set_input_files(files(tmp_path, names))
    rows = page.locator("#sending li")
    rows.nth(1).wait_for()
    for row in rows.all():
        name, status, size = row.locator(".name"), row.locator(".status"), row.locator(".size")
        assert size.inner_text() == f"{int(len(names[name.get_attribute('title')]) / 1024 + 0.5)} KB"
        assert name.bounding_box()["x"] - row.bounding_box()["x"] < 8  # no empty indent before the name
        # One line: the status beside the name, not wrapped under it.
        assert abs(status.bounding_box()["y"] - name.bounding_box()["y"]) < 6
        assert row.bounding_box()["x"] + row.bounding_box()["width"] <= 390
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot_to("phone-upload-rows.png")
    for route in held:
        route.continue_()
    page.unroute(re.compile(r".*/uploads$"))
    page.locator('#gallery [data-status="ready"]').nth(1).wait_for()
    rows.first.wait_for(state="detached", timeout=15_000)  # ready rows leave: the tiles show them now
    assert rows.count() == 0


def test_a_rejected_images_detail_says_so_with_an_icon(page, web_api, owner):
    image_id = upload(web_api, owner, "fake.jpg", b"\xff\xd8\xff" + b"not really a jpeg\n" * 40)  # starts like one
    record = web_api.wait_for([image_id])[image_id]
    assert record["status"] == "rejected"
    page.open()
    page.sign_in(owner)
    page.tile(image_id).get_by_role("button").click()
    figure = page.locator(".detail-figure")
    figure.locator(".figure-note").wait_for()
    assert figure.locator(".figure-note svg").is_visible()
    assert figure.locator(".figure-note").inner_text() == f"fake.jpg was rejected: {record['status_reason']}"
    assert not page.locator("#detail-img").is_visible()
    page.screenshot_to("rejected-detail.png")


def test_the_dialog_opens_at_its_top_on_a_phone(phone390, web_api, owner):
    page = phone390
    first = upload(web_api, owner, "one.jpg", picture(60))
    second = upload(web_api, owner, "two.jpg", picture(61))
    web_api.wait_for([first, second])
    page.open()
    page.sign_in(owner)
    page.tile(first).get_by_role("button").click()
    dialog = page.locator("#detail")
    dialog.wait_for()
    scrolled = dialog.evaluate("d => { d.scrollTop = d.scrollHeight; return d.scrollTop; }")
    assert scrolled > 20  # the dialog does scroll at this size
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    page.tile(second).get_by_role("button").click()
    dialog.wait_for()
    assert dialog.evaluate("d => d.scrollTop") == 0
    page.screenshot_to("phone-detail.png")


def test_the_smaller_ones(page, web_api, owner, tmp_path):
    image_id = upload(web_api, owner, "small.jpg", picture(70))
    record = web_api.wait_for([image_id])[image_id]
    page.open()
    # The user-name field is one line, not a resizable box.
    field = page.locator("#signin-value")
    assert field.evaluate("e => e.tagName") == "INPUT"
    page.sign_in(owner)
    # The owner filter says whose images are listed.
    assert page.get_by_role("textbox", name="Owner").input_value() == owner
    page.get_by_role("button", name="Clear filters").click()
    page.wait_for_timeout(100)
    assert page.get_by_role("textbox", name="Owner").input_value() == owner
    # The file picker is a styled button, the native control hidden.
    picker = page.locator("label[for=files].button")
    assert picker.is_visible() and picker.inner_text() == "Choose images"
    assert page.locator("#files").evaluate("e => e.getBoundingClientRect().width") <= 1
    # Times in words, the machine value kept in <time datetime>.
    page.tile(image_id).get_by_role("button").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("dt").filter(has_text="Uploaded").wait_for()
    meta = dict(zip(dialog.locator("dt").all_inner_texts(), dialog.locator("dd").all_inner_texts(), strict=True))
    assert not re.search(r"\d{4}-\d\d-\d\dT", meta["Uploaded"]) and "2026" in meta["Uploaded"]
    assert dialog.locator(f'dd time[datetime="{record["created_at"]}"]').count() == 1
    # No stale "Saved." under the delete confirmation.
    dialog.get_by_label("Title").fill("Tiny")
    dialog.get_by_role("button", name="Save changes").click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    dialog.get_by_role("button", name="Delete…").click()
    assert page.locator("#detail-status").inner_text() == ""


def test_no_drop_hint_on_a_phone(phone390, owner):
    phone390.open()
    phone390.sign_in(owner)
    assert "drop" not in phone390.locator("#drop").inner_text().lower()
    assert phone390.locator("label[for=files].button").is_visible()


def test_tiles_keep_their_order_when_the_list_reloads(page, web_api, owner, tmp_path):
    page.open()
    page.sign_in(owner)
    page.get_by_label("Upload images").set_input_files(
        files(tmp_path, {f"order-{n}.jpg": picture(90 + n, size=(160, 120)) for n in range(6)})
    )
    page.locator('#gallery [data-status="ready"]').nth(5).wait_for()
    before = page.tile_ids()
    api_order = [i["image_id"] for i in web_api("GET", "/images", params={"user_id": owner}).json()["images"]]
    page.reload()
    page.locator("#gallery [data-image-id]").nth(5).wait_for()
    assert before == page.tile_ids() == api_order

    # Oldest first (order=oldest), over pages of four: the same images, the other way round.
    page.open("?page_size=4")
    page.locator("#gallery [data-image-id]").nth(3).wait_for()
    lists = []
    page.on("request", lambda r: lists.append(r.url) if urlparse(r.url).path.endswith("/images") else None)
    page.get_by_role("combobox", name="Order").select_option("oldest")
    page.locator("#more").wait_for(state="hidden")
    page.wait_for_function("() => document.querySelectorAll('#gallery [data-image-id]').length === 6")
    assert page.tile_ids() == api_order[::-1]
    assert len(lists) == 2 and all("order=oldest" in u for u in lists)
    assert page.locator("#gallery").get_attribute("aria-label") == "Images, oldest first"


def test_only_thumbnails_near_the_screen_load(phone390, web_api, stack, owner):
    page = phone390
    ids = [upload(web_api, owner, f"lazy-{n}.jpg", picture(200 + n, size=(120, 90))) for n in range(30)]
    web_api.wait_for(ids)
    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if "/r/" in r.url else None)
    page.open()
    page.sign_in(owner)
    page.locator("#gallery [data-image-id]").nth(29).wait_for()
    page.wait_thumbnails(3)
    page.wait_for_timeout(500)
    rows_near = page.evaluate(
        """() => [...document.querySelectorAll('#gallery .tile')]
             .filter(t => t.getBoundingClientRect().top < innerHeight + 600).length"""
    )
    assert 0 < len(fetched) <= rows_near < 30  # the tiles far below have fetched nothing
    print(f"thumbnails fetched before scrolling: {len(fetched)} of 30")
    page.locator("#gallery .tile").nth(29).scroll_into_view_if_needed()
    page.wait_thumbnails(30)
    assert len(fetched) == 30
    # The detail lists the sizes made, each with its pixels and bytes.
    record = web_api.record(ids[0])
    page.tile(ids[0]).get_by_role("button").click()
    page.get_by_role("dialog").locator("dt").filter(has_text="Sizes made").wait_for()
    meta = dict(
        zip(page.locator("#detail dt").all_inner_texts(), page.locator("#detail dd").all_inner_texts(), strict=True)
    )
    thumb = record["variants"]["thumb"]
    assert meta["Sizes made"].startswith(f"thumb {thumb['width']} × {thumb['height']}, ")
