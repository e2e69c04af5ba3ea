"""The web app in Chromium over the local stack: upload, browse, filter, page,
edit, reprocess, download, delete; errors in words; keyboard and phone width."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests
from PIL import Image

from tests.browser.conftest import MARKS, picture, ready_pictures

pytestmark = MARKS


def files(tmp_path, named: dict[str, bytes]) -> list[str]:
    paths = []
    for name, data in named.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def test_three_files_at_once_two_ready_one_rejected(page, web_api, stack, owner, tmp_path):
    s3 = stack.client("s3")
    page.open()
    page.sign_in(owner)
    upload = page.get_by_label("Upload images")
    assert upload.evaluate("e => e.type === 'file' && e.multiple") is True
    page.locator("#up-title").fill("Holiday")
    page.locator("#up-tags").fill("Trip, sea")
    posts = []
    page.on(
        "response",
        lambda r: posts.append(r) if r.request.method == "POST" and r.url.startswith(stack.aws_url) else None,
    )
    upload.set_input_files(
        files(
            tmp_path,
            {
                "beach.jpg": picture(1),
                "boat.png": picture(2, fmt="PNG"),
                "notes.jpg": b"these are my notes, not a photo\n" * 20,
            },
        )
    )

    tiles = page.locator("#gallery [data-image-id]")
    page.locator('#gallery [data-status="ready"]').nth(1).wait_for()
    page.locator('#gallery [data-status="rejected"]').wait_for()
    assert tiles.count() == 3
    page.wait_thumbnails(2)

    listed = {i["filename"]: i for i in web_api("GET", "/images", params={"user_id": owner}).json()["images"]}
    assert {n: i["status"] for n, i in listed.items()} == {
        "beach.jpg": "ready",
        "boat.png": "ready",
        "notes.jpg": "rejected",
    }
    for name in ("beach.jpg", "boat.png"):
        tile = page.tile(listed[name]["image_id"])
        assert tile.get_attribute("data-status") == "ready"
        thumb = tile.locator("img")
        assert thumb.is_visible() and thumb.get_attribute("alt") == f"Holiday ({name})"
        # The tile shows a rendition from delivery's srcset, the width its size calls for.
        delivery = listed[name]["delivery"]
        assert (thumb.get_attribute("src"), thumb.get_attribute("srcset")) == (delivery["src"], delivery["srcset"])
        chosen = thumb.evaluate("i => i.currentSrc")
        widths = {page.evaluate("u => new URL(u, location.href).href", url): int(w[:-1])
                  for url, w in (c.split() for c in delivery["srcset"].split(", "))}
        assert chosen in widths and thumb.evaluate("i => i.naturalWidth") > 0
        # (naturalWidth is the slot's size for a srcset image: read the rendition's own pixels.)
        assert Image.open(io.BytesIO(requests.get(chosen, timeout=30).content)).width == widths[chosen]
        assert thumb.evaluate("i => i.loading") == "lazy"
        assert listed[name]["tags"] == ["trip", "sea"] and listed[name]["source"] == "presigned"
    rejected = listed["notes.jpg"]
    assert page.tile(rejected["image_id"]).get_attribute("data-status") == "rejected"

    # Each file's own row, its outcome in words: the ready ones leave (their tiles show them), the rejected one stays.
    row = page.locator("#sending li").filter(has_text="notes.jpg")
    assert row.locator("progress").evaluate("p => p.value") == 1
    assert row.locator(".status").inner_text() == f"rejected: {rejected['status_reason']}"
    assert rejected["status_reason"]  # the reason itself, in words
    page.locator("#sending li").nth(1).wait_for(state="detached")
    assert page.locator("#sending li .name").all_inner_texts() == ["notes.jpg"]

    # Each went through a presigned POST from the page's own origin, which the bucket allows.
    assert len(posts) == 3
    for response in posts:
        assert response.status == 204
        assert response.headers["access-control-allow-origin"] == stack.app_url.rstrip("/")
        assert "Origin" in response.headers["vary"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"uploads/{owner}/").get("Contents", [])]
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == ["beach.jpg", "boat.png"]  # the rejected one is removed
    page.screenshot_to("gallery.png")


def test_drop_files_filter_by_tag_page_through_and_edit(page, web_api, owner):
    """Five files dropped on the drop zone, two tagged; pages of two."""
    page.open("?page_size=2")
    page.sign_in(owner)
    for batch, tags in ((range(3), "plain"), (range(3, 5), "cats, plain")):
        page.locator("#up-tags").fill(tags)
        page.locator("#drop").evaluate(
            """(zone, files) => {
                 const dt = new DataTransfer();
                 for (const [name, bytes] of files)
                   dt.items.add(new File([new Uint8Array(bytes)], name, {type: "image/jpeg"}));
                 zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
               }""",
            [[f"drop-{n}.jpg", list(picture(10 + n, size=(200, 150)))] for n in batch],
        )
        page.locator("#gallery [data-status=ready]").nth(
            len(batch) - 1 + (3 if tags.startswith("cats") else 0)
        ).wait_for()

    everything = web_api("GET", "/images", params={"user_id": owner}).json()["images"]
    assert len(everything) == 5
    newest_first = [i["image_id"] for i in everything]
    cats = [i["image_id"] for i in everything if "cats" in i["tags"]]
    assert len(cats) == 2

    # A fresh load pages through with next_token: 3 list calls for 5 images at 2 a page.
    lists = []
    page.on("request", lambda r: lists.append(r.url) if urlparse(r.url).path.endswith("/images") else None)
    page.reload()
    page.locator("#gallery [data-image-id]").nth(4).wait_for()
    page.locator("#more").wait_for(state="hidden")
    assert page.tile_ids() == newest_first
    queries = [parse_qs(urlparse(u).query) for u in lists]
    assert [q.get("limit") for q in queries] == [["2"]] * 3
    assert ["next_token" in q for q in queries] == [False, True, True]

    page.get_by_role("textbox", name="Tag", exact=True).fill("cats")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function(
        "n => document.querySelectorAll('#gallery [data-image-id]').length === n && "
        "!document.querySelector('#gallery-state').textContent.startsWith('Loading')",
        arg=2,
    )
    assert page.tile_ids() == cats

    # Edit a title: saved on the server, and the tile's alt text follows.
    target = cats[0]
    page.tile(target).get_by_role("button").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Title").fill("Whiskers")
    dialog.get_by_label("Description").fill("on the sofa")
    dialog.get_by_role("button", name="Save changes").click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    saved = web_api.record(target)
    assert (saved["title"], saved["description"], saved["tags"]) == ("Whiskers", "on the sofa", ["cats", "plain"])
    named = f"Whiskers ({saved['filename']})"
    assert page.tile(target).locator("img").get_attribute("alt") == named
    assert dialog.get_by_role("heading", name=named).is_visible()


def test_detail_download_reprocess_and_delete(page, web_api, stack, owner, tmp_path):
    s3 = stack.client("s3")
    page.open()
    page.sign_in(owner)
    page.get_by_label("Upload images").set_input_files(
        files(tmp_path, {"harbour at dusk.jpg": picture(7, (1600, 1000))})
    )
    page.locator('#gallery [data-status="ready"]').wait_for()
    image_id = page.tile_ids()[0]
    record = web_api.record(image_id)

    page.tile(image_id).get_by_role("button").click()
    dialog = page.get_by_role("dialog")
    large = dialog.locator("#detail-img")
    page.wait_for_function(
        "() => { const i = document.querySelector('#detail-img'); return i.complete && i.naturalWidth > 0; }"
    )
    assert large.get_attribute("alt") == "harbour at dusk.jpg"  # no title: the filename
    # The rendition the dialog's column calls for (issue 19), not the 1600 px `large` variant.
    assert record["variants"]["large"]["width"] == 1600
    chosen = large.evaluate("i => i.currentSrc")
    widths = {
        page.evaluate("u => new URL(u, location.href).href", url): int(w[:-1])
        for url, w in (c.split() for c in record["delivery"]["srcset"].split(", "))
    }
    assert chosen in widths and widths[chosen] == 640
    assert Image.open(io.BytesIO(requests.get(chosen, timeout=30).content)).width == 640
    meta = dict(zip(dialog.locator("dt").all_inner_texts(), dialog.locator("dd").all_inner_texts(), strict=True))
    assert meta["Format"] == "JPEG" and meta["Dimensions"] == "1600 × 1000" and meta["Status"] == "ready"
    assert meta["Size"] == f"{int(record['size_bytes'] / 1024 + 0.5)} KB" and meta["File"] == "harbour at dusk.jpg"
    page.screenshot_to("detail.png")

    with page.expect_download() as download:
        dialog.get_by_role("link", name="Download the original").click()
    assert download.value.suggested_filename == "harbour at dusk.jpg"
    assert Path(download.value.path()).read_bytes() == picture(7, (1600, 1000))

    with page.expect_response(lambda r: r.url.endswith(f"/images/{image_id}/reprocess")) as answer:
        dialog.get_by_role("button", name="Reprocess").click()
    assert answer.value.status == 202
    page.get_by_role("status").filter(has_text="Reprocessing").wait_for()
    # Let the handler finish before deleting: a delete racing it can leave the variants it
    # writes afterwards (ingest's _store_result does not remove them when its save declines).
    marked = answer.value.json()["image"]["updated_at"]
    deadline = time.monotonic() + 45
    while web_api.record(image_id)["updated_at"] == marked:
        assert time.monotonic() < deadline, "the reprocessed image never settled"
        time.sleep(0.2)

    dialog.get_by_role("button", name="Delete…").click()
    dialog.get_by_role("button", name="Keep it").click()  # a change of mind deletes nothing
    assert web_api.record(image_id) is not None
    dialog.get_by_role("button", name="Delete…").click()
    dialog.get_by_role("button", name="Yes, delete it").click()
    page.tile(image_id).wait_for(state="detached")
    assert not dialog.is_visible()
    assert web_api.record(image_id) is None
    web_api.wait_gone(image_id)
    left = s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"uploads/{owner}/").get("KeyCount", 0)
    variants = s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"processed/{image_id}/").get("KeyCount", 0)
    assert (left, variants) == (0, 0)


def test_errors_are_shown_in_words(page, owner, tmp_path):
    page.open()
    page.sign_in(owner)
    # A network failure.
    page.route(re.compile(r".*/images\?.*"), lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="Apply filters").click()
    page.locator("#errors .error").filter(has_text="Listing images").wait_for()
    assert any("Could not reach imgstore" in t for t in page.error_texts())
    assert page.locator("#gallery-state").inner_text() == "The images could not be listed."

    # The API's {"error"}, as it says it (file types refused in the page: test_shown_truthfully.py).
    page.unroute(re.compile(r".*/images\?.*"))
    page.get_by_role("combobox", name="Status").select_option("ready")
    page.route(
        re.compile(r".*/images\?.*"),
        lambda route: route.fulfill(
            status=400, content_type="application/json", body='{"error": "tag \'x,y\' is refused: a tag is ..."}'
        ),
    )
    page.get_by_role("button", name="Apply filters").click()
    page.locator("#errors .error").filter(has_text="is refused").wait_for()
    assert page.error_texts()[1] == "Listing images: tag 'x,y' is refused: a tag is ..."
    page.locator("#errors .error").first.get_by_role("button", name="Dismiss this message").click()
    assert page.locator("#errors .error").count() == 1


def test_a_503_is_tried_again_after_its_retry_after_and_only_the_last_one_is_shown(page, web_api, owner):
    [image_id] = ready_pictures(web_api, owner, {"patient.jpg": 6})
    page.open()
    page.sign_in(owner)
    page.tile(image_id).wait_for()
    sent: list[float] = []

    def unavailable(times: int):
        def answer(route):
            sent.append(time.monotonic())
            if len(sent) <= times:
                route.fulfill(
                    status=503,
                    headers={"Retry-After": "1", "Content-Type": "application/json"},
                    body='{"error": "an AWS service imgstore relies on is briefly unavailable; try again in a moment"}',
                )
            else:
                route.fallback()

        return answer

    # Twice unavailable, then answered: the gallery fills, no error, a second between tries.
    page.route(re.compile(r".*/images\?.*"), unavailable(2))
    page.get_by_role("button", name="Apply filters").click()
    page.locator("#gallery-state").filter(has_text="1 image shown").wait_for()
    assert page.tile_ids() == [image_id]
    assert len(sent) == 3 and all(b - a >= 0.9 for a, b in zip(sent, sent[1:])), sent
    assert page.error_texts() == []

    # Unavailable three times: the third answer is shown, in words.
    page.unroute(re.compile(r".*/images\?.*"))
    sent.clear()
    page.route(re.compile(r".*/images\?.*"), unavailable(3))
    page.get_by_role("button", name="Apply filters").click()
    page.locator("#errors .error").filter(has_text="Listing images").wait_for()
    assert len(sent) == 3
    assert any("briefly unavailable; try again in a moment" in t for t in page.error_texts())


def test_a_thumbnail_that_does_not_load_says_so(page, web_api, stack, owner):
    ready_pictures(web_api, owner, {"gone.jpg": 5})
    page.route("**/r/**", lambda route: route.fulfill(status=403, body='{"error": "forbidden"}'))
    page.open()
    page.sign_in(owner)
    page.locator("#gallery .caption").filter(has_text="gone.jpg: the thumbnail did not load").wait_for()


def test_keyboard_names_and_alt_text(page, web_api, owner):
    [image_id] = ready_pictures(web_api, owner, {"key.jpg": 3}, title="By keyboard")
    page.open()
    page.sign_in(owner)
    page.wait_thumbnails(1)

    unnamed = page.evaluate("""() => [...document.querySelectorAll('button, input, select, textarea, a[href]')]
        .filter(e => e.offsetParent !== null || e.closest('dialog'))
        .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim()
                       || (e.querySelector('img') && e.querySelector('img').alt)))
        .map(e => e.outerHTML.slice(0, 80))""")
    assert unnamed == []
    assert page.evaluate("() => [...document.querySelectorAll('#gallery img')].map(i => i.alt)") == [
        "By keyboard (key.jpg)"
    ]

    # Tab to the tile, open it with Enter, close with Escape: focus comes back.
    tile_button = page.tile(image_id).get_by_role("button")
    for _ in range(30):
        page.keyboard.press("Tab")
        if tile_button.evaluate("b => b === document.activeElement"):
            break
    assert tile_button.evaluate("b => b === document.activeElement")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert page.evaluate("() => document.activeElement.id") == "detail-close"
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert tile_button.evaluate("b => b === document.activeElement")


def test_the_layout_holds_at_phone_width(phone, web_api, owner):
    ready_pictures(web_api, owner, {f"p{n}.jpg": 20 + n for n in range(3)})
    phone.open()
    phone.sign_in(owner)
    phone.wait_thumbnails(3)
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 375
    boxes = phone.locator("#gallery .tile").evaluate_all("ts => ts.map(t => t.getBoundingClientRect().toJSON())")
    assert all(b["right"] <= 375 and b["width"] >= 90 for b in boxes)
    assert boxes[0]["top"] == boxes[1]["top"]  # side by side, not one per row
    phone.page.screenshot(path=str(phone.screenshot_to("phone.png")), full_page=True)


def test_many_files_go_four_at_a_time_each_presigned_just_before_it_is_sent(page, stack, owner, tmp_path):
    page.open()
    page.sign_in(owner)
    held, released = [], []

    def bucket(route):
        if route.request.method == "POST" and not released:
            held.append(route)
        else:
            route.continue_()

    page.route(f"{stack.aws_url}/**", bucket)
    presigned = []
    page.on("request", lambda r: presigned.append(r.url) if r.url.endswith("/uploads") else None)
    page.get_by_label("Upload images").set_input_files(
        files(tmp_path, {f"q{n}.jpg": picture(80 + n, size=(120, 90)) for n in range(6)})
    )
    for _ in range(300):  # until four uploads are in the bucket's hands
        if len(held) == 4:
            break
        page.wait_for_timeout(50)
    page.wait_for_timeout(300)  # a fifth, were it coming, would have come by now
    assert (len(held), len(presigned)) == (4, 4)
    assert page.locator("#sending li[data-phase=waiting]").count() == 2
    released.append(True)
    for route in held:
        route.continue_()
    page.locator("#gallery [data-status=ready]").nth(5).wait_for()
    assert len(presigned) == 6
