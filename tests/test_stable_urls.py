"""Stable image URLs: signed at the start of the URL window, so a reload within
the window gets byte-identical URLs and the browser's cache answers."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest

from chalicelib.adapters.blobs import BlobStore
from chalicelib.adapters.presigning import Window, cache_control
from chalicelib.adapters.store import ImageStore
from chalicelib.config import URL_REVISION_SPREAD as REVISION_SPREAD
from tests.conftest import BUCKET, TABLE
from tests.test_api import ready, upload

JSON = {"Content-Type": "application/json"}

W = 900
TTL = 3600
START = 1_800_000_000 - 1_800_000_000 % W  # a window boundary


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def amz_date(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


def amz_iso(epoch: int) -> str:
    """`epoch` as the records write their timestamps."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_window_boundaries():
    assert Window(W, START).start == START and Window(W, START).end == START + W
    assert Window(W, START + W - 0.001).start == START  # the last instant still belongs to it
    assert Window(W, START + W).start == START + W  # the boundary opens the next one
    assert Window(W, START - 1).start == START - W
    assert Window(W, START + 5).url_lifetime(TTL) == W + TTL


def test_a_change_within_the_window_moves_the_signing_time_to_it_and_never_past_now():
    assert Window(W, START + 500).signed_at == START  # nothing changed: the window's start
    assert Window(W, START + 500, changed=START - 3).signed_at == START  # changed in an earlier window
    changed = Window(W, START + 500, changed=START + 200.7)
    assert changed.signed_at == START + 200  # SigV4 signs whole seconds
    assert changed.url_lifetime(TTL) == W - 200 + TTL  # still valid TTL after the window's end
    skewed = Window(W, START + 500, changed=START + 501.2)  # another machine's clock ran ahead
    assert skewed.signed_at == START + 500


def test_two_revisions_within_one_second_differ_in_their_expiry():
    one, two = (Window(W, START + 500, changed=START + 200.1, revision=r) for r in (6, 7))
    assert one.signed_at == two.signed_at == START + 200
    assert (one.url_lifetime(TTL), two.url_lifetime(TTL)) == (W - 200 + TTL + 6, W - 200 + TTL + 7)
    assert Window(W, START, revision=REVISION_SPREAD + 6).url_lifetime(TTL) == W + TTL + 6


def test_one_url_for_the_whole_window_and_a_new_one_after_it(aws):
    blobs = BlobStore(BUCKET)
    first = blobs.presign_get("processed/x/thumb.jpg", Window(W, START), TTL)
    last = blobs.presign_get("processed/x/thumb.jpg", Window(W, START + W - 1), TTL)
    later = blobs.presign_get("processed/x/thumb.jpg", Window(W, START + W), TTL)
    assert first == last
    assert later != first
    assert query(first)["X-Amz-Date"] == amz_date(START)
    assert query(later)["X-Amz-Date"] == amz_date(START + W)
    # Handed out at the last second of its window, the URL still has the TTL to run.
    assert query(last)["X-Amz-Expires"] == str(W + TTL)
    assert query(first)["X-Amz-Credential"].split("/")[1] == amz_date(START)[:8]


# Lambda's runtime has no awscrt; the dev requirements bring it (make deploy signs SigV4A with it),
# and with it botocore signs S3 with the CRT's signers instead. The window holds either way.
WINDOW_IN_A_CLEAN_INTERPRETER = """
import sys
if sys.argv[1] == "without":
    sys.modules["awscrt"] = None  # as on Lambda: importing it fails
import botocore.auth
from chalicelib.adapters.blobs import BlobStore
from chalicelib.adapters.presigning import Window
blobs = BlobStore("b")
urls = [blobs.presign_get("k", Window(900, s), 3600) for s in (%d, %d + 899, %d + 900)]
print(botocore.auth.HAS_CRT, urls[0] == urls[1], urls[1] != urls[2])
"""


@pytest.mark.parametrize(("crt", "has_crt"), [("with", "True"), ("without", "False")])
def test_the_window_holds_with_and_without_the_crt(crt, has_crt):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-1"}
    code = WINDOW_IN_A_CLEAN_INTERPRETER % (START, START, START)
    run = subprocess.run([sys.executable, "-c", code, crt], cwd=Path(__file__).resolve().parents[1], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.split() == [has_crt, "True", "True"], run.stderr


def test_other_keys_and_downloads_get_their_own_urls(aws):
    blobs = BlobStore(BUCKET)
    window = Window(W, START)
    a = blobs.presign_get("processed/a/thumb.jpg", window, TTL)
    b = blobs.presign_get("processed/b/thumb.jpg", window, TTL)
    download = blobs.presign_get("processed/a/thumb.jpg", window, TTL, download_as="a.jpg")
    assert len({a, b, download}) == 3
    assert query(download)["response-content-disposition"].startswith("attachment;")


def test_the_fixed_clock_is_ours_alone(aws):
    """Signing at a window's start leaves every other signature at the real time,
    in this thread afterwards and in another thread meanwhile."""
    import boto3
    from botocore.config import Config

    blobs = BlobStore(BUCKET)
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    seen: list[str] = []

    def sign_elsewhere():
        seen.append(query(s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "k"}))["X-Amz-Date"])

    old = Window(W, START - 10 * W)
    threads = [threading.Thread(target=sign_elsewhere) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(20):
        assert query(blobs.presign_get("k", old, TTL))["X-Amz-Date"] == amz_date(old.start)
    for t in threads:
        t.join()
    sign_elsewhere()
    now = datetime.now(UTC)
    assert len(seen) == 5
    for stamp in seen:
        assert abs((now - datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)).total_seconds()) < 120


def test_cache_control_never_outlives_the_url():
    assert cache_control(900, 3600) == "private, max-age=900"
    assert cache_control(7200, 3600) == "private, max-age=3600"


def test_variants_are_written_with_that_cache_control(client, s3, jpeg):
    image = ready(client, jpeg)
    for variant in image["variants"].values():
        head = s3.head_object(Bucket=BUCKET, Key=variant["key"])
        assert head["CacheControl"] == "private, max-age=900"


def test_api_urls_are_the_same_on_every_call_in_a_window(client, jpeg, monkeypatch):
    image = ready(client, jpeg)
    path = f"/images/{image['image_id']}"
    moments = iter([START + 1, START + W - 1, START + W])
    monkeypatch.setattr("chalicelib.usecases.api._now", lambda: next(moments))
    early, late, next_window = (client.http.get(path).json_body for _ in range(3))
    assert early["urls"] == late["urls"] and early["thumbnail_url"] == late["thumbnail_url"]
    assert next_window["urls"]["thumb"] != early["urls"]["thumb"]
    assert early["expires_in"] == late["expires_in"] == TTL  # the least any of them has left
    assert query(early["thumbnail_url"])["X-Amz-Date"] == amz_date(START)


def test_a_record_that_changes_gets_new_urls_at_once_and_keeps_them_to_the_windows_end(client, jpeg, monkeypatch):
    """New bytes under the same keys (a reprocess, an object uploaded again) must not be
    hidden by a cached copy fetched through the same URL: the record's change moves the
    signing time, so every URL of the image changes with it."""
    from chalicelib.domain import records

    image = ready(client, jpeg)
    path = f"/images/{image['image_id']}"
    clock = {"now": START + 100}
    monkeypatch.setattr("chalicelib.usecases.api._now", lambda: clock["now"])
    before = client.http.get(path).json_body
    monkeypatch.setattr(records, "now_iso", lambda: amz_iso(START + 200))
    assert client.http.patch(path, body=json.dumps({"title": "changed"}), headers=JSON).status_code == 200
    clock["now"] = START + 300
    after = client.http.get(path).json_body
    assert all(after["urls"][name] != url for name, url in before["urls"].items())
    assert query(after["urls"]["thumb"])["X-Amz-Date"] == amz_date(START + 200)
    revision = ImageStore(TABLE).get(image["image_id"]).version % REVISION_SPREAD
    assert query(after["urls"]["thumb"])["X-Amz-Expires"] == str(W - 200 + TTL + revision)
    # A second change within that same second still gives new URLs.
    assert client.http.patch(path, body=json.dumps({"title": "again"}), headers=JSON).status_code == 200
    again = client.http.get(path).json_body
    assert query(again["urls"]["thumb"])["X-Amz-Date"] == amz_date(START + 200)
    assert all(again["urls"][name] != url for name, url in after["urls"].items())
    after = again
    clock["now"] = START + W - 1
    assert client.http.get(path).json_body["urls"] == after["urls"]  # stable again until the window ends
    listed = client.http.get("/images?user_id=alice").json_body["images"]
    assert [i["thumbnail_url"] for i in listed] == [after["thumbnail_url"]]
    clock["now"] = START + W
    assert query(client.http.get(path).json_body["thumbnail_url"])["X-Amz-Date"] == amz_date(START + W)


def test_the_list_gives_each_tile_its_thumbnail_url(client, jpeg, monkeypatch):
    done = ready(client, jpeg)
    pending = upload(client, jpeg).json_body
    monkeypatch.setattr("chalicelib.usecases.api._now", lambda: START + 7)
    listed = {i["image_id"]: i for i in client.http.get("/images?user_id=alice").json_body["images"]}
    thumb = listed[done["image_id"]]["thumbnail_url"]
    assert urlparse(thumb).path.endswith(done["variants"]["thumb"]["key"])  # the smallest variant
    assert query(thumb)["X-Amz-Date"] == amz_date(START)
    assert listed[pending["image_id"]]["thumbnail_url"] is None
    assert client.http.get(f"/images/{done['image_id']}").json_body["thumbnail_url"] == thumb


def test_the_file_redirect_is_stable_too(client, jpeg, monkeypatch):
    image = ready(client, jpeg)
    moments = iter([START + 3, START + 600])
    monkeypatch.setattr("chalicelib.usecases.api._now", lambda: next(moments))
    first, second = (client.http.get(f"/images/{image['image_id']}/file?variant=thumb") for _ in range(2))
    assert first.headers["Location"] == second.headers["Location"]
    assert first.headers["Cache-Control"] == "no-store"  # the redirect itself is re-asked; its target is cached


@pytest.mark.parametrize("window", ["0", "-5", "soon"])
def test_url_window_must_be_a_positive_integer(window):
    from chalicelib import config

    with pytest.raises(RuntimeError, match="URL_WINDOW"):
        config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t", "URL_WINDOW": window})


def test_urls_may_not_outlive_what_sigv4_allows():
    from chalicelib import config

    base = {"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"}
    # 604800 s (seven days), less the 59 s a URL's expiry may add to tell revisions apart.
    assert config.load({**base, "URL_WINDOW": "86341", "VIEW_URL_TTL": str(6 * 86400)}).url_window == 86341
    with pytest.raises(RuntimeError, match="URL_WINDOW \\+ VIEW_URL_TTL is 604742 s; at most 604741 s"):
        config.load({**base, "URL_WINDOW": "86342", "VIEW_URL_TTL": str(6 * 86400)})
    longest = Window(86341, START + 86340, revision=REVISION_SPREAD - 1).url_lifetime(6 * 86400)
    assert longest == 604800
