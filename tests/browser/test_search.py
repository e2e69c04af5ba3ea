"""Issue 19's search box: typing re-lists the gallery with `q` once the typing pauses, keeps
the other filters, says when nothing matches, and cleared lists everything again."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.browser.conftest import MARKS, ready_pictures

pytestmark = MARKS


def shown_are(page, ids) -> None:
    page.wait_for_function(
        "ids => { const shown = [...document.querySelectorAll('#gallery [data-image-id]')].map(t => t.dataset.imageId);"
        " return shown.length === ids.length && ids.every(i => shown.includes(i)); }",
        arg=sorted(ids),
    )


def test_typing_in_the_search_box_shows_only_the_matching_tiles(page, web_api, owner):
    beach, lake, snow = ready_pictures(
        web_api, owner, {"summer-beach.jpg": 11, "Summer_lake.jpg": 12, "winter-snow.jpg": 13}
    )
    searches: list[str] = []
    page.on("request", lambda r: searches.extend(
        parse_qs(urlsplit(r.url).query).get("q", []) if urlsplit(r.url).path.endswith("/images") else []))
    page.open()
    page.sign_in(owner)
    page.wait_thumbnails(3)
    box = page.get_by_role("searchbox", name="Search")
    assert box.get_attribute("type") == "search"

    box.press_sequentially("summ", delay=40)  # faster than the debounce: one list call, for "summ"
    shown_are(page, [beach, lake])
    assert searches == ["summ"]
    assert page.locator("#gallery-state").inner_text() == "2 images shown."
    page.wait_thumbnails(2)
    page.screenshot_to("search.png")

    box.press("End")  # the screenshot took the focus away
    box.press_sequentially("er lak", delay=40)  # every word: whole words, the last as a prefix
    shown_are(page, [lake])

    page.locator('#filters select[name="status"]').select_option("ready")
    page.get_by_role("button", name="Apply filters").click()  # the other filters keep the search
    shown_are(page, [lake])
    assert searches[-1] == "summer lak"

    box.fill("autumn")
    page.locator("#gallery-state", has_text="No images match “autumn”.").wait_for()
    assert page.tile_ids() == []

    box.fill("")  # cleared: everything again
    shown_are(page, [beach, lake, snow])
    assert page.locator("#gallery-state").inner_text() == "3 images shown."


def test_the_search_box_fits_a_phone_and_finds_by_a_tag(phone390, web_api, owner):
    page = phone390
    tagged, other = ready_pictures(web_api, owner, {"a.jpg": 21, "b.jpg": 22})
    assert web_api("PATCH", f"/images/{tagged}", json={"tags": ["harbour"]}).status_code == 200
    page.open()
    page.sign_in(owner)
    page.wait_thumbnails(2)
    box = page.get_by_role("searchbox", name="Search")
    assert box.is_visible() and box.bounding_box()["width"] >= 150  # room to type in
    box.fill("harb")
    shown_are(page, [tagged])
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing sideways
    box.fill("")
    shown_are(page, [tagged, other])
