"""The table as the outbox: stream records -> EventBridge, under injected faults.

Lambda's part is played by a loop that hands the stream over again from a
batch-item failure, or whole after a crash, as the event source mapping does.
The bus's events are collected through a rule into an SQS queue (moto
delivers them), so what is checked is what a consumer of the bus receives.
"""
import json

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters import aws as clients
from chalicelib.adapters import event_bus as bus_module
from chalicelib.adapters.blobs import BlobStore
from chalicelib.adapters.delivery_queue import DeliveryQueue
from chalicelib.adapters.event_bus import EventBus
from chalicelib.adapters.store import ImageStore
from chalicelib.adapters.webhook_store import WebhookStore
from chalicelib.domain.records import ImageRecord
from chalicelib.usecases.lifecycle import purge, set_fields
from chalicelib.usecases.outbox import Outbox
from devstack.streams import StreamReader, stream_arn, stream_client
from tests.conftest import BUCKET, TABLE

BUS = "imgstore-dev"


@pytest.fixture
def world(aws):
    """The bus with a catch-all rule into a queue, a delivery queue, and a reader of the table's stream."""
    import boto3

    ddb, events, sqs = boto3.client("dynamodb"), boto3.client("events"), boto3.client("sqs")
    # scripts/bootstrap.py has turned the stream on and made the bus.
    seen = sqs.create_queue(QueueName="seen-on-the-bus")["QueueUrl"]
    seen_arn = sqs.get_queue_attributes(QueueUrl=seen, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="everything", EventBusName=BUS, EventPattern=json.dumps({"source": ["imgstore"]}))
    events.put_targets(Rule="everything", EventBusName=BUS, Targets=[{"Id": "seen", "Arn": seen_arn}])
    deliveries = sqs.create_queue(QueueName="deliveries")["QueueUrl"]
    reader = StreamReader(stream_client(), stream_arn(ddb, TABLE), start="LATEST")
    return {"sqs": sqs, "seen": seen, "deliveries": deliveries, "reader": reader}


def changes(count: int = 12) -> None:
    """Write a life for each of `count` images, interleaved (so one PutEvents call carries
    several images): created, ready, patched, and every third one deleted."""
    store, blobs = ImageStore(TABLE), BlobStore(BUCKET)
    ids = [f"{i:032x}" for i in range(count)]
    for i, image_id in enumerate(ids):
        store.create(ImageRecord(image_id=image_id, owner="alice" if i % 2 else "bob", filename=f"{i}.jpg",
                                 original_key=f"uploads/alice/{image_id}/{i}.jpg", source="api"))
    for image_id in ids:
        set_fields(store, image_id, {"status": "ready", "format": "jpeg", "etag": "e", "width": 4})
    for i, image_id in enumerate(ids):
        set_fields(store, image_id, {"title": f"t{i}"})
    for image_id in ids[::3]:
        purge(store.get(image_id), store, blobs, with_original=True)


def run_like_lambda(outbox: Outbox, reader: StreamReader, rounds: int = 200) -> dict:
    """Hand the stream to the consumer until it is drained, as the event source mapping does."""
    stats = {"crashes": 0, "item_failures": 0}
    batch = reader.read(25)
    while batch and rounds:
        rounds -= 1
        try:
            answer = outbox.handle(batch)
        except Died:  # the function died: the whole batch again
            stats["crashes"] += 1
            reader.rewind(batch[0]["dynamodb"]["SequenceNumber"])
        else:
            failures = answer["batchItemFailures"]
            if failures:
                stats["item_failures"] += 1
                reader.rewind(failures[0]["itemIdentifier"])
        batch = reader.read(25)
    assert rounds, "the consumer never got through the stream"
    return stats


def received(sqs, queue: str) -> list[dict]:
    out = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return out
        for m in messages:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


class Died(BaseException):
    """The function's death (out of time or memory): nothing in it can catch this."""


class Faulty:
    """The events client with faults: throttled calls, refused entries, a crash after some calls."""

    def __init__(self, real, *, throttle_every=0, refuse_every=0, crash_at=(), stubborn_calls=()):
        self.real, self.calls = real, 0
        self.throttle_every, self.refuse_every, self.crash_at = throttle_every, refuse_every, set(crash_at)
        self.stubborn_calls = set(stubborn_calls)  # calls that refuse every entry but the first
        self.entries_seen = 0
        self.injected = 0

    def put_events(self, Entries):
        self.calls += 1
        if self.calls in self.crash_at:
            self.injected += 1
            raise Died("the function died between two batches")
        if self.throttle_every and self.calls % self.throttle_every == 0:
            self.injected += 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutEvents")
        outcome, taken = [], []
        for n, entry in enumerate(Entries):
            self.entries_seen += 1
            stubborn = self.calls in self.stubborn_calls and n > 0
            if stubborn or (self.refuse_every and self.entries_seen % self.refuse_every == 0):
                self.injected += 1
                outcome.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                outcome.append(None)
                taken.append(entry)
        answer = self.real.put_events(Entries=taken) if taken else {"Entries": []}
        ids = iter(answer["Entries"])
        entries = [o if o is not None else next(ids) for o in outcome]
        return {"FailedEntryCount": sum(1 for o in outcome if o is not None), "Entries": entries}


def outbox(world, events_client=None, **bus_options) -> Outbox:
    return Outbox(EventBus(BUS, pause=lambda s: None, **bus_options), WebhookStore(TABLE, None),
                  DeliveryQueue(world["deliveries"]))


def expected_events(world) -> dict[str, tuple]:
    """What a fault-free consumer publishes: id -> (image, version, type)."""
    run_like_lambda(outbox(world), world["reader"])
    return {e["detail"]["id"]: _key(e) for e in received(world["sqs"], world["seen"])}


def _key(event):
    data = event["detail"]["data"]
    return (data["image_id"], data["version"], event["detail-type"])


def test_without_faults_every_change_is_one_event_in_version_order(world):
    changes()
    got = received(world["sqs"], world["seen"])
    assert got == []  # nothing is published inline: only the consumer publishes
    run_like_lambda(outbox(world), world["reader"])
    got = received(world["sqs"], world["seen"])
    kinds = sorted(e["detail-type"] for e in got)
    assert kinds.count("image.ready") == 12 and kinds.count("image.updated") == 12
    assert kinds.count("image.deleted") == 4 and len(got) == 28
    for event in got:
        assert event["source"] == "imgstore" and event["detail"]["type"] == event["detail-type"]


@pytest.mark.parametrize("faults", [
    {"throttle_every": 2},
    {"refuse_every": 3},
    {"crash_at": (2, 5)},
    {"stubborn_calls": (1, 2, 3, 4)},  # the first call's entries refused through every resend
    {"throttle_every": 5, "refuse_every": 7, "crash_at": (4,)},
])
def test_under_faults_every_event_arrives_once_per_id_and_in_order(world, monkeypatch, faults):
    changes()
    # The same records, read twice: once by a clean consumer for the answer, once under faults.
    ddb_reader_start = StreamReader(world["reader"].client, world["reader"].arn)
    clean = expected_events(world)
    assert len(clean) == 28
    original = clients.client
    faulty = Faulty(original("events"), **faults)
    monkeypatch.setattr(bus_module.aws, "client", lambda name: faulty if name == "events" else original(name))
    stats = run_like_lambda(outbox(world), ddb_reader_start)
    got = received(world["sqs"], world["seen"])
    ids = {}
    for event in got:
        ids.setdefault(event["detail"]["id"], set()).add(_key(event))
    # Every event arrived, under the id a clean run gives it, and no change under two ids.
    assert set(ids) == set(clean)
    assert all(keys == {clean[i]} for i, keys in ids.items())
    # Per image, the first arrival of each version comes in version order.
    first_seen = {}
    for event in got:
        image, version, _ = _key(event)
        first_seen.setdefault(image, [])
        if version not in first_seen[image]:
            first_seen[image].append(version)
    assert all(v == sorted(v) for v in first_seen.values())
    assert faulty.injected > 0
    if "crash_at" in faults:
        assert stats["crashes"] == len(faults["crash_at"])
    if "stubborn_calls" in faults or "throttle_every" in faults:
        assert stats["item_failures"] > 0
