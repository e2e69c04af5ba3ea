"""A real browser over the local stack: Debian's Chromium driven by Playwright
for Python (never `playwright install`: the Makefile installs `chromium` with
apt-get). One browser per test process, a fresh context (profile) per test,
the stacks shared with the integration tests (tests/stacks.py)."""

from __future__ import annotations

import io
import json
import shutil
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import Api

CHROMIUM = "/usr/bin/chromium"
# What Chromium needs here: no sandbox as root, no GPU, and nothing that
# reaches for hosts this machine cannot reach (shared/notes/browser.md).
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 45_000  # an image may take this long to settle on a loaded 2-core machine


# Each test module: one worker runs them all (`--dist loadgroup`), so one
# browser, and the token stack started once.
MARKS = [pytest.mark.xdist_group("browser"), pytest.mark.slow]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


class Page:
    """A page of the web app, with what the tests keep asking of it."""

    def __init__(self, page, app_url: str):
        self.page = page
        self.app_url = app_url
        self.errors: list[str] = []  # uncaught exceptions in the page, and anything the CSP refused
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._console)
        page.set_default_timeout(TIMEOUT_MS)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def __getattr__(self, name):
        return getattr(self.page, name)

    def open(self, query: str = "") -> None:
        self.page.goto(self.app_url + query)
        self.page.locator("#starting").wait_for(state="hidden")

    def sign_in(self, value: str) -> None:
        self.page.locator("#signin-value").fill(value)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.locator("#workspace").wait_for()

    def tile(self, image_id: str):
        return self.page.locator(f'#gallery [data-image-id="{image_id}"]')

    def tile_ids(self) -> list[str]:
        return self.page.locator("#gallery [data-image-id]").evaluate_all("els => els.map(e => e.dataset.imageId)")

    def error_texts(self) -> list[str]:
        return self.page.locator("#errors .error span").all_inner_texts()

    def wait_thumbnails(self, count: int) -> None:
        """Until `count` tiles show a loaded thumbnail."""
        self.page.wait_for_function(
            "n => [...document.querySelectorAll('#gallery .tile img')]"
            ".filter(i => i.complete && i.naturalWidth > 0).length >= n",
            arg=count,
        )

    def screenshot_to(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.evaluate("() => document.activeElement && document.activeElement.blur()")
        self.page.screenshot(path=str(path), full_page=False)
        return path


def _page(browser, app_url: str, **context_options):
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 860}, **context_options})
    page = Page(context.new_page(), app_url)
    yield page
    context.close()
    assert page.errors == [], f"uncaught errors or CSP refusals in the page: {page.errors}"


@pytest.fixture
def page(browser, stack):
    yield from _page(browser, stack.app_url)


@pytest.fixture
def phone(browser, stack):
    yield from _page(browser, stack.app_url, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)


@pytest.fixture
def phone390(browser, stack):
    """The phone size issue 19 was tried at."""
    yield from _page(browser, stack.app_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)


@pytest.fixture
def token_page(browser, token_stack):
    yield from _page(browser, token_stack.app_url)


@pytest.fixture(scope="session")
def web_api(stack):
    import requests

    with requests.Session() as session:
        yield Api(session, stack.api_url)


@pytest.fixture
def owner() -> str:
    return f"web-{uuid.uuid4().hex[:10]}"


def picture(seed: int, size=(480, 320), fmt="JPEG") -> bytes:
    """A gradient with a shape, different for each seed: gives real BlurHashes and thumbnails."""
    from PIL import Image, ImageDraw

    hue = (seed * 47) % 255
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    tint = Image.new("RGB", size, ((hue * 3) % 255, (hue * 7 + 60) % 255, (255 - hue) % 255))
    image = Image.blend(base, tint, 0.6)
    draw = ImageDraw.Draw(image)
    x, y = (seed * 53) % (size[0] // 2), (seed * 31) % (size[1] // 2)
    draw.ellipse([x, y, x + size[0] // 2, y + size[1] // 2], fill=((hue + 128) % 255, 200, hue))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def ready_pictures(web_api, owner: str, seeds: dict[str, int], **params) -> list[str]:
    """Upload one `picture(seed)` per filename through the API as raw bytes; their ids, once settled."""
    ids = []
    for filename, seed in seeds.items():
        reply = web_api(
            "POST",
            "/images",
            params={"user_id": owner, "filename": filename, **params},
            headers={"Content-Type": "image/jpeg"},
            data=picture(seed),
        )
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["image_id"])
    web_api.wait_for(ids)
    return ids


def save_json(name: str, data) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_text(json.dumps(data, indent=2))
