"""The S3 event handlers: any object under uploads/ becomes a ready or rejected
image, idempotently, and records follow objects that disappear."""
from __future__ import annotations

import unicodedata

import pytest
from botocore.exceptions import ClientError

from app import app
from chalicelib import bootstrap
from chalicelib.domain import keys
from tests.conftest import BUCKET, deliver, image_bytes
from tests.test_api import objects, ready, upload


def get(client, image_id):
    return client.http.get(f"/images/{image_id}").json_body


def direct_put(client, s3, key, data, deliver_event=True):
    """What `aws s3 cp` does, plus the event S3 would send."""
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    if deliver_event:
        deliver(client, key)
    return keys.image_id_for_object(BUCKET, key)


AWKWARD_KEYS = [
    "uploads/alice/my cat.jpg",
    "uploads/alice/a+b.jpg",
    "uploads/alice/100% real.jpg",
    "uploads/alice/café ☕ 東京.jpg",
    "uploads/alice/holiday 2026/day+1 (copy).jpg",
    "uploads/bob.smith@example.com/x.jpg",
]


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_direct_uploads_with_awkward_keys_become_ready(client, s3, jpeg, key):
    image_id = direct_put(client, s3, key, jpeg)
    image = get(client, image_id)
    assert image["status"] == "ready", image
    assert image["source"] == "s3" and image["original_key"] == key
    assert image["owner"] == key.split("/")[1]
    assert image["filename"] == key.rsplit("/", 1)[1]
    assert image["width"] == 640 and image["format"] == "JPEG" and len(image["sha256"]) == 64
    for variant in image["variants"].values():
        assert s3.head_object(Bucket=BUCKET, Key=variant["key"])["ContentLength"] == variant["size_bytes"]
    listed = client.http.get(f"/images?user_id={image['owner']}").json_body["images"]
    assert [i["image_id"] for i in listed] == [image_id]


def test_a_decomposed_unicode_key_is_read_exactly_and_shown_composed(client, s3, jpeg):
    key = unicodedata.normalize("NFD", "uploads/alice/café.jpg")
    image = get(client, direct_put(client, s3, key, jpeg))
    assert image["status"] == "ready" and image["original_key"] == key
    assert image["filename"] == "café.jpg"


def test_api_uploads_are_found_by_their_key_not_duplicated(client, ddb, jpeg):
    image = ready(client, jpeg, tags=["x"])
    assert image["status"] == "ready" and image["source"] == "api" and image["tags"] == ["x"]
    assert client.http.get("/images").json_body["count"] == 1


def test_variants_fit_their_box_and_are_never_upscaled(client, s3):
    image = ready(client, image_bytes("JPEG", (3000, 1500)))
    sizes = {n: (v["width"], v["height"]) for n, v in image["variants"].items()}
    assert sizes == {"thumb": (256, 128), "medium": (1024, 512), "large": (2048, 1024)}
    small = ready(client, image_bytes("JPEG", (300, 200)))
    assert {n: (v["width"], v["height"]) for n, v in small["variants"].items()} == {
        "thumb": (256, 171), "medium": (300, 200), "large": (300, 200)}


def test_exif_orientation_is_honoured(client):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    data = image_bytes("JPEG", (400, 200), exif=exif.tobytes())
    image = ready(client, data)
    assert (image["width"], image["height"]) == (200, 400)
    assert (image["variants"]["thumb"]["width"], image["variants"]["thumb"]["height"]) == (128, 256)


def test_transparent_images_keep_alpha_in_webp_variants(client, s3, png_alpha):
    image = ready(client, png_alpha)
    thumb = image["variants"]["thumb"]
    assert thumb["content_type"] == "image/webp" and thumb["key"].endswith("/thumb.webp")


# -- idempotency and ordering ------------------------------------------------------

def test_duplicate_delivery_leaves_one_record_and_the_same_variants(client, s3, ddb, jpeg, monkeypatch):
    image_id = direct_put(client, s3, "uploads/alice/twice.jpg", jpeg)
    first = get(client, image_id)
    puts = []
    monkeypatch.setattr("chalicelib.adapters.blobs.BlobStore.put", lambda self, key, *a, **k: puts.append(key))
    deliver(client, "uploads/alice/twice.jpg")
    deliver(client, "uploads/alice/twice.jpg", "ObjectCreated:CompleteMultipartUpload")
    assert puts == []  # nothing re-rendered
    now = get(client, image_id)  # one read: presigned URLs change with the second they are signed in
    assert now == {**first, "urls": now["urls"]}
    assert client.http.get("/images").json_body["count"] == 1


def test_overwriting_a_key_reprocesses_it_and_drops_stale_variants(client, s3, png_alpha, jpeg):
    key = "uploads/alice/changing.img"
    image_id = direct_put(client, s3, key, png_alpha)
    before = get(client, image_id)
    assert before["variants"]["thumb"]["key"].endswith(".webp")
    direct_put(client, s3, key, jpeg)
    after = get(client, image_id)
    assert after["status"] == "ready" and after["sha256"] != before["sha256"] and after["width"] == 640
    assert after["created_at"] == before["created_at"] and after["updated_at"] > before["updated_at"]
    assert objects(s3, f"processed/{image_id}/") == sorted(v["key"] for v in after["variants"].values())
    assert all(v["key"].endswith(".jpg") for v in after["variants"].values())


def test_a_created_event_for_an_object_already_gone_does_nothing(client, s3, jpeg):
    key = "uploads/alice/ephemeral.jpg"
    direct_put(client, s3, key, jpeg, deliver_event=False)
    s3.delete_object(Bucket=BUCKET, Key=key)
    deliver(client, key, "ObjectRemoved:Delete")
    deliver(client, key)  # arrives late
    assert client.http.get("/images").json_body["count"] == 0
    assert objects(s3) == []


def test_a_removed_event_for_an_object_that_was_put_again_keeps_it(client, s3, jpeg):
    key = "uploads/alice/back.jpg"
    image_id = direct_put(client, s3, key, jpeg)
    deliver(client, key, "ObjectRemoved:Delete")  # stale: the object is there
    assert get(client, image_id)["status"] == "ready"


# -- removal -------------------------------------------------------------------------

def test_deleting_the_object_removes_record_and_variants(client, s3, ddb, jpeg):
    key = "uploads/alice/gone soon.jpg"
    image_id = direct_put(client, s3, key, jpeg)
    s3.delete_object(Bucket=BUCKET, Key=key)
    deliver(client, key, "ObjectRemoved:Delete")
    deliver(client, key, "ObjectRemoved:Delete")  # twice is fine
    assert client.http.get(f"/images/{image_id}").status_code == 404
    assert objects(s3) == [] and ddb.scan(TableName="imgstore-dev-images")["Count"] == 0


def test_deleting_an_api_upload_object_removes_its_record(client, s3, jpeg):
    image = ready(client, jpeg, tags=["t"])
    s3.delete_object(Bucket=BUCKET, Key=image["original_key"])
    deliver(client, image["original_key"], "ObjectRemoved:Delete")
    assert client.http.get(f"/images/{image['image_id']}").status_code == 404
    assert client.http.get("/images?tag=t").json_body["count"] == 0
    assert objects(s3) == []


# -- rejection -------------------------------------------------------------------------

@pytest.mark.parametrize("name, data, reason", [
    ("notes.jpg", b"Dear diary, this is not a picture.", "not a supported image"),
    ("drawing.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not a supported image"),
    ("truncated.jpg", image_bytes("JPEG", (800, 600), quality=95)[:1500], "truncated or corrupt"),
    ("starts-like.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not a readable PNG"),
])
def test_bad_images_are_rejected_their_object_quarantined_and_the_record_kept(client, s3, name, data, reason):
    key = f"uploads/alice/{name}"
    image_id = direct_put(client, s3, key, data)
    image = get(client, image_id)
    assert image["status"] == "rejected" and reason in image["status_reason"]
    assert image["variants"] == {} and "original" not in image["urls"]
    assert objects(s3) == [f"quarantine/{key}"]
    assert s3.get_object(Bucket=BUCKET, Key=f"quarantine/{key}")["Body"].read() == data
    # Moving it out of uploads/ fires ObjectRemoved: the record must survive it.
    deliver(client, key, "ObjectRemoved:Delete")
    assert get(client, image_id)["status"] == "rejected"
    assert client.http.get("/images?status=rejected&user_id=alice").json_body["count"] == 1
    # And the rejected record can still be deleted through the API.
    assert client.http.delete(f"/images/{image_id}").status_code == 200


def test_an_api_upload_that_fails_decoding_is_rejected(client, s3):
    fake_png = b"\x89PNG\r\n\x1a\n" + b"garbage" * 10
    record = upload(client, fake_png, filename="fake.png").json_body
    assert record["status"] == "pending"
    deliver(client, record["original_key"])
    image = get(client, record["image_id"])
    assert image["status"] == "rejected" and image["source"] == "api"
    assert objects(s3) == [f"quarantine/{record['original_key']}"]


def test_an_object_over_the_size_limit_is_rejected_without_being_read(client, s3, monkeypatch):
    reads = []
    monkeypatch.setattr("chalicelib.adapters.blobs.BlobStore.get", lambda *a, **k: reads.append(a))
    image_id = direct_put(client, s3, "uploads/alice/huge.jpg", b"\xff\xd8\xff" + b"\0" * (25 * 1024 * 1024 + 1))
    image = get(client, image_id)
    assert image["status"] == "rejected" and image["status_reason"] == "file is 26,214,404 bytes; the limit is 25 MB (26,214,400 bytes)"
    assert reads == [] and objects(s3) == ["quarantine/uploads/alice/huge.jpg"]


def test_an_object_without_an_owner_folder_is_rejected_with_a_reason(client, s3, jpeg):
    image = get(client, direct_put(client, s3, "uploads/loose.jpg", jpeg))
    assert image["status"] == "rejected" and "uploads/{owner}/" in image["status_reason"]


def test_an_overwrite_after_rejection_is_processed(client, s3, jpeg):
    key = "uploads/alice/second try.jpg"
    image_id = direct_put(client, s3, key, b"not an image")
    assert get(client, image_id)["status"] == "rejected"
    direct_put(client, s3, key, jpeg)
    image = get(client, image_id)
    assert image["status"] == "ready" and image["status_reason"] is None


# -- failures that must be retried ---------------------------------------------------------

def test_a_transient_aws_error_raises_so_lambda_retries(client, s3, jpeg, monkeypatch):
    def throttled(self, key, *args, **kwargs):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "PutObject")

    key = "uploads/alice/retry.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=jpeg)
    with monkeypatch.context() as patch:
        patch.setattr("chalicelib.adapters.blobs.BlobStore.put", throttled)
        with pytest.raises(ClientError):
            deliver(client, key)
    image_id = keys.image_id_for_object(BUCKET, key)
    failed = get(client, image_id)
    assert failed["status"] == "failed" and "retried" in failed["status_reason"]
    deliver(client, key)  # Lambda's retry
    image = get(client, image_id)
    assert image["status"] == "ready" and image["status_reason"] is None


# -- no recursion ----------------------------------------------------------------------------

def _subscribed(key: str) -> bool:
    """Whether S3 would send `key` to any handler, by the rules AWS applies."""
    from chalice.app import S3EventConfig

    return any(key.startswith(source.prefix or "") and key.endswith(source.suffix or "")
               for source in app.event_sources if isinstance(source, S3EventConfig))


def test_writing_variants_never_triggers_processing(client, s3, jpeg, monkeypatch):
    from chalice.app import S3EventConfig

    s3_sources = [s for s in app.event_sources if isinstance(s, S3EventConfig)]
    assert {tuple(s.events) for s in s3_sources} == {("s3:ObjectCreated:*",), ("s3:ObjectRemoved:*",)}
    assert all(s.prefix == "uploads/" for s in s3_sources)
    written = []
    original_put = __import__("chalicelib.adapters.blobs", fromlist=["BlobStore"]).BlobStore.put

    def recording_put(self, key, *args, **kwargs):
        written.append(key)
        return original_put(self, key, *args, **kwargs)

    monkeypatch.setattr("chalicelib.adapters.blobs.BlobStore.put", recording_put)
    direct_put(client, s3, "uploads/alice/recursion.jpg", jpeg)
    assert len(written) == 3 and not any(_subscribed(k) for k in written)
    assert _subscribed("uploads/alice/recursion.jpg")


def test_events_outside_uploads_or_from_another_bucket_are_ignored(client, s3, jpeg):
    s3.put_object(Bucket=BUCKET, Key="processed/x/thumb.jpg", Body=jpeg)
    deliver(client, "processed/x/thumb.jpg")
    # The key exists in our bucket too: only the bucket check keeps it from being processed.
    s3.put_object(Bucket=BUCKET, Key="uploads/a/b.jpg", Body=jpeg)
    client.lambda_.invoke("on_upload", client.events.generate_s3_event(bucket="someone-else", key="uploads/a/b.jpg"))
    assert client.http.get("/images").json_body["count"] == 0
    deliver(client, "uploads/a/b.jpg")  # the same key from our own bucket is processed
    assert client.http.get("/images").json_body["count"] == 1


def test_a_failure_while_the_image_is_being_deleted_does_not_bring_it_back(client, s3, jpeg, monkeypatch):
    from chalicelib import config
    from chalicelib.adapters.store import ImageStore

    key = "uploads/alice/doomed.jpg"
    image_id = direct_put(client, s3, key, jpeg)
    store = ImageStore(config.load().table)

    def delete_begins_then_processing_fails(data, settings):
        store.mark_deleting(store.get(image_id))  # a DELETE that stopped half-way, meanwhile
        raise RuntimeError("boom")

    monkeypatch.setattr("chalicelib.imaging.process", delete_begins_then_processing_fails)
    with pytest.raises(RuntimeError, match="boom"):
        bootstrap.s3_events().reprocess(image_id)
    record = store.get(image_id)
    assert record.deleting and record.status == "ready"
    assert client.http.get("/images").json_body["count"] == 0
