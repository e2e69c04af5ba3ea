"""`failed` is never the last word: an original that fails the same way on every
attempt is rejected on the last one, quarantined with the reason, and announced.

Pillow's crash files (`crash-2020-10-test.tif`, `crash-63b1...tif` in its own
test suite) make its TIFF plugin raise `TypeError: Missing dimensions` when it
counts the pages: a later page names no width or height. The handler cannot tell
that from a bug. The files here are built the same way, byte by byte (other
projects' files are not copied into this one), and fail with the same error."""
import struct

import pytest
from botocore.exceptions import ClientError

from scripts import deploy
from tests.conftest import BUCKET, deliver


def tiff_whose_second_page_lacks(missing: str, endian: str) -> bytes:
    """A valid 64x48 greyscale page, then a page that names no ImageWidth (or
    ImageLength): what Pillow's two crash files have in common."""
    width, height = 64, 48
    first = {256: width, 257: height, 258: 8, 259: 1, 262: 1, 273: 0, 277: 1, 278: height, 279: width * height}
    second = {tag: value for tag, value in first.items() if tag != (256 if missing == "width" else 257)}

    def ifd(tags: dict[int, int], next_at: int) -> bytes:
        entries = b"".join(struct.pack(endian + "HHII", tag, 4, 1, value) for tag, value in sorted(tags.items()))
        return struct.pack(endian + "H", len(tags)) + entries + struct.pack(endian + "I", next_at)

    second_at = 8 + 2 + 12 * len(first) + 4
    first[273] = second[273] = second_at + 2 + 12 * len(second) + 4  # both pages' strips: the pixels
    header = (b"II" if endian == "<" else b"MM") + struct.pack(endian + "HI", 42, 8)
    return header + ifd(first, second_at) + ifd(second, 0) + bytes(range(256)) * (width * height // 256)


CRASHES = {"no-width.tif": tiff_whose_second_page_lacks("width", "<"),
           "no-height-big-endian.tif": tiff_whose_second_page_lacks("height", ">")}
FILES = list(CRASHES)


def record(ddb, image_id):
    from chalicelib.adapters.store import ImageStore
    from tests.conftest import TABLE

    return ImageStore(TABLE).get(image_id)


def image_id_of(key):
    from chalicelib.domain import keys

    return keys.image_id_for_object(BUCKET, key)


def test_the_last_attempt_is_lambdas_first_try_and_its_two_retries():
    from chalicelib import config

    settings = config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"})
    assert settings.processing_attempts == 1 + deploy.ASYNC_RETRIES == 3


@pytest.mark.parametrize("name", FILES)
def test_a_file_failing_the_same_way_every_time_is_rejected_on_the_last_attempt(client, s3, ddb, name):
    key = f"uploads/alice/{name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=CRASHES[name])
    for attempt in (1, 2):
        with pytest.raises(TypeError, match="Missing dimensions"):
            deliver(client, key)
        failed = record(ddb, image_id_of(key))
        assert (failed.status, failed.failures) == ("failed", attempt)
    deliver(client, key)  # the last attempt: a verdict, not an error, so Lambda stops
    rejected = record(ddb, image_id_of(key))
    assert rejected.status == "rejected" and rejected.failures == 0
    assert "failed the same way on all 3 attempts (TypeError: Missing dimensions)" in rejected.status_reason
    assert rejected.quarantine_key == f"quarantine/{key}"
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount") == 0
    assert s3.head_object(Bucket=BUCKET, Key=f"quarantine/{key}")["ContentLength"] == len(CRASHES[name])
    shown = client.http.get(f"/images/{rejected.image_id}").json_body
    assert shown["status"] == "rejected" and "failures" not in shown and "failure" not in shown
    deliver(client, key)  # a late duplicate of the event: the object is gone, nothing changes
    assert record(ddb, image_id_of(key)).status == "rejected"


def test_one_attempt_configured_rejects_at_the_first_failure(client, s3, ddb, monkeypatch):
    monkeypatch.setenv("PROCESSING_ATTEMPTS", "1")
    key = f"uploads/alice/{FILES[0]}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=CRASHES[FILES[0]])
    deliver(client, key)
    assert record(ddb, image_id_of(key)).status == "rejected"


def test_different_failures_in_a_row_start_the_count_again(client, s3, ddb, jpeg, monkeypatch):
    from chalicelib import imaging

    errors = iter([RuntimeError("one"), KeyError("two"), RuntimeError("one"), RuntimeError("one")])

    def failing(data, settings):
        raise next(errors)

    monkeypatch.setattr(imaging, "process", failing)
    key = "uploads/alice/flaky.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=jpeg)
    counts = []
    for _ in range(3):
        with pytest.raises(Exception):  # noqa: B017 - one of the injected ones
            deliver(client, key)
        counts.append(record(ddb, image_id_of(key)).failures)
    assert counts == [1, 1, 1]  # one, two, one: never the same twice in a row yet
    with pytest.raises(RuntimeError):
        deliver(client, key)
    assert record(ddb, image_id_of(key)).failures == 2


def test_a_transient_aws_error_is_retried_every_time_and_never_rejects(client, s3, ddb, jpeg, monkeypatch):
    from chalicelib.adapters.blobs import BlobStore

    def throttled(self, key, *args, **kwargs):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"},
                           "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject")

    monkeypatch.setattr(BlobStore, "put", throttled)
    key = "uploads/alice/busy.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=jpeg)
    for _ in range(4):
        with pytest.raises(ClientError):
            deliver(client, key)
        failed = record(ddb, image_id_of(key))
        assert (failed.status, failed.failures, failed.failure) == ("failed", 0, None)
    monkeypatch.undo()
    deliver(client, key)
    assert record(ddb, image_id_of(key)).status == "ready"


def test_the_rejection_is_announced_after_the_failures(client, s3, monkeypatch):
    import json

    from devstack.webhook_listen import Listener
    from tests.webhook_pump import Pump

    monkeypatch.setenv("WEBHOOKS_ALLOW_LOOPBACK", "true")
    pump = Pump(client)
    with Listener([]) as receiver:
        made = client.http.post("/webhooks", headers={"Content-Type": "application/json"},
                                body=json.dumps({"url": receiver.url, "user_id": "alice"})).json_body
        receiver.secrets.append(made["secret"])
        key = f"uploads/alice/{FILES[1]}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=CRASHES[FILES[1]])
        for _ in range(2):
            with pytest.raises(TypeError):
                deliver(client, key)
        deliver(client, key)
        pump.all()
        got = receiver.wait_for(2)
    assert [g.payload["type"] for g in got] == ["image.failed", "image.rejected"]
    assert "Missing dimensions" in got[1].payload["data"]["status_reason"] and all(g.verified for g in got)
