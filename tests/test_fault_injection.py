"""Fault injection: every AWS call of upload, ingest, reprocess, restore and delete
fails in turn, and everything still ends in one consistent state.

Each use-case runs once cleanly while a botocore `before-call` hook on the app's
shared session (chalicelib/adapters/aws.py) records its calls, so a new AWS call is
covered without touching this file. Then, for each recorded call and each kind
of fault, the use-case runs again from the same start with that call failing:
a throttling error (what the client raises once its own retries are spent), a
connection error, or an answer lost after AWS did the work (a read timeout: the
write happened, its S3 event fires, the caller sees an error). The fault
strikes once; the callers then behave as in
production: an API client retries a 5xx, Lambda retries a failed S3 event
twice, and every S3 write fires the event S3 would send to the handlers.

The end state must hold:
- no object without a record (originals, variants, quarantined copies);
- no record pointing at a missing object;
- no image back in the lists after a delete, no record left half-deleted;
- no original lost: the bytes are where the record says.
"""
from __future__ import annotations

import base64
import collections
import hashlib
import json
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from app import app
from chalicelib import bootstrap
from chalicelib.adapters import aws as clients
from chalicelib.domain import keys
from chalicelib.edge.http import UNAVAILABLE
from tests.conftest import BUCKET, TABLE, deliver, image_bytes

LAMBDA_ATTEMPTS = 3  # the first, and Lambda's two retries of an asynchronous event
CLIENT_ATTEMPTS = 3
KINDS = ("throttling", "connection", "answer-lost")
NEW_PRESETS = json.dumps([{"name": "thumb", "box": 32, "format": "webp"}, {"name": "small", "box": 16}])
GOOD = image_bytes("JPEG", (64, 48))
BAD = b"Dear diary, this is not a picture."


class _Status:
    def __init__(self, code: int):
        self.status_code = code
        self.headers: dict[str, str] = {}


def _throttled(service: str, operation: str):
    """What botocore hands back when the service throttled every attempt."""
    code, status = ("SlowDown", 503) if service == "s3" else ("ThrottlingException", 400)
    return _Status(status), {"Error": {"Code": code, "Message": f"{operation}: rate exceeded"},
                             "ResponseMetadata": {"HTTPStatusCode": status}}


@dataclass
class Faults:
    """Hooks on the app's boto3 session: records calls, fails the chosen one once,
    and queues the S3 events the app's successful writes cause."""

    kind: str | None = None
    target: int | None = None
    active: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)
    fired: tuple[str, str] | None = None
    events: collections.deque = field(default_factory=collections.deque)

    def install(self, monkeypatch) -> None:
        """On a session of this test's own, so that every client the app makes, for
        any service, carries the hooks, and no other test's does."""
        import boto3

        monkeypatch.setattr(clients, "_session", boto3.session.Session())
        clients.reset()
        emitter = clients.session().events
        emitter.register("provide-client-params", self._params)
        emitter.register_first("before-call", self._before_call)
        emitter.register("after-call.s3", self._after_s3_call)
        emitter.register_last("after-call", self._lose_answer)  # after the write's S3 event is queued

    def arm(self, kind: str | None, target: int | None) -> None:
        self.kind, self.target, self.fired = kind, target, None
        self.calls = []
        self.active = True

    @staticmethod
    def _params(params, context, **_):
        context["fault_params"] = dict(params)

    def _before_call(self, model, context, **_):
        if not self.active:
            return None
        call = (model.service_model.service_name, model.name)
        self.calls.append(call)
        if len(self.calls) - 1 != self.target:
            return None
        self.fired = call
        if self.kind == "answer-lost":
            context["fault_lose_answer"] = True
            return None
        if self.kind == "connection":
            raise EndpointConnectionError(endpoint_url=f"https://{call[0]}.us-east-1.amazonaws.com")
        return _throttled(*call)

    @staticmethod
    def _lose_answer(model, context, **_):
        if context.pop("fault_lose_answer", False):
            raise ReadTimeoutError(endpoint_url=f"https://{model.service_model.endpoint_prefix}.amazonaws.com")

    def _after_s3_call(self, http_response, parsed, model, context, **_):
        if http_response.status_code >= 300:
            return
        params = context.get("fault_params", {})
        if model.name == "PutObject":
            self._notify(params["Key"], "ObjectCreated:Put")
        elif model.name == "CopyObject":
            self._notify(params["Key"], "ObjectCreated:Copy")
        elif model.name == "DeleteObject":
            self._notify(params["Key"], "ObjectRemoved:Delete")
        elif model.name == "DeleteObjects":
            refused = {e["Key"] for e in parsed.get("Errors", [])}
            for obj in params["Delete"]["Objects"]:
                if obj["Key"] not in refused:
                    self._notify(obj["Key"], "ObjectRemoved:Delete")

    def _notify(self, key: str, event: str) -> None:
        """S3's notification, to the handlers whose filters match (as AWS applies them)."""
        from chalice.app import S3EventConfig

        kind = event.split(":")[0]
        for source in app.event_sources:
            if isinstance(source, S3EventConfig) and any(e.startswith(f"s3:{kind}") for e in source.events) and key.startswith(source.prefix or ""):
                self.events.append((key, event))


class World:
    """The app, its S3 events, and the callers' retries."""

    def __init__(self, client, faults: Faults):
        self.client = client
        self.faults = faults
        self.dead_letters: list[tuple[str, str]] = []
        self.server_errors: list[tuple[str, str, int, dict, dict]] = []

    def request(self, method: str, path: str, **kwargs):
        """As a client does: a 5xx is tried again, anything else is the answer."""
        for _ in range(CLIENT_ATTEMPTS):
            reply = getattr(self.client.http, method)(path, **kwargs)
            if reply.status_code < 500:
                return reply
            self.server_errors.append((method, path, reply.status_code, dict(reply.headers), reply.json_body))
        return reply

    def s3_event(self, key: str, event: str) -> None:
        self.faults.events.append((key, event))
        self.settle()

    def settle(self) -> None:
        """Deliver every queued S3 event, each tried as Lambda does, until none is left."""
        while self.faults.events:
            key, event = self.faults.events.popleft()
            for attempt in range(LAMBDA_ATTEMPTS):
                try:
                    deliver(self.client, key, event)
                    break
                except Exception:
                    if attempt == LAMBDA_ATTEMPTS - 1:
                        self.dead_letters.append((key, event))


# -- the use-cases, each from a fresh start -----------------------------------------------

def _json_upload(data: bytes) -> dict:
    body = {"image_data": base64.b64encode(data).decode(), "user_id": "alice", "filename": "p.jpg", "tags": ["t"]}
    return {"headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _ready_image(world: World) -> dict:
    reply = world.request("post", "/images", **_json_upload(GOOD))
    assert reply.status_code == 201
    world.settle()
    return reply.json_body


@dataclass
class Scenario:
    """A use-case: `setup` makes its start (no faults), `run` is what faults strike,
    `expect` what must hold at the end besides the consistency rules."""

    name: str
    setup: callable
    run: callable
    expect: callable


def upload_setup(world, s3, monkeypatch):
    return None


def upload_run(world, s3, state):
    reply = world.request("post", "/images", **_json_upload(GOOD))
    assert reply.status_code == 201, reply.json_body
    world.settle()


def expect_one_ready(world, s3, state, records):
    [record] = records
    assert record["status"] == "ready" and record["sha256"] == hashlib.sha256(GOOD).hexdigest()


def ingest_setup(world, s3, monkeypatch):
    s3.put_object(Bucket=BUCKET, Key="uploads/alice/dropped.jpg", Body=GOOD, ContentType="image/jpeg")


def ingest_run(world, s3, state):
    world.s3_event("uploads/alice/dropped.jpg", "ObjectCreated:Put")


def reject_setup(world, s3, monkeypatch):
    s3.put_object(Bucket=BUCKET, Key="uploads/alice/notes.jpg", Body=BAD)


def reject_run(world, s3, state):
    world.s3_event("uploads/alice/notes.jpg", "ObjectCreated:Put")


def expect_one_rejected(world, s3, state, records):
    [record] = records
    assert record["status"] == "rejected" and record["quarantine_key"] == "quarantine/uploads/alice/notes.jpg"


def reprocess_setup(world, s3, monkeypatch):
    image = _ready_image(world)
    monkeypatch.setenv("VARIANT_PRESETS", NEW_PRESETS)
    return image


def reprocess_run(world, s3, image):
    reply = world.request("post", f"/images/{image['image_id']}/reprocess")
    assert reply.status_code == 202, reply.json_body
    world.settle()


def expect_new_presets(world, s3, image, records):
    [record] = records
    assert record["status"] == "ready" and set(record["variants"]) == {"thumb", "small"}


def restore_setup(world, s3, monkeypatch):
    monkeypatch.setenv("MAX_PIXELS", "100")
    s3.put_object(Bucket=BUCKET, Key="uploads/alice/big.jpg", Body=GOOD)
    world.s3_event("uploads/alice/big.jpg", "ObjectCreated:Put")
    monkeypatch.setenv("MAX_PIXELS", "50000000")  # the upgrade that makes it acceptable
    return keys.image_id_for_object(BUCKET, "uploads/alice/big.jpg")


def restore_run(world, s3, image_id):

    outcome = None
    for _ in range(CLIENT_ATTEMPTS):  # the operator runs make reprocess --restore again after an error
        try:
            outcome = bootstrap.s3_events().restore(image_id)
            break
        except Exception:
            continue
    assert outcome in ("restored", "in uploads"), outcome  # "in uploads": the copy landed, its answer did not
    world.settle()


def expect_restored_ready(world, s3, image_id, records):
    [record] = records
    assert record["status"] == "ready" and record.get("quarantine_key") is None


def delete_setup(world, s3, monkeypatch):
    image = _ready_image(world)
    return image


def delete_run(world, s3, image):
    reply = world.request("delete", f"/images/{image['image_id']}")
    assert reply.status_code in (200, 404), reply.json_body  # 404: finished meanwhile by the removed event
    world.settle()


def expect_gone(world, s3, image, records):
    assert records == []
    assert world.client.http.get(f"/images/{image['image_id']}").status_code == 404


API_SCENARIOS = {"upload", "reprocess", "delete"}  # run through the API; the others through S3 events or scripts
SCENARIOS = [
    Scenario("upload", upload_setup, upload_run, expect_one_ready),
    Scenario("ingest", ingest_setup, ingest_run, expect_one_ready),
    Scenario("ingest-rejected", reject_setup, reject_run, expect_one_rejected),
    Scenario("reprocess", reprocess_setup, reprocess_run, expect_new_presets),
    Scenario("restore", restore_setup, restore_run, expect_restored_ready),
    Scenario("delete", delete_setup, delete_run, expect_gone),
]


# -- the consistency rules -----------------------------------------------------------------

def _state(s3, ddb) -> tuple[dict[str, bytes], list[dict], list[dict]]:
    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            objects[obj["Key"]] = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
    items = [{k: de.deserialize(v) for k, v in i.items()} for i in ddb.scan(TableName=TABLE)["Items"]]
    records = [i for i in items if i["sk"] == "IMAGE"]
    tags = [i for i in items if i["sk"].startswith("TAG#")]
    return objects, records, tags


def assert_consistent(world: World, s3, ddb) -> list[dict]:
    objects, records, tags = _state(s3, ddb)
    by_id = {r["image_id"]: r for r in records}
    named: dict[str, str] = {}
    for r in records:
        assert not r.get("deleting"), f"{r['image_id']} left half-deleted"
        assert r["status"] in ("ready", "rejected"), f"{r['image_id']} ended {r['status']}: {r.get('status_reason')}"
        if r["status"] == "ready":
            assert r["original_key"] in objects, f"ready {r['image_id']} lost its original"
            assert hashlib.sha256(objects[r["original_key"]]).hexdigest() == r["sha256"]
            named[r["original_key"]] = r["image_id"]
            for variant in r["variants"].values():
                assert variant["key"] in objects, f"{r['image_id']} names a missing variant {variant['key']}"
                named[variant["key"]] = r["image_id"]
        else:
            assert r["original_key"] not in objects, f"rejected {r['image_id']} left in uploads/"
            assert r["quarantine_key"] in objects, f"rejected {r['image_id']} lost its original"
            assert r["variants"] == {}
        if r.get("quarantine_key") and r["quarantine_key"] in objects:
            named[r["quarantine_key"]] = r["image_id"]
    orphans = sorted(set(objects) - set(named))
    assert orphans == [], f"objects without a record: {orphans}"
    for tag in tags:
        record = by_id.get(tag["image_id"])
        assert record is not None and tag["tag"] in record["tags"], f"stray tag item {tag}"
    listed = world.client.http.get("/images?limit=100").json_body
    assert sorted(i["image_id"] for i in listed["images"]) == sorted(by_id)
    assert world.client.http.get("/images?tag=t").json_body["count"] == sum("t" in r["tags"] for r in records)
    return records


# -- the test -----------------------------------------------------------------------------

def _wipe(s3, ddb) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    for item in ddb.scan(TableName=TABLE)["Items"]:
        ddb.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_aws_call_can_fail_once_and_everything_still_converges(client, s3, ddb, monkeypatch, scenario):
    faults = Faults()
    faults.install(monkeypatch)
    world = World(client, faults)
    answered_503: list = []

    def attempt(kind: str | None, target: int | None) -> list[tuple[str, str]]:
        _wipe(s3, ddb)
        faults.events.clear()
        world.dead_letters, world.server_errors = [], []
        with monkeypatch.context() as env:
            state = scenario.setup(world, s3, env)
            faults.arm(kind, target)
            try:
                scenario.run(world, s3, state)
            finally:
                faults.active = False
            calls = list(faults.calls)
            where = f"{scenario.name}, {kind} at call {target} {faults.fired}"
            assert world.dead_letters == [], f"{where}: events given up on: {world.dead_letters}"
            # AWS failing is never a bug: the client is told to come back, in the one error shape.
            for method, path, status, headers, body in world.server_errors:
                assert (status, headers.get("Retry-After"), body) == (503, "1", {"error": UNAVAILABLE}), (
                    f"{where}: {method.upper()} {path} answered {status} {headers} {body}"
                )
            answered_503.extend(world.server_errors)
            try:
                records = assert_consistent(world, s3, ddb)
                scenario.expect(world, s3, state, records)
            except AssertionError as exc:
                raise AssertionError(f"{where}: {exc}") from exc
        return calls

    clean = attempt(None, None)
    assert clean, "the use-case made no AWS call"
    for target, call in enumerate(clean):
        for kind in KINDS:
            attempt(kind, target)
            assert faults.fired == call, f"{scenario.name}: call {target} was {faults.fired}, not {call} as recorded"
    if scenario.name in API_SCENARIOS:  # the faults did reach the API's client, as 503s
        assert answered_503, f"{scenario.name}: no fault ever reached the client"
