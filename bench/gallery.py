"""What the web app's gallery downloads and how it scrolls, in Chromium over a local stack.

    .venv/bin/python bench/gallery.py [--images 200] [--first 50]

One local stack (what `make run` runs) with two galleries: `first` images of 1600 x 1200 for
the first view, and `images` for scrolling. Chromium (Debian's, headless) opens each at
1280 x 800 with DPR 2 and at 390 x 844 with DPR 3 and reads the bytes from its own network
log (Resource Timing's encodedBodySize, every entry under `/r/`):

- *first view*: the thumbnails fetched before any scrolling, the width each tile chose
  against its CSS width, and their bytes, beside what the same tiles would cost as the
  `thumb` or `medium` variant (their bytes from the records, for the same tiles);
- *scroll*: the whole 200-image gallery scrolled to its end and back at 2,000 CSS px/s,
  every animation frame's interval (requestAnimationFrame), the long tasks the page saw,
  and the thumbnails fetched; then the same once every thumbnail has loaded, the baseline
  (what scrolling costs this machine at that moment, with nothing to fetch or decode).

A benchmark, not a test: frame times depend on the machine (headless, no GPU) and what else
runs on it. The layout rules it relies on are tested in tests/browser/test_gallery_bytes.py.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.background import BackgroundStack  # noqa: E402
from tests.browser.conftest import CHROMIUM, FLAGS  # noqa: E402  (the flags that work here)

VIEWS = {
    "desktop 1280x800 @2x": {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 2},
    "phone 390x844 @3x": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    },
}

# Every tile that fetched its thumbnail, with what it chose: reads the page's own state, nothing it computes itself.
TILES_IN_VIEW = """() => [...document.querySelectorAll('#gallery .tile')]
  .filter(t => t.querySelector('img').currentSrc)
  .map(t => { const i = t.querySelector('img'); return {
    id: t.dataset.imageId, css: t.getBoundingClientRect().width, src: i.currentSrc,
    srcset: i.srcset.split(', ').map(c => { const [u, w] = c.split(' ');
      return new URL(u, location.href).href + ' ' + w; }).join(', ') }; })"""
RENDITION_BYTES = """() => performance.getEntriesByType('resource')
  .filter(e => e.name.includes('/r/')).map(e => ({ url: e.name, bytes: e.encodedBodySize }))"""
SCROLL = """async (speed) => {
  const frames = [], longTasks = [];
  new PerformanceObserver(l => l.getEntries().forEach(e => longTasks.push(e.duration)))
    .observe({ type: 'longtask', buffered: false });
  const end = document.scrollingElement.scrollHeight - innerHeight;
  const run = (from, to) => new Promise(done => {
    let last = performance.now(), y = from;
    const step = now => {
      frames.push(now - last);
      y += Math.sign(to - from) * speed * (now - last) / 1000; last = now;
      scrollTo(0, y);
      if ((to - y) * Math.sign(to - from) > 0) requestAnimationFrame(step); else done();
    };
    requestAnimationFrame(step);
  });
  await run(0, end); await run(end, 0);
  return { frames: frames.slice(1), longTasks, height: end };
}"""


def photo(seed: int, size=(1600, 1200)) -> bytes:
    """A photo-like JPEG: blurred shapes and noise, seeded, so every run has the same bytes."""
    image = Image.effect_noise(size, 40 + seed % 20).convert("RGB")
    draw = ImageDraw.Draw(image)
    for n in range(12):
        x, y = (seed * 97 + n * 131) % size[0], (seed * 53 + n * 71) % size[1]
        draw.ellipse((x - 200, y - 150, x + 200, y + 150), fill=((seed * 40 + n * 20) % 255, n * 20, 255 - n * 20))
    out = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(2)).save(out, "JPEG", quality=88)
    return out.getvalue()


def upload(api: str, owner: str, count: int) -> list[dict]:
    ids = []
    with requests.Session() as http:
        for n in range(count):
            reply = http.post(
                f"{api}/images",
                params={"user_id": owner, "filename": f"photo-{n:03}.jpg"},
                headers={"Content-Type": "image/jpeg"},
                data=photo(n),
                timeout=60,
            )
            reply.raise_for_status()
            ids.append(reply.json()["image_id"])
        deadline = time.time() + 600
        while True:
            records = {i["image_id"]: i for page in _pages(http, api, owner) for i in page}
            if all(records.get(i, {}).get("status") == "ready" for i in ids):
                return [records[i] for i in ids]
            if time.time() > deadline:
                raise SystemExit(f"{owner}: not every image became ready in 10 minutes")
            time.sleep(2)


def _pages(http, api: str, owner: str):
    token = ""
    while True:
        params = {"user_id": owner, "limit": 100, **({"next_token": token} if token else {})}
        page = http.get(f"{api}/images", params=params, timeout=60).json()
        yield page["images"]
        token = page.get("next_token") or ""
        if not token:
            return


def _width_of(tile: dict) -> int:
    """The width descriptor of the candidate the tile shows."""
    for candidate in tile["srcset"].split(", "):
        url, descriptor = candidate.split()
        if url == tile["src"]:
            return int(descriptor[:-1])
    raise ValueError(f"{tile['src']} is not in its srcset")


def _open(browser, app: str, owner: str, options: dict, query: str = ""):
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(app + query)
    page.locator("#starting").wait_for(state="hidden")
    page.locator("#signin-value").fill(owner)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#gallery .tile").first.wait_for()
    return context, page


ALL_LOADED = "() => [...document.querySelectorAll('#gallery .tile img')].every(i => !i.currentSrc || i.complete)"


def first_view(browser, app: str, owner: str, records: dict[str, dict], options: dict) -> dict:
    context, page = _open(browser, app, owner, options)
    page.wait_for_function("() => document.querySelectorAll('#gallery .tile.loaded').length >= 6")
    page.wait_for_load_state("networkidle")
    page.wait_for_function(ALL_LOADED)
    tiles = page.evaluate(TILES_IN_VIEW)
    fetched = page.evaluate(RENDITION_BYTES)
    dpr = options["device_scale_factor"]
    context.close()
    return {
        "tiles": len(records),
        "tiles with a thumbnail": len(tiles),
        "thumbnails fetched": len(fetched),
        "tile CSS px": round(statistics.median(t["css"] for t in tiles)),
        "chosen width": sorted({_width_of(t) for t in tiles}),
        "chosen / (CSS x DPR)": round(max(_width_of(t) / (t["css"] * dpr) for t in tiles), 2),
        "KB fetched": round(sum(f["bytes"] for f in fetched) / 1024, 1),
        "KB as thumb": round(sum(records[t["id"]]["variants"]["thumb"]["size_bytes"] for t in tiles) / 1024, 1),
        "KB as medium": round(sum(records[t["id"]]["variants"]["medium"]["size_bytes"] for t in tiles) / 1024, 1),
    }


def _every_page(page, count: int) -> None:
    """Scrolls down until every tile is listed and every thumbnail has loaded."""
    y = 0
    while page.locator("#gallery .tile").count() < count or y < page.evaluate("document.scrollingElement.scrollHeight"):
        y += 400
        page.evaluate(f"scrollTo(0, {y})")
        page.wait_for_function(ALL_LOADED)
    page.evaluate("scrollTo(0, 0)")


def scroll(browser, app: str, owner: str, count: int, options: dict, speed: int) -> dict:
    # Once to store every rendition the tiles ask for (a CDN's cache, warm), then measured in
    # a fresh context (an empty browser cache): the frames are the page's, not the renderer's.
    context, page = _open(browser, app, owner, options, "?page_size=100")
    _every_page(page, count)
    context.close()
    context, page = _open(browser, app, owner, options, "?page_size=100")
    while page.locator("#gallery .tile").count() < count:
        page.evaluate("() => scrollTo(0, document.scrollingElement.scrollHeight)")
        page.wait_for_timeout(300)
    page.evaluate("() => scrollTo(0, 0)")
    page.wait_for_load_state("networkidle")
    page.wait_for_function(ALL_LOADED)
    load = os.getloadavg()[0]
    loading = page.evaluate(SCROLL, speed)
    page.wait_for_load_state("networkidle")
    page.wait_for_function(ALL_LOADED)
    fetched = page.evaluate(RENDITION_BYTES)
    # The same page scrolled again, every thumbnail on it loaded: what scrolling costs without
    # fetching and decoding, on this machine at this moment (the baseline of the row above).
    _every_page(page, count)
    loaded = page.evaluate(SCROLL, speed)
    context.close()
    figures = {"load average (1 min)": round(load, 1), "scrolled px": loading["height"] * 2}
    for name, measured in (("loading", loading), ("all loaded", loaded)):
        frames = sorted(measured["frames"])
        figures |= {
            f"{name}: frames": len(frames),
            f"{name}: frame ms p50": round(statistics.median(frames), 1),
            f"{name}: frame ms p95": round(frames[int(len(frames) * 0.95)], 1),
            f"{name}: frames over 50 ms": sum(f > 50 for f in frames),
            f"{name}: long tasks": len(measured["longTasks"]),
        }
    return figures | {
        "thumbnails fetched": len(fetched),
        "KB fetched": round(sum(f["bytes"] for f in fetched) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200, help="images in the scrolled gallery")
    parser.add_argument("--first", type=int, default=50, help="images in the first-view gallery")
    parser.add_argument("--speed", type=int, default=2000, help="scroll speed, CSS px/s")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    log = Path(tempfile.mkdtemp(prefix="bench-gallery-")) / "stack.log"
    with BackgroundStack(log) as stack:
        small, large = f"bench-{uuid.uuid4().hex[:6]}", f"bench-{uuid.uuid4().hex[:6]}"
        print(f"uploading {args.first} + {args.images} images of 1600 x 1200 to {stack.api_url} ...", flush=True)
        records = {r["image_id"]: r for r in upload(stack.api_url, small, args.first)}
        upload(stack.api_url, large, args.images)
        results: dict = {"first view": {}, "scroll": {}}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for name, options in VIEWS.items():
                results["first view"][name] = first_view(browser, stack.app_url, small, records, options)
                results["scroll"][name] = scroll(browser, stack.app_url, large, args.images, options, args.speed)
            browser.close()
    for part, views in results.items():
        print(f"\n{part} ({args.first if part == 'first view' else args.images} images)")
        rows = list(next(iter(views.values())))
        print(f"| | {' | '.join(views)} |\n|---|{'---|' * len(views)}")
        for row in rows:
            print(f"| {row} | {' | '.join(str(v[row]) for v in views.values())} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
