"""Delivery over real HTTP against the local stack (`make run`'s): the srcset URLs a record
hands out, fetched as Chromium, Safari and a client that reads neither WebP nor AVIF."""
from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

pytestmark = pytest.mark.slow

CHROMIUM = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI = ("image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
          "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5")
PLAIN = "image/png,image/*;q=0.8,*/*;q=0.5"


def _ready(api, owner, photo) -> dict:
    reply = api("POST", "/images", json={"image_data": base64.b64encode(photo).decode(), "user_id": owner})
    assert reply.status_code == 201, reply.text
    image_id = reply.json()["image_id"]
    api.wait_for([image_id])
    return api.record(image_id)


def _candidates(record) -> list[tuple[str, int]]:
    return [(url, int(w[:-1])) for url, w in (c.strip().split(" ") for c in record["delivery"]["srcset"].split(","))]


@pytest.mark.parametrize(("accept", "content_type"), [(CHROMIUM, "image/avif"), (SAFARI, "image/avif"),
                                                      (PLAIN, "image/jpeg")])
def test_srcset_urls_serve_each_browser_the_format_it_reads(api, http, owner, photo, accept, content_type):
    record = _ready(api, owner, photo)
    candidates = _candidates(record)
    assert [w for _, w in candidates] == [256, 320, 384, 480, 640, 750, 828, 1080, 1200]  # the photo is 1200 px wide
    for url, width in candidates:
        first = http.get(api.base + url, headers={"Accept": accept}, timeout=60)
        assert first.status_code == 200, (url, first.text[:200])
        assert first.headers["Content-Type"] == content_type and "Accept" in first.headers["Vary"]
        image = Image.open(io.BytesIO(first.content))
        assert Image.MIME[image.format] == content_type and image.width == width
        again = http.get(api.base + url, headers={"Accept": accept}, timeout=60)
        assert again.content == first.content
        head = http.head(api.base + url, headers={"Accept": accept}, timeout=60)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Type"] == content_type


def test_a_tampered_url_is_403_and_every_url_is_404_after_delete(api, http, owner, photo):
    record = _ready(api, owner, photo)
    url = api.base + record["delivery"]["src"]
    assert http.get(url.replace("w1080", "w1079"), headers={"Accept": PLAIN}, timeout=30).status_code == 403
    assert http.get(url, headers={"Accept": PLAIN}, timeout=60).status_code == 200
    assert api("DELETE", f"/images/{record['image_id']}").status_code == 200
    for candidate, _ in _candidates(record):
        assert http.get(api.base + candidate, headers={"Accept": PLAIN}, timeout=30).status_code == 404, candidate


def test_the_file_redirect_answers_head_and_says_no_json(api, http, owner, photo):
    record = _ready(api, owner, photo)
    for method in ("GET", "HEAD"):
        reply = http.request(method, f"{api.base}/images/{record['image_id']}/file?variant=thumb",
                             allow_redirects=False, timeout=30)
        assert reply.status_code == 302, method
        assert not reply.headers["Content-Type"].startswith("application/json") and reply.content == b""
