"""The S3 event bridge: which handlers a record reaches, and when a message is deleted."""
from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest

from devstack.bridge import Bridge, Handler, Subscription, s3_records, subscriptions
from scripts.bootstrap import QUEUE_MAX_RECEIVES

BUCKET = "imgstore-local-images"


def record(key: str, event: str = "ObjectCreated:Put", bucket: str = BUCKET) -> dict:
    """A record as S3 (and moto) write it: the key quote_plus-encoded."""
    return {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": event,
            "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                   "object": {"key": quote_plus(key), "size": 1, "eTag": "abc"}}}


def message(*records: dict, receives: int = 1) -> dict:
    return {"Body": json.dumps({"Records": list(records)}), "ReceiptHandle": "rh-1",
            "Attributes": {"ApproximateReceiveCount": str(receives)}}


@pytest.mark.parametrize("sub, rec, expected", [
    (Subscription("h", BUCKET, ("s3:ObjectCreated:*",), "uploads/"), record("uploads/a/b.jpg"), True),
    (Subscription("h", BUCKET, ("s3:ObjectCreated:*",), "uploads/"), record("processed/a/thumb.jpg"), False),
    (Subscription("h", BUCKET, ("s3:ObjectCreated:*",), "uploads/"), record("uploads/a.jpg", bucket="other"), False),
    (Subscription("h", BUCKET, ("s3:ObjectCreated:*",), "uploads/"), record("uploads/a.jpg", "ObjectRemoved:Delete"),
     False),
    (Subscription("h", BUCKET, ("s3:ObjectCreated:Post",)), record("x.jpg", "ObjectCreated:Post"), True),
    (Subscription("h", BUCKET, ("s3:ObjectCreated:Post",)), record("x.jpg", "ObjectCreated:Put"), False),
    (Subscription("h", BUCKET, ("s3:ObjectRemoved:*",)), record("x.jpg", "ObjectRemoved:DeleteMarkerCreated"), True),
    (Subscription("h", BUCKET, ("s3:ObjectCreated:*",), "", ".jpg"), record("a/b.JPG"), False),  # literal, as S3
    (Subscription("h", BUCKET, ("s3:ObjectCreated:*",), "", ".jpg"), record("a/b.jpg"), True),
    # Filters apply to the decoded key: spaces, '+' and non-ASCII arrive encoded.
    (Subscription("h", BUCKET, ("s3:ObjectCreated:*",), "uploads/my folder/", "+1.jpg"),
     record("uploads/my folder/café+1.jpg"), True),
    (Subscription("h", BUCKET, ("s3:ObjectCreated:*",), "uploads/café/"), record("uploads/café/x.jpg"), True),
])
def test_a_subscription_matches_as_s3_filters_do(sub, rec, expected):
    assert sub.matches(rec) is expected


def test_subscriptions_are_read_from_the_app(monkeypatch):
    monkeypatch.setenv("IMAGES_BUCKET", BUCKET)
    from chalice import Chalice

    app = Chalice("t")

    @app.on_s3_event(bucket=BUCKET, prefix="uploads/", suffix=".png")
    def created(event):
        pass

    @app.on_s3_event(bucket=BUCKET, events=["s3:ObjectRemoved:*"])
    def removed(event):
        pass

    @app.schedule("rate(1 hour)")
    def tick(event):
        pass

    assert subscriptions(app) == [
        Subscription("created", BUCKET, ("s3:ObjectCreated:*",), "uploads/", ".png"),
        Subscription("removed", BUCKET, ("s3:ObjectRemoved:*",), "", ""),
    ]


def test_the_real_app_subscribes_to_uploads_only():
    from app import app

    subs = {s.name: s for s in subscriptions(app)}
    assert set(subs) == {"on_upload", "on_delete"}
    bucket = subs["on_upload"].bucket
    for event in ("ObjectCreated:Put", "ObjectCreated:Post", "ObjectCreated:CompleteMultipartUpload",
                  "ObjectRemoved:Delete"):
        reached = {s.name for s in subs.values() if s.matches(record("uploads/a/b c.jpg", event, bucket))}
        assert reached == {"on_delete" if event.startswith("ObjectRemoved") else "on_upload"}
        # Variants are written under processed/: no handler may see them, or it would trigger itself.
        assert not any(s.matches(record(f"processed/{'0' * 32}/thumb.jpg", event, bucket)) for s in subs.values())


def test_test_events_and_foreign_messages_carry_no_records():
    assert s3_records(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})) == []
    assert s3_records("not json") == []
    assert s3_records(json.dumps({"Records": [{"eventSource": "aws:sqs"}]})) == []
    assert s3_records(json.dumps({"Records": [record("uploads/a.jpg")]})) == [record("uploads/a.jpg")]


class FakeQueue:
    def __init__(self):
        self.deleted, self.visibility = [], []

    def delete_message(self, QueueUrl, ReceiptHandle):
        self.deleted.append(ReceiptHandle)

    def change_message_visibility(self, QueueUrl, ReceiptHandle, VisibilityTimeout):
        self.visibility.append(VisibilityTimeout)


def bridge_with(*handlers: tuple[str, str, object]) -> tuple[Bridge, FakeQueue, list]:
    """Handlers (name, prefix, behaviour); each call is logged as (name, event)."""
    calls, queue = [], FakeQueue()

    def make(name, behaviour):
        def call(event, context):
            calls.append((name, event, context.function_name))
            if isinstance(behaviour, Exception):
                raise behaviour
        return call

    built = [Handler(Subscription(n, BUCKET, ("s3:ObjectCreated:*",), prefix), make(n, b),
                     lambda n=n: type("Ctx", (), {"function_name": f"imgstore-local-{n}"})(), 60)
             for n, prefix, b in handlers]
    return Bridge(built, queue, "url"), queue, calls


def test_each_matching_handler_gets_the_s3_event_then_the_message_is_deleted():
    bridge, queue, calls = bridge_with(("on_upload", "uploads/", None), ("other", "elsewhere/", None))
    rec = record("uploads/alice/café 1.jpg")
    bridge._settle(msg := message(rec), bridge.handle(msg))
    assert calls == [("on_upload", {"Records": [rec]}, "imgstore-local-on_upload")]
    assert queue.deleted == ["rh-1"] and queue.visibility == []


def test_a_message_nothing_subscribes_to_is_deleted_and_counted():
    bridge, queue, calls = bridge_with(("on_upload", "uploads/", None))
    bridge._settle(msg := message(record(f"processed/{'0' * 32}/thumb.jpg")), bridge.handle(msg))
    assert calls == [] and queue.deleted == ["rh-1"] and bridge.counts["unmatched"] == 1


def test_a_failed_handler_keeps_the_message_for_a_retry_soon():
    bridge, queue, calls = bridge_with(("on_upload", "uploads/", RuntimeError("throttled")))
    bridge._settle(msg := message(record("uploads/a/b.jpg")), bridge.handle(msg))
    assert len(calls) == 1 and queue.deleted == []
    assert queue.visibility == [2] and bridge.counts["failed"] == 1


def test_the_last_attempt_hands_the_message_to_the_dead_letter_queue():
    bridge, queue, _ = bridge_with(("on_upload", "uploads/", RuntimeError("bug")))
    bridge._settle(msg := message(record("uploads/a/b.jpg"), receives=QUEUE_MAX_RECEIVES), bridge.handle(msg))
    assert queue.deleted == [] and queue.visibility == [0]  # visible now: the next receive moves it


def test_one_failure_among_several_handlers_keeps_the_message():
    bridge, queue, calls = bridge_with(("a", "uploads/", None), ("b", "uploads/", RuntimeError("x")))
    bridge._settle(msg := message(record("uploads/a/b.jpg")), bridge.handle(msg))
    assert [c[0] for c in calls] == ["a", "b"] and queue.deleted == []


def test_an_event_that_keeps_failing_ends_in_the_dead_letter_queue_an_operator_can_read(aws, monkeypatch):
    """Locally, the S3 handlers' dead-letter destination: the events queue's redrive
    policy (scripts/bootstrap.py) moves a message the bridge gave up on into
    `<queue>-dlq`, the event intact."""
    import boto3

    from devstack import bridge as bridge_module
    from scripts.bootstrap import bootstrap, stage_environment

    def failing(event, context):
        raise MemoryError("the function ran out of memory")

    local = stage_environment("local")
    bootstrap({**local, "IMAGES_BUCKET": BUCKET})
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName=local["S3_EVENTS_QUEUE"])["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=f"{local['S3_EVENTS_QUEUE']}-dlq")["QueueUrl"]
    sqs.purge_queue(QueueUrl=queue)  # the s3:TestEvent of setting up the notification
    monkeypatch.setattr(bridge_module, "RETRY_DELAYS", (0, 0))  # retry at once
    handler = Handler(Subscription("on_upload", BUCKET, ("s3:ObjectCreated:*",), "uploads/"), failing, lambda: None, 60)
    bridge = Bridge([handler], sqs, queue)
    event = json.dumps({"Records": [record("uploads/alice/photo.jpg")]})
    sqs.send_message(QueueUrl=queue, MessageBody=event)
    attempts = 0
    while attempts <= QUEUE_MAX_RECEIVES:
        received = sqs.receive_message(QueueUrl=queue, AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
        if not received:
            break
        attempts += 1
        bridge._settle(received[0], bridge.handle(received[0]))
    assert attempts == QUEUE_MAX_RECEIVES and bridge.counts["failed"] == QUEUE_MAX_RECEIVES
    [dead] = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert dead["Body"] == event
