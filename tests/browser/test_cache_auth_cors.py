"""The web app in Chromium: a reload within the URL window downloads no image
again; token sign-in shows only the caller's images; the bucket answers a
presigned POST from the app's origin and refuses another origin."""

from __future__ import annotations

import http.server
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from chalicelib.auth import issue_token
from tests.browser.conftest import MARKS, picture, ready_pictures, save_json

pytestmark = MARKS


class NetworkLog:
    """Chromium's own network log (the DevTools protocol), request by request:
    what was fetched and what the cache answered. (The Performance API cannot
    tell: a cross-origin image without Timing-Allow-Origin, which S3 does not
    send, reports transferSize 0 whether cached or not.)"""

    def __init__(self, page):
        self.requests: dict[str, dict] = {}
        cdp = page.context.new_cdp_session(page.page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", lambda p: self._entry(p)["cache"].append("served"))
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", lambda p: self._entry(p).update(bytes=p["encodedDataLength"]))
        cdp.send("Network.enable")

    def _entry(self, params) -> dict:
        return self.requests.setdefault(params["requestId"], {"url": None, "cache": [], "status": None, "bytes": None})

    def _sent(self, params):
        entry = self._entry(params)
        if entry["url"] is not None:  # a redirect reuses the id: keep the last hop
            entry.update(cache=[], status=None, bytes=None)
        entry["url"] = params["request"]["url"]

    def _received(self, params):
        response = self._entry(params)
        response["status"] = params["response"]["status"]
        for flag in ("fromDiskCache", "fromMemoryCache", "fromPrefetchCache"):
            if params["response"].get(flag):
                response["cache"].append(flag)

    def take(self) -> list[dict]:
        taken = [r for r in self.requests.values() if r["url"]]
        self.requests = {}
        return taken


def _stay_inside_one_window(seconds_needed: int = 60) -> None:
    """The test compares two loads in one URL window: start it early enough in one."""
    from chalicelib import config

    window = config.Settings(bucket="b", table="t", signing_secret="s").url_window
    left = window - time.time() % window
    if left < seconds_needed:
        time.sleep(left + 1)


def _rendition(url: str) -> bool:
    """A rendition URL (docs/delivery.md): what the gallery's tiles show."""
    return urlsplit(url).path.startswith("/r/")


def test_a_reload_within_the_window_downloads_no_thumbnail_again(page, web_api, stack, owner):
    ready_pictures(web_api, owner, {f"c{n}.jpg": 40 + n for n in range(4)})
    _stay_inside_one_window()

    network = NetworkLog(page)
    page.open()
    page.sign_in(owner)
    page.wait_thumbnails(4)
    thumbs = page.locator("#gallery img").evaluate_all("is => is.map(i => i.currentSrc)")
    first = network.take()
    fetched = [r for r in first if _rendition(r["url"])]
    assert sorted(r["url"] for r in fetched) == sorted(thumbs)
    assert all(r["cache"] == [] and r["status"] == 200 and r["bytes"] > 1000 for r in fetched), fetched
    # The whole gallery costs one API call (the list), whatever the number of tiles.
    assert [r["url"].split("?")[0] for r in first if "/images" in r["url"] and r not in fetched] == [
        f"{stack.api_url}/images"
    ]

    page.reload()
    page.locator("#workspace").wait_for()  # the user name is remembered: no sign-in again
    page.wait_thumbnails(4)
    assert page.locator("#gallery img").evaluate_all("is => is.map(i => i.currentSrc)") == thumbs  # the same URLs
    again = network.take()
    cached = [r for r in again if _rendition(r["url"])]
    assert sorted(r["url"] for r in cached) == sorted(thumbs)
    assert all(r["cache"] and r["bytes"] == 0 for r in cached), cached  # every thumbnail from the browser's cache

    def summary(log):
        return {
            "requests": len(log),
            "to_the_api_and_app": sum(1 for r in log if not _rendition(r["url"])),
            "image_requests": sum(1 for r in log if _rendition(r["url"])),
            "answered_by_the_cache": sum(1 for r in log if r["cache"]),
            "not_modified_304": sum(1 for r in log if r["status"] == 304),
            "bytes_over_the_network": sum(r["bytes"] or 0 for r in log if not r["cache"]),
            "log": [{k: r[k] for k in ("url", "status", "cache", "bytes")} for r in log],
        }

    save_json("requests.json", {"gallery_view": summary(first), "reload": summary(again)})


def test_a_picture_uploaded_again_under_its_key_is_shown_new_at_once_not_from_the_cache(
    page, web_api, stack, owner
):
    """The same key, the same image id and the same variant keys, but new bytes: the
    record's change gives the thumbnail a new URL, so the browser fetches it instead of
    showing its cached copy of the old picture for the rest of the URL window."""
    from chalicelib.domain import keys

    _stay_inside_one_window()
    s3 = stack.client("s3")
    key = f"uploads/{owner}/avatar.jpg"
    image_id = keys.image_id_for_object(stack.bucket, key)
    s3.put_object(Bucket=stack.bucket, Key=key, Body=picture(11), ContentType="image/jpeg")
    first = web_api.wait_for([image_id])[image_id]

    network = NetworkLog(page)
    page.open()
    page.sign_in(owner)
    page.wait_thumbnails(1)
    [old_src] = page.locator("#gallery img").evaluate_all("is => is.map(i => i.currentSrc)")
    network.take()

    s3.put_object(Bucket=stack.bucket, Key=key, Body=picture(12), ContentType="image/jpeg")
    deadline = time.monotonic() + 60
    while (record := web_api.record(image_id))["sha256"] == first["sha256"] or record["status"] != "ready":
        assert time.monotonic() < deadline, f"the new picture never became ready: {record['status']}"
        time.sleep(0.2)
    assert record["variants"]["thumb"]["key"] == first["variants"]["thumb"]["key"]  # the same object key

    page.reload()
    page.locator("#workspace").wait_for()
    page.wait_thumbnails(1)
    [new_src] = page.locator("#gallery img").evaluate_all("is => is.map(i => i.currentSrc)")
    assert new_src != old_src
    [fetched] = [r for r in network.take() if r["url"] == new_src]
    assert fetched["cache"] == [] and fetched["status"] == 200 and fetched["bytes"] > 1000, fetched
    # And what it fetched is the new picture: the old version's URL still serves the old one.
    assert requests.get(new_src, timeout=30).content != requests.get(old_src, timeout=30).content


def test_token_sign_in_shows_only_the_callers_images(token_page, token_stack):
    secret = token_stack.token_secret
    alice, bob = issue_token("alice", secret), issue_token("bob", secret)
    made = {}
    for name, token in (("alice", alice), ("bob", bob)):
        reply = requests.post(
            f"{token_stack.api_url}/images",
            params={"filename": f"{name}.jpg"},
            data=picture(60),
            headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert reply.status_code == 201, reply.text
        made[name] = reply.json()["image_id"]

    page = token_page
    page.open()
    assert page.locator("#signin-label").inner_text() == "Bearer token"
    page.locator("#signin-value").fill("not a token at all")
    page.get_by_role("button", name="Sign in").click()
    page.locator("#errors .error").filter(has_text="does not look like a bearer token").wait_for()
    assert page.locator("#workspace").is_hidden()

    # A forged token: the API refuses it, the page says why and asks again.
    forged = issue_token("bob", "not-the-secret-but-as-long-as-one-" + "x" * 16)
    page.locator("#signin-value").fill(forged)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#errors .error").filter(has_text="the token is not valid").wait_for()
    page.locator("#signin").wait_for(state="visible")

    page.sign_in(bob)
    page.tile(made["bob"]).wait_for()
    page.locator("#gallery-state").filter(has_text="shown").wait_for()
    assert page.tile_ids() == [made["bob"]]
    assert page.tile(made["alice"]).count() == 0
    assert page.locator("#who-name").inner_text() == "Signed in as bob"
    assert page.locator("#owner-filter").is_hidden()  # not an admin

    # An admin sees everyone's images, and may filter by owner.
    page.get_by_role("button", name="Sign out").click()
    page.sign_in(issue_token("root", secret, admin=True))
    page.tile(made["alice"]).wait_for()
    page.tile(made["bob"]).wait_for()
    assert page.locator("#who-name").inner_text() == "Signed in as root (admin)"
    page.get_by_role("textbox", name="Owner").fill("alice")
    page.get_by_role("button", name="Apply filters").click()
    page.tile(made["bob"]).wait_for(state="detached")
    page.locator("#gallery-state").filter(has_text="shown").wait_for()
    assert set(page.tile_ids()) >= {made["alice"]} and made["bob"] not in page.tile_ids()


class _ForeignPage(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>another site</title><p>another site"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def foreign_origin():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ForeignPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


POST_FROM_PAGE = """async (upload) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
    form.append("file", new Blob([new Uint8Array(upload.bytes)], {type: "image/jpeg"}), "x.jpg");
    try {
        const reply = await fetch(upload.url, {method: "POST", body: form});
        return {ok: true, status: reply.status, allow: reply.headers.get("access-control-allow-origin")};
    } catch (err) {
        return {ok: false, error: String(err)};
    }
}"""


def test_the_bucket_takes_a_presigned_post_from_the_apps_origin_only(page, web_api, stack, owner, foreign_origin):
    s3 = stack.client("s3")
    data = picture(70)

    def presign(name):
        answer = web_api(
            "POST",
            "/uploads",
            json={"user_id": owner, "filename": name, "content_type": "image/jpeg", "size_bytes": len(data)},
        ).json()
        return answer, {**answer["upload"], "bytes": list(data)}

    page.open()
    mine, form = presign("allowed.jpg")
    allowed = page.evaluate(POST_FROM_PAGE, form)
    assert allowed == {"ok": True, "status": 204, "allow": None}  # read: allowed (the header is not exposed to scripts)

    theirs, form = presign("refused.jpg")
    page.goto(foreign_origin)
    refused = page.evaluate(POST_FROM_PAGE, form)
    assert refused["ok"] is False and "Failed to fetch" in refused["error"]
    # S3 stores it all the same: CORS only stops the page reading the answer.
    key = theirs["upload"]["fields"]["key"]
    assert s3.head_object(Bucket=stack.bucket, Key=key)["ContentLength"] == len(data)
    web_api.wait_for([mine["image_id"], theirs["image_id"]])
