"""The web app's Webhooks panel (issue 18, "Where it runs"; issue 19) against the
local stack: register a loopback receiver from the page, see its secret once, send
a test that the receiver verifies with `standardwebhooks` (devstack.webhook_listen),
see that attempt in the log, rotate, disable, delete; a refused URL said once; the
keyboard alone; a phone; and axe-core on each state of the panel."""

from __future__ import annotations

import json
import re
import uuid

from playwright.sync_api import expect

from chalicelib.auth import issue_token
from chalicelib.events.vocabulary import IMAGE_TYPES
from devstack.webhook_listen import Listener
from tests.browser.conftest import ARTIFACTS, MARKS, TIMEOUT_MS
from tests.browser.test_accessibility import violations

pytestmark = MARKS

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")



def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#webhooks").screenshot(path=str(ARTIFACTS / name))


def open_panel(page, owner: str) -> None:
    page.open()
    page.sign_in(owner)
    page.get_by_role("button", name="Webhooks", exact=True).click()
    expect(page.locator("#hooks-state")).to_have_text(re.compile(r"^(No webhooks yet|\d+ webhooks?)\.$"))


def register(page, url: str):
    page.get_by_label("URL to send events to").fill(url)
    page.get_by_role("button", name="Register webhook").click()
    item = page.locator("#hooks li[data-webhook-id]").last
    expect(item).to_be_visible()
    return item


def secret_shown(page) -> str:
    expect(page.locator("#hook-secret")).to_be_visible()
    return page.locator("#hook-secret-value").input_value()


def test_register_see_the_secret_once_test_rotate_disable_and_delete(page, web_api, owner):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_panel(page, owner)
    assert page.locator("#hooks-state").inner_text() == "No webhooks yet."
    # Every type a webhook may hear, each offered and checked: the server's vocabulary, not a copy that drifts.
    offered = page.locator("#hook-events input[type=checkbox]").evaluate_all("bs => bs.map(b => [b.value, b.checked])")
    assert offered == [[t, True] for t in IMAGE_TYPES]

    with Listener([]) as receiver:
        item = register(page, receiver.url)
        secret = secret_shown(page)
        assert secret.startswith("whsec_")
        assert "won't be shown again" in page.locator("#hook-secret").inner_text()
        page.get_by_role("button", name="Copy secret").click()
        expect(page.locator("#hook-secret-status")).to_have_text("Copied.")
        assert page.evaluate("() => navigator.clipboard.readText()") == secret
        hook_id = item.get_attribute("data-webhook-id")
        assert item.locator(".hook-url").inner_text() == receiver.url
        assert not ISO.search(item.inner_text()), "a raw ISO time in the list"
        assert violations(page) == [], "the panel with a new secret"

        listed = web_api("GET", "/webhooks", params={"user_id": owner}).json()["webhooks"]
        assert [h["webhook_id"] for h in listed] == [hook_id] and secret not in json.dumps(listed)
        assert listed[0]["events"] == list(IMAGE_TYPES)
        page.reload()
        page.locator("#workspace").wait_for()
        page.get_by_role("button", name="Webhooks", exact=True).click()
        expect(page.locator("#hooks li[data-webhook-id]")).to_have_count(1)
        assert page.locator("#hook-secret").is_hidden() and secret not in page.content()

        receiver.secrets.append(secret)
        item = page.locator(f'#hooks li[data-webhook-id="{hook_id}"]')
        item.get_by_role("button", name="Send test").click()
        [got] = receiver.wait_for(1, timeout=TIMEOUT_MS / 1000)
        assert got.payload["type"] == "webhook.test" and got.verified_with == [0]
        # The log refreshes itself until the test's attempt is there.
        row = item.locator(f'.log tr[data-event-id="{got.id}"]')
        expect(row).to_have_attribute("data-status", "200")
        assert row.get_attribute("data-outcome") == "delivered"
        cells = row.locator("td").all_inner_texts()
        assert cells[1:4] == ["webhook.test", "1", "200, delivered"] and re.fullmatch(r"\d+ ms", cells[4]), cells
        assert not ISO.search(cells[0]) and row.locator("time").get_attribute("datetime")
        expect(item.locator(".hook-status")).to_contain_text("200, delivered")
        item.get_by_role("button", name="Refresh the log").click()
        expect(item.locator(".log tbody tr")).to_have_count(1)
        assert violations(page) == [], "the panel with a delivery log"

        item.get_by_role("button", name="Rotate secret").click()
        expect(page.locator("#hook-secret-value")).not_to_have_value(secret)
        rotated = secret_shown(page)
        assert rotated.startswith("whsec_") and rotated != secret
        assert "won't be shown again" in page.locator("#hook-secret").inner_text()
        # The secret shown is the one that signs now: during the grace period, with the old one beside it.
        receiver.secrets.append(rotated)
        item.get_by_role("button", name="Send test").click()
        second = receiver.wait_for(2, timeout=TIMEOUT_MS / 1000)[1]
        assert second.payload["type"] == "webhook.test" and second.verified_with == [0, 1]
        expect(item.locator(f'.log tr[data-event-id="{second.id}"]')).to_have_attribute("data-status", "200")
        shot(page, "webhooks.png")

    item.get_by_role("button", name="Disable").click()
    expect(item).to_have_attribute("data-enabled", "false")
    expect(item.get_by_role("button", name="Enable")).to_be_visible()
    assert "disabled" in item.locator(".hook-facts").inner_text()
    assert web_api("GET", f"/webhooks/{hook_id}").json()["enabled"] is False

    item.get_by_role("button", name="Delete…").click()
    assert violations(page) == [], "the delete confirmation"
    item.get_by_role("button", name="Yes, delete it").click()
    expect(item).to_have_count(0)
    expect(page.locator("#hooks-state")).to_contain_text(f"Deleted the webhook to {receiver.url}.")
    assert web_api("GET", f"/webhooks/{hook_id}").status_code == 404
    assert page.error_texts() == []


def test_a_refused_url_is_said_once_in_the_apis_words(page, web_api, owner):
    url = "http://169.254.169.254/latest/meta-data/"
    refused = web_api("POST", "/webhooks", json={"user_id": owner, "url": url})
    assert refused.status_code == 400
    reason = refused.json()["error"]
    assert "169.254.169.254" in reason
    open_panel(page, owner)
    page.get_by_label("URL to send events to").fill(url)
    page.get_by_role("button", name="Register webhook").click()
    expect(page.locator("#hook-form-status")).to_have_text(f"Not registered: {reason}")
    assert page.locator("body").inner_text().count(reason) == 1
    assert page.error_texts() == [] and page.locator("#hook-secret").is_hidden()
    assert page.evaluate("() => document.activeElement.id") == "hook-url"
    assert web_api("GET", "/webhooks", params={"user_id": owner}).json()["webhooks"] == []


def test_a_receivers_410_shows_the_webhook_disabled(page, owner):
    with Listener([], answers=[410]) as receiver:
        open_panel(page, owner)
        item = register(page, receiver.url)
        item.get_by_role("button", name="Send test").click()
        receiver.wait_for(1, timeout=TIMEOUT_MS / 1000)
        expect(item).to_have_attribute("data-enabled", "false")
    expect(item.locator(".log tbody tr").first).to_have_attribute("data-outcome", "disabled")
    assert "410 Gone" in item.locator(".hook-facts").inner_text()
    assert item.get_by_role("button", name="Enable").is_visible()


def test_the_keyboard_alone_registers_chooses_events_and_deletes(page, web_api, owner):
    page.open()
    page.sign_in(owner)
    page.locator("#open-webhooks").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#webhooks")).to_be_visible()
    assert page.evaluate("() => document.activeElement.id") == "webhooks-title"
    assert page.locator("#open-webhooks").get_attribute("aria-expanded") == "true"
    while page.evaluate("() => document.activeElement.id") != "hook-url":
        page.keyboard.press("Tab")
    page.keyboard.type("http://127.0.0.1:9/hook")
    page.keyboard.press("Tab")  # the first event's box: image.ready
    page.keyboard.press("Space")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # submits the form
    expect(page.locator("#hook-secret")).to_be_visible()
    assert page.evaluate("() => document.activeElement.id") == "hook-secret-value"
    [listed] = web_api("GET", "/webhooks", params={"user_id": owner}).json()["webhooks"]
    assert listed["events"] == [t for t in IMAGE_TYPES if t != "image.ready"]

    item = page.locator("#hooks li[data-webhook-id]")
    item.get_by_role("button", name="Disable").focus()
    page.keyboard.press("Enter")
    expect(item).to_have_attribute("data-enabled", "false")
    assert page.evaluate("() => document.activeElement.textContent") == "Enable"  # the focus stays put
    item.get_by_role("button", name="Delete…").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.textContent") == "Keep it"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # Yes, delete it
    expect(item).to_have_count(0)
    assert page.evaluate("() => document.activeElement.id") == "hooks-state"
    page.locator("#webhooks-close").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#webhooks")).to_be_hidden()
    assert page.evaluate("() => document.activeElement.id") == "open-webhooks"


def test_the_panel_fits_a_phone(phone390, owner):
    page = phone390
    open_panel(page, owner)
    # Nothing listens on port 9: the test's attempts fail with an error, the log's longest lines.
    item = register(page, "http://127.0.0.1:9/a-rather-long-path/for-a-receiver/that-is-not-there?with=query")
    item.get_by_role("button", name="Send test").click()
    expect(item.locator(".log tbody tr").first).to_have_attribute("data-outcome", re.compile("retrying|dead"))
    assert "connection refused" in item.locator(".log tbody tr").first.inner_text()
    widths = page.evaluate(
        """() => ({page: document.documentElement.scrollWidth,
                   right: Math.max(...[...document.querySelectorAll('#webhooks *, .bar *')]
                                   .map(e => e.getBoundingClientRect().right))})"""
    )
    assert widths["page"] <= 390 and widths["right"] <= 390, widths
    assert violations(page) == [], "the panel on a phone"
    shot(page, "webhooks-phone.png")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot_to("webhooks-phone-top.png")


def test_with_tokens_the_owner_is_the_caller_and_a_new_session_sees_only_its_own(token_page, token_stack):
    import requests

    alice, bob = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("alice", "bob"))
    tokens = {name: issue_token(name, token_stack.token_secret) for name in (alice, bob)}
    theirs = requests.post(
        f"{token_stack.api_url}/webhooks",
        json={"url": "http://127.0.0.1:9/bob"},
        headers={"Authorization": f"Bearer {tokens[bob]}"},
        timeout=30,
    )
    assert theirs.status_code == 201, theirs.text
    page = token_page
    page.open()
    page.sign_in(tokens[alice])
    page.get_by_role("button", name="Webhooks", exact=True).click()
    expect(page.locator("#hooks-state")).to_have_text("No webhooks yet.")
    register(page, "http://127.0.0.1:9/alice")
    [mine] = requests.get(
        f"{token_stack.api_url}/webhooks", headers={"Authorization": f"Bearer {tokens[alice]}"}, timeout=30
    ).json()["webhooks"]
    assert mine["owner"] == alice and mine["url"] == "http://127.0.0.1:9/alice"

    page.get_by_role("button", name="Sign out").click()
    page.sign_in(tokens[bob])
    assert page.locator("#webhooks").is_hidden()  # closed, the last session's secret gone with it
    assert page.locator("#hook-secret-value").input_value() == ""
    page.get_by_role("button", name="Webhooks", exact=True).click()
    expect(page.locator("#hooks-state")).to_have_text("1 webhook.")
    assert page.locator("#hooks .hook-url").all_inner_texts() == ["http://127.0.0.1:9/bob"]
