"""What a gallery tile downloads, at desktop and phone pixel densities: the srcset candidate
its laid-out size calls for (issue 19's "about 2x the tile's CSS pixels at DPR 2"), in the
format the browser reads best (issue 17's "a phone downloads a phone-sized WebP or AVIF").
The byte figures themselves come from bench/gallery.py, in docs/web-app.md."""

from __future__ import annotations

import pytest

from tests.browser.conftest import MARKS, _page, picture
from tests.browser.test_shown_truthfully import upload

pytestmark = MARKS

LOADED = "() => [...document.querySelectorAll('#gallery .tile img')].every(i => !i.currentSrc || i.complete)"
# Each tile that shows a thumbnail: its laid-out width, what it shows, and its candidates.
TILES = """() => [...document.querySelectorAll('#gallery .tile')]
  .filter(t => t.querySelector('img').currentSrc)
  .map(t => { const i = t.querySelector('img'); return {
    id: t.dataset.imageId, css: i.getBoundingClientRect().width, src: i.currentSrc,
    candidates: i.srcset.split(', ').map(c => { const [u, w] = c.split(' ');
      return [new URL(u, location.href).href, parseInt(w)]; }) }; })"""


@pytest.fixture(
    params=[
        ("desktop", {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 2}),
        (
            "phone",
            {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True},
        ),
    ],
    ids=lambda p: p[0],
)
def dense(request, browser, stack):
    """A page at that density, and the density."""
    pages = _page(browser, stack.app_url, **request.param[1])
    yield request.param[1]["device_scale_factor"], next(pages)
    next(pages, None)  # closes it, and asserts the page saw no error


def test_each_tile_downloads_the_smallest_candidate_that_fills_its_pixels_as_avif(dense, web_api, owner):
    dpr, page = dense
    ids = [upload(web_api, owner, f"wide-{n}.jpg", picture(300 + n, size=(1600, 1200))) for n in range(6)]
    web_api.wait_for(ids)
    answers, failed = {}, []
    page.on("response", lambda r: answers.__setitem__(r.url, r) if "/r/" in r.url else None)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.open()
    page.sign_in(owner)
    page.wait_thumbnails(1)
    page.wait_for_function(LOADED)
    tiles = page.evaluate(TILES)
    assert tiles, "no tile showed a thumbnail"
    for tile in tiles:
        widths = dict(tile["candidates"])
        needed = tile["css"] * dpr
        # The browser's pick: the narrowest candidate at least as wide as the tile's device pixels.
        assert widths[tile["src"]] == min(w for w in widths.values() if w >= needed), tile
        assert widths[tile["src"]] <= 1.25 * needed  # the ladder has a rung close above every tile size
        answer = answers[tile["src"]]
        assert answer.status == 200 and answer.headers["content-type"] == "image/avif"  # Chromium's Accept
    assert failed == [] and all(a.status < 400 for a in answers.values())
    chosen = sorted({dict(t["candidates"])[t["src"]] for t in tiles})
    print(f"DPR {dpr}: tiles of {tiles[0]['css']:.0f} CSS px fetched {chosen} px")
