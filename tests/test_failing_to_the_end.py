"""`failed` is never the last word: an original that fails the same way on every
attempt is rejected on the last one, quarantined with the reason, and announced.

Pillow's own crash files make its TIFF plugin raise `TypeError: Missing
dimensions`, which the handler cannot tell from a bug (tests/data/pillow-crashes)."""
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from scripts import deploy
from tests.conftest import BUCKET, deliver

CRASHES = Path(__file__).parent / "data" / "pillow-crashes"
FILES = ["crash-2020-10-test.tif", "crash-63b1dffefc8c075ddc606c0a2f5fdc15ece78863.tif"]


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


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow: "Tag data larger than file"
@pytest.mark.parametrize("name", FILES)
def test_a_file_failing_the_same_way_every_time_is_rejected_on_the_last_attempt(client, s3, ddb, name):
    key = f"uploads/alice/{name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=(CRASHES / name).read_bytes())
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
    assert s3.head_object(Bucket=BUCKET, Key=f"quarantine/{key}")["ContentLength"] == (CRASHES / name).stat().st_size
    shown = client.http.get(f"/images/{rejected.image_id}").json_body
    assert shown["status"] == "rejected" and "failures" not in shown and "failure" not in shown
    deliver(client, key)  # a late duplicate of the event: the object is gone, nothing changes
    assert record(ddb, image_id_of(key)).status == "rejected"


def test_one_attempt_configured_rejects_at_the_first_failure(client, s3, ddb, monkeypatch):
    monkeypatch.setenv("PROCESSING_ATTEMPTS", "1")
    key = f"uploads/alice/{FILES[0]}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=(CRASHES / FILES[0]).read_bytes())
    with pytest.warns(UserWarning):
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


@pytest.mark.filterwarnings("ignore::UserWarning")
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
        s3.put_object(Bucket=BUCKET, Key=key, Body=(CRASHES / FILES[1]).read_bytes())
        for _ in range(2):
            with pytest.raises(TypeError):
                deliver(client, key)
        deliver(client, key)
        pump.all()
        got = receiver.wait_for(2)
    assert [g.payload["type"] for g in got] == ["image.failed", "image.rejected"]
    assert "Missing dimensions" in got[1].payload["data"]["status_reason"] and all(g.verified for g in got)
