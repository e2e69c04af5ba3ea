"""Issue 19's selection and keyboard: click, shift-click, select all and their
keys; bulk delete with one confirmation that counts; bulk tag add and remove;
arrow keys between tiles, Enter, Escape, and a dialog that keeps focus."""

from __future__ import annotations

from tests.browser.conftest import MARKS, ready_pictures

pytestmark = MARKS


def selected(page) -> list[str]:
    return page.locator('#gallery .tile:has(.pick[aria-checked="true"])').evaluate_all(
        "ts => ts.map(t => t.dataset.imageId)"
    )


def focused_tile(page) -> str | None:
    return page.evaluate("() => document.activeElement.closest('.tile')?.dataset.imageId ?? null")


def test_select_by_click_shift_click_and_all_then_tag_and_delete(page, web_api, owner):
    ids = ready_pictures(web_api, owner, {f"s{n}.jpg": 100 + n for n in range(5)}, tags="keep")
    page.open()
    page.sign_in(owner)
    page.wait_thumbnails(5)
    shown = page.tile_ids()
    assert sorted(shown) == sorted(ids)
    assert page.locator("#selection-count").inner_text() == "None selected"
    assert page.get_by_role("button", name="Delete selected…").is_disabled()

    # The checkbox selects; once something is selected a click on a tile selects too, not opens.
    page.tile(shown[0]).locator(".pick").click()
    page.tile(shown[2]).get_by_role("button").click()
    assert selected(page) == [shown[0], shown[2]]
    assert not page.get_by_role("dialog").is_visible()
    # Shift-click: the range from the last one clicked.
    page.tile(shown[4]).get_by_role("button").click(modifiers=["Shift"])
    assert selected(page) == [shown[0], shown[2], shown[3], shown[4]]
    page.tile(shown[0]).get_by_role("button").click()  # a click again deselects
    assert selected(page) == shown[2:]
    assert page.locator("#selection-count").inner_text() == "3 selected"
    page.screenshot_to("selection.png")

    # A tag for all three, then off again from one of them.
    page.get_by_label("Tag for the selected images").fill("#Best")
    page.get_by_role("button", name="Add tag").click()
    page.get_by_role("status").filter(has_text="Tagged “best”: 3 images.").wait_for()
    assert {i: web_api.record(i)["tags"] for i in shown} == {
        i: (["keep", "best"] if i in shown[2:] else ["keep"]) for i in shown
    }
    page.get_by_role("button", name="Clear selection").click()
    assert selected(page) == []
    page.tile(shown[3]).locator(".pick").click()
    page.get_by_label("Tag for the selected images").fill("best")
    page.get_by_role("button", name="Remove tag").click()
    page.get_by_role("status").filter(has_text="Untagged “best”: 1 image.").wait_for()
    assert web_api.record(shown[3])["tags"] == ["keep"]

    # Select all, then delete with one confirmation that says how many.
    page.get_by_role("button", name="Select all shown").click()
    assert selected(page) == shown
    page.get_by_role("button", name="Delete selected…").click()
    assert page.locator("#bulk-confirm-text").inner_text() == "Delete 5 images and all their sizes for good?"
    page.get_by_role("button", name="Keep them").click()  # a change of mind deletes nothing
    assert all(web_api.record(i) is not None for i in shown)
    page.get_by_role("button", name="Delete selected…").click()
    page.get_by_role("button", name="Yes, delete them").click()
    page.get_by_role("status").filter(has_text="Deleted 5 images.").wait_for()
    assert page.tile_ids() == [] and all(web_api.record(i) is None for i in shown)
    assert page.locator("#gallery-state").inner_text() == "No images yet."


def test_the_keyboard_moves_opens_selects_and_the_dialog_keeps_focus(page, web_api, owner):
    ready_pictures(web_api, owner, {f"k{n}.jpg": 120 + n for n in range(6)})
    page.set_viewport_size({"width": 760, "height": 860})  # two rows of tiles
    page.open()
    page.sign_in(owner)
    page.wait_thumbnails(6)
    shown = page.tile_ids()
    # One tile in the tab order; Tab reaches it.
    assert page.locator("#gallery button[tabindex='0']").count() == 1
    for _ in range(40):
        page.keyboard.press("Tab")
        if focused_tile(page):
            break
    assert focused_tile(page) == shown[0]
    columns = page.locator("#gallery .tile").evaluate_all(
        "ts => ts.filter(t => t.offsetTop === ts[0].offsetTop).length"
    )
    assert 1 < columns < 6
    page.keyboard.press("ArrowRight")
    assert focused_tile(page) == shown[1]
    page.keyboard.press("ArrowDown")
    assert focused_tile(page) == shown[1 + columns]
    page.keyboard.press("ArrowLeft")
    assert focused_tile(page) == shown[columns]
    page.keyboard.press("Home")
    assert focused_tile(page) == shown[0]
    page.keyboard.press("End")
    assert focused_tile(page) == shown[5]
    assert page.locator("#gallery button[tabindex='0']").count() == 1  # the tab stop followed

    # Space selects, Shift+Space a range, Escape clears, Ctrl+A selects all.
    page.keyboard.press("Space")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Shift+Space")
    assert selected(page) == shown[3:]
    page.keyboard.press("Escape")
    assert selected(page) == []
    page.keyboard.press("Control+a")
    assert selected(page) == shown
    page.keyboard.press("Escape")

    # Enter opens; Tab stays in the dialog both ways; Escape closes and focus comes back.
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert page.evaluate("() => document.activeElement.id") == "detail-close"
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.getElementById('detail').contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    page.evaluate("() => document.getElementById('detail-close').focus()")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.getElementById('detail').contains(document.activeElement)")
    assert page.evaluate("() => document.activeElement.id") != "detail-close"
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert focused_tile(page) == shown[3]
