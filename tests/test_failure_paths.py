"""The hardest failure paths, each proven: modify's re-read after a conflict and
its give-up, undoing a failed API upload, the store's UnprocessedKeys retry,
delete_many's errors, and reprocess when the copy fails."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from chalicelib.adapters import aws as clients
from chalicelib.adapters.store import ImageStore
from chalicelib.domain.errors import Conflict
from chalicelib.edge.http import UNAVAILABLE
from chalicelib.usecases import lifecycle
from tests.conftest import BUCKET, TABLE, deliver
from tests.test_api import items, objects, post_json, ready, upload

SLOW_DOWN = {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}


@pytest.fixture
def store(aws):
    return ImageStore(TABLE)


@pytest.fixture
def no_sleep(monkeypatch):
    """The backoff waits recorded, not slept."""
    slept: list[float] = []
    monkeypatch.setattr(lifecycle.time, "sleep", slept.append)
    return slept


# -- modify ------------------------------------------------------------------------------

def test_modify_reads_again_and_reapplies_its_change_after_a_concurrent_save(client, jpeg, store, no_sleep):
    image = ready(client, jpeg, title="first")
    seen = []

    def add_tag(record):
        seen.append((record.version, record.title, list(record.tags)))
        if len(seen) == 1:  # another request saves in between our read and our save
            store.save(record.touch(title="changed meanwhile"), record)
        return record.touch(tags=[*record.tags, "mine"])

    saved = lifecycle.modify(store, image["image_id"], add_tag)
    first, second = seen
    assert second[0] == first[0] + 1 and second[1] == "changed meanwhile"  # re-read, not re-used
    assert (saved.title, saved.tags, saved.version) == ("changed meanwhile", ["mine"], first[0] + 2)
    assert store.get(image["image_id"]) == saved
    assert no_sleep == [0.02]


def test_modify_gives_up_after_five_conflicts_and_patch_answers_409(client, jpeg, store, no_sleep, monkeypatch):
    image = ready(client, jpeg)
    save = ImageStore.save
    attempts = []

    def always_beaten(self, record, previous):
        attempts.append(previous.version)
        save(self, previous.touch(description=f"background write {len(attempts)}"), previous)
        return save(self, record, previous)  # now stale: Conflict

    monkeypatch.setattr(ImageStore, "save", always_beaten)
    reply = post_json(client, f"/images/{image['image_id']}", {"title": "mine"}, method="patch")
    assert reply.status_code == 409 and "try again" in reply.json_body["error"]
    assert len(attempts) == 5 and attempts == sorted(set(attempts))  # each attempt on a fresh read
    assert no_sleep == [0.02, 0.04, 0.06, 0.08]
    monkeypatch.setattr(ImageStore, "save", save)
    record = store.get(image["image_id"])
    assert record.title == "" and record.description == "background write 5"  # ours never landed
    with pytest.raises(Conflict):
        lifecycle.modify(store, image["image_id"], lambda r: r.touch(title="x"), attempts=1,
                         current=record.touch(version=record.version - 1))


# -- undoing a failed API upload ------------------------------------------------------------

def test_a_failed_put_undoes_the_upload_record(client, s3, ddb, jpeg, monkeypatch):
    def slow_down(self, key, *args, **kwargs):
        raise ClientError(SLOW_DOWN, "PutObject")

    with monkeypatch.context() as patch:
        patch.setattr("chalicelib.adapters.blobs.BlobStore.put", slow_down)
        reply = upload(client, jpeg, tags=["t"])
    assert (reply.status_code, reply.headers["Retry-After"]) == (503, "1")  # S3 throttled: come back
    assert reply.json_body == {"error": UNAVAILABLE}
    assert items(ddb) == [] and objects(s3) == []  # neither the record nor its tag item is left
    assert client.http.get("/images").json_body["count"] == 0
    again = upload(client, jpeg, tags=["t"])  # the client's retry
    assert again.status_code == 201 and objects(s3) == [again.json_body["original_key"]]


def test_an_upload_whose_answers_were_lost_is_undone_whole(client, s3, ddb, jpeg):
    """The record and the object were written, but the put's answer never came back."""
    def lost(**_):
        raise ReadTimeoutError(endpoint_url="https://s3.amazonaws.com")

    clients.client("s3").meta.events.register("after-call.s3.PutObject", lost, unique_id="lost")
    assert upload(client, jpeg, tags=["t"]).status_code == 503
    clients.client("s3").meta.events.unregister("after-call.s3.PutObject", unique_id="lost")
    assert items(ddb) == [] and objects(s3) == []  # no pending ghost, no object to become a second image


def test_a_failed_undo_leaves_only_an_unlisted_record_that_expires(client, s3, ddb, jpeg, monkeypatch):
    def slow_down(*args, **kwargs):
        raise ClientError(SLOW_DOWN, "Any")

    with monkeypatch.context() as patch:
        patch.setattr("chalicelib.adapters.blobs.BlobStore.put", slow_down)
        patch.setattr("chalicelib.adapters.store.ImageStore.delete", slow_down)
        reply = upload(client, jpeg)
    assert reply.status_code == 503  # the put's error, not the undo's
    [left] = [i for i in items(ddb) if i["sk"]["S"] == "IMAGE"]
    assert left["deleting"]["BOOL"] and int(left["expires_at"]["N"]) > 0  # DynamoDB's TTL removes it
    assert client.http.get("/images").json_body["count"] == 0 and objects(s3) == []


# -- a delete while the handler renders ------------------------------------------------------

def test_variants_rendered_for_an_image_deleted_meanwhile_are_removed(client, s3, jpeg, monkeypatch):
    from chalicelib import imaging

    image = upload(client, jpeg).json_body
    render = imaging.process

    def deleted_while_rendering(data, settings):
        result = render(data, settings)
        assert client.http.delete(f"/images/{image['image_id']}").status_code == 200
        return result

    monkeypatch.setattr(imaging, "process", deleted_while_rendering)
    deliver(client, image["original_key"])
    assert objects(s3) == [] and ImageStore(TABLE).get(image["image_id"]) is None


# -- the store's UnprocessedKeys retry --------------------------------------------------------

def test_unprocessed_keys_are_asked_for_again_with_backoff(client, jpeg, monkeypatch):
    from chalicelib.adapters import store as store_module

    ids = [ready(client, jpeg, tags=["t"])["image_id"] for _ in range(3)]
    slept: list[float] = []
    monkeypatch.setattr(store_module.time, "sleep", slept.append)
    requested: list[int] = []
    held_back = {"rounds": 2}

    def throttle(params, **_):
        requested.append(len(params["RequestItems"][TABLE]["Keys"]))

    def unprocess_one(parsed, **_):
        # DynamoDB under load answers part of a batch and hands the rest back.
        if held_back["rounds"] and parsed["Responses"][TABLE]:
            held_back["rounds"] -= 1
            item = parsed["Responses"][TABLE].pop()
            key = {"pk": item["pk"], "sk": item["sk"]}
            parsed["UnprocessedKeys"] = {TABLE: {"Keys": [key], "ConsistentRead": True}}

    events = clients.client("dynamodb").meta.events
    events.register("provide-client-params.dynamodb.BatchGetItem", throttle)
    events.register("after-call.dynamodb.BatchGetItem", unprocess_one)
    listed = client.http.get("/images?tag=t").json_body
    assert [i["image_id"] for i in listed["images"]] == ids[::-1]  # all of them, newest first
    assert requested == [3, 1, 1] and slept == [0.05, 0.1]


# -- delete_many's errors -----------------------------------------------------------------------

def test_delete_many_raises_when_s3_could_not_delete_a_key(aws, s3):
    from chalicelib.adapters.blobs import BlobStore

    for key in ("processed/a/1.jpg", "processed/a/2.jpg"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")

    def refuse_second(parsed, **_):
        parsed["Errors"] = [{"Key": "processed/a/2.jpg", "Code": "InternalError", "Message": "try again"}]

    clients.client("s3").meta.events.register("after-call.s3.DeleteObjects", refuse_second)
    with pytest.raises(ClientError, match=r"\(InternalError\).*could not delete processed/a/2.jpg: try again") as raised:
        BlobStore(BUCKET).delete_many(["processed/a/1.jpg", "processed/a/2.jpg", "processed/a/1.jpg"])
    assert clients.transient(raised.value)  # S3's InternalError: worth a retry, as for a whole call


def test_a_key_s3_refuses_to_delete_for_lack_of_permission_is_no_transient_error(aws, s3):
    from chalicelib.adapters.blobs import BlobStore

    s3.put_object(Bucket=BUCKET, Key="processed/a/1.jpg", Body=b"x")

    def deny(parsed, **_):
        parsed["Errors"] = [{"Key": "processed/a/1.jpg", "Code": "AccessDenied", "Message": "Access Denied"}]

    clients.client("s3").meta.events.register("after-call.s3.DeleteObjects", deny)
    with pytest.raises(ClientError, match="AccessDenied") as raised:
        BlobStore(BUCKET).delete_many(["processed/a/1.jpg"])
    assert not clients.transient(raised.value)  # a wrong policy: a bug to fix, not a moment to wait


def test_delete_many_sends_at_most_a_thousand_keys_a_request(aws):
    from chalicelib.adapters.blobs import BlobStore

    sizes = []
    clients.client("s3").meta.events.register(
        "provide-client-params.s3.DeleteObjects", lambda params, **_: sizes.append(len(params["Delete"]["Objects"])))
    BlobStore(BUCKET).delete_many(f"k{n}" for n in range(2500))
    BlobStore(BUCKET).delete_many([])
    assert sizes == [1000, 1000, 500]


def test_a_delete_that_could_not_remove_every_object_is_finished_by_its_retry(client, s3, jpeg):
    image = ready(client, jpeg, tags=["t"])
    failing = {"once": True}

    def refuse_once(parsed, **_):
        if failing.pop("once", False):
            parsed["Errors"] = [{"Key": image["original_key"], "Code": "SlowDown", "Message": "slow down"}]

    clients.client("s3").meta.events.register("after-call.s3.DeleteObjects", refuse_once)
    assert client.http.delete(f"/images/{image['image_id']}").status_code == 503  # S3 said SlowDown
    # Half-deleted: already out of every list and unreadable, never back.
    assert client.http.get(f"/images/{image['image_id']}").status_code == 404
    assert client.http.get("/images?tag=t").json_body["count"] == client.http.get("/images").json_body["count"] == 0
    deliver(client, image["original_key"])  # a late event must not revive it
    assert client.http.get("/images").json_body["count"] == 0
    assert client.http.delete(f"/images/{image['image_id']}").status_code == 200  # the client's retry
    assert objects(s3) == [] and ImageStore(TABLE).get(image["image_id"]) is None


# -- reprocess when the copy fails -----------------------------------------------------------------

def test_reprocess_whose_copy_fails_answers_an_error_and_its_retry_works(client, s3, jpeg, monkeypatch):
    image = ready(client, jpeg)
    path = f"/images/{image['image_id']}/reprocess"

    def slow_down(**_):  # before-call passes no parsed reply
        raise ClientError(SLOW_DOWN, "CopyObject")

    events = clients.client("s3").meta.events
    events.register("before-call.s3.CopyObject", slow_down, unique_id="slow-down")
    assert client.http.post(path).status_code == 503
    after = client.http.get(f"/images/{image['image_id']}").json_body
    assert after["status"] == "ready" and after["variants"] == image["variants"]  # still served as it was
    events.unregister("before-call.s3.CopyObject", unique_id="slow-down")
    assert client.http.post(path).status_code == 202
    deliver(client, image["original_key"], "ObjectCreated:Copy")
    again = client.http.get(f"/images/{image['image_id']}").json_body
    assert again["status"] == "ready" and again["sha256"] == image["sha256"]
    assert objects(s3, "processed/") == sorted(v["key"] for v in again["variants"].values())


def test_reprocess_whose_original_is_missing_answers_409(client, s3, jpeg):
    image = ready(client, jpeg)
    s3.delete_object(Bucket=BUCKET, Key=image["original_key"])  # its ObjectRemoved not yet handled
    reply = client.http.post(f"/images/{image['image_id']}/reprocess")
    assert reply.status_code == 409 and "has not been uploaded" in reply.json_body["error"]
    assert json.dumps(reply.json_body).count("error") == 1


# -- which AWS errors a client may simply retry ---------------------------------------------------

def _client_error(code: str, status: int | None = None) -> ClientError:
    reply: dict = {"Error": {"Code": code, "Message": code}}
    if status is not None:
        reply["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(reply, "AnyOperation")


def _raised_while_handling(cause: BaseException, error: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except type(cause):
            raise error  # noqa: B904 (what a wrapper without `from` does, as powertools' parameters)
    except type(error) as caught:
        return caught


@pytest.mark.parametrize(
    "error, transient",
    [
        (_client_error("SlowDown", 503), True),
        (_client_error("ThrottlingException", 400), True),
        (_client_error("ProvisionedThroughputExceededException", 400), True),
        (_client_error("RequestLimitExceeded"), True),
        (_client_error("InternalError", 500), True),
        (_client_error("ServiceUnavailable", 503), True),
        (_client_error("RequestTimeout", 400), True),
        (_client_error("ConditionalCheckFailedException", 400), False),
        (_client_error("AccessDenied", 403), False),
        (_client_error("NoSuchKey", 404), False),
        (_client_error("ValidationException", 400), False),
        (EndpointConnectionError(endpoint_url="https://s3"), True),
        (ReadTimeoutError(endpoint_url="https://s3"), True),
        (ConnectTimeoutError(endpoint_url="https://s3"), True),
        (NoCredentialsError(), False),
        (ValueError("a bug"), False),
        (_raised_while_handling(_client_error("ThrottlingException", 400), RuntimeError("wrapped")), True),
        (_raised_while_handling(ValueError("a bug"), RuntimeError("wrapped")), False),
    ],
    ids=lambda v: (v.response["Error"]["Code"] if isinstance(v, ClientError) else type(v).__name__)
    if isinstance(v, BaseException) else ("transient" if v else "not"),
)
def test_an_error_is_transient_exactly_when_the_sdk_itself_would_retry_it(error, transient):
    assert clients.transient(error) is transient

