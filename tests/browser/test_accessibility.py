"""axe-core (npm, a dev dependency: never served by the app) on each view of the
web app, at desktop and phone sizes: no serious or critical violation."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import MARKS, ready_pictures
from tests.browser.test_shown_truthfully import red_circle, upload

pytestmark = MARKS

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def violations(page) -> list[dict]:
    """Serious and critical ones, each with its rule and the elements it names."""
    assert AXE.exists(), f"{AXE} is missing: `make test` runs npm ci (package.json's devDependencies)"
    # Evaluated through the DevTools protocol: the page's CSP (script-src 'self') stays as it is.
    page.evaluate(AXE.read_text() + "\n;0")
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
             .filter(v => v.impact === "serious" || v.impact === "critical")
             .map(v => ({rule: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))"""
    )
    return found


def test_each_view_has_no_serious_or_critical_violation(page, web_api, owner):
    page.open()
    assert violations(page) == [], "sign-in"
    # The check can fail: a button with no name is a critical violation.
    page.evaluate("() => document.body.append(Object.assign(document.createElement('button'), {id: 'x'}))")
    assert [v["rule"] for v in violations(page)] == ["button-name"]
    page.evaluate("() => document.getElementById('x').remove()")
    ready_pictures(web_api, owner, {"axe.jpg": 140, "axe2.jpg": 141}, title="Checked")
    logo = upload(web_api, owner, "logo.png", red_circle(), "image/png")
    rejected = upload(web_api, owner, "fake.jpg", b"\xff\xd8\xff" + b"nope\n" * 50)
    web_api.wait_for([logo, rejected])
    page.sign_in(owner)
    page.wait_thumbnails(3)
    assert violations(page) == [], "gallery"
    page.locator("#gallery .pick").first.click()
    assert violations(page) == [], "gallery with a selection"
    page.keyboard.press("Escape")
    page.tile(logo).get_by_role("button").click()
    page.get_by_role("dialog").wait_for()
    assert violations(page) == [], "detail"
    page.get_by_role("dialog").get_by_role("button", name="Delete…").click()
    assert violations(page) == [], "detail, delete confirmation"
    page.keyboard.press("Escape")
    page.tile(rejected).get_by_role("button").click()
    page.locator("#figure-note").wait_for()
    assert violations(page) == [], "rejected detail"


def test_the_phone_layout_has_no_serious_or_critical_violation(phone, web_api, owner):
    ready_pictures(web_api, owner, {"axe-phone.jpg": 150})
    phone.open()
    phone.sign_in(owner)
    phone.wait_thumbnails(1)
    assert violations(phone) == [], "phone gallery"
    phone.locator("#gallery .tile button").first.click()
    phone.get_by_role("dialog").wait_for()
    assert violations(phone) == [], "phone detail"
