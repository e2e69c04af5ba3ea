"""A judged rejection never destroys a file: verdicts move the original into
quarantine/, anything else is `failed` and retried, and an operator can bring a
quarantined original back for another try."""
from __future__ import annotations

import errno
import threading
from urllib.parse import unquote

import pytest
from botocore.exceptions import ClientError

from chalicelib import bootstrap
from chalicelib.adapters.store import ImageStore
from chalicelib.domain import keys
from tests.conftest import BUCKET, TABLE, deliver, image_bytes
from tests.test_api import objects

TEXT = b"Dear diary, this is not a picture."


def put(s3, key: str, data: bytes) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="image/jpeg")
    return keys.image_id_for_object(BUCKET, key)


def record(image_id: str):
    return ImageStore(TABLE).get(image_id)


def body(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def rejected(client, s3, key="uploads/alice/notes.jpg", data=TEXT) -> str:
    image_id = put(s3, key, data)
    deliver(client, key)
    assert record(image_id).status == "rejected"
    return image_id


# -- the move -------------------------------------------------------------------------

def test_a_rejected_original_is_kept_privately_with_its_reason(client, s3):
    key = "uploads/alice/notes.jpg"
    image_id = rejected(client, s3, key)
    saved = record(image_id)
    assert saved.quarantine_key == f"quarantine/{key}" and "not a supported image" in saved.status_reason
    assert objects(s3) == [saved.quarantine_key] and body(s3, saved.quarantine_key) == TEXT
    assert s3.head_object(Bucket=BUCKET, Key=saved.quarantine_key)["ContentType"] == "image/jpeg"
    # Never served: no URL for it, and the file route refuses.
    image = client.http.get(f"/images/{image_id}").json_body
    assert "original" not in image["urls"] and "quarantine" not in str(image)
    reply = client.http.get(f"/images/{image_id}/file?variant=original")
    assert reply.status_code == 404 and "rejected" in reply.json_body["error"]


def test_the_record_expires_after_the_configured_days(client, s3, monkeypatch):
    import time

    monkeypatch.setenv("QUARANTINE_DAYS", "3")
    before = int(time.time())
    saved = record(rejected(client, s3))
    assert before + 3 * 86400 <= saved.expires_at <= int(time.time()) + 3 * 86400


def test_the_removed_event_of_the_move_and_a_duplicate_created_event_change_nothing(client, s3):
    key = "uploads/alice/notes.jpg"
    image_id = rejected(client, s3, key)
    before = record(image_id)
    deliver(client, key, "ObjectRemoved:Delete")  # what moving it out of uploads/ fires
    deliver(client, key)  # S3 delivering the first event again
    assert record(image_id) == before
    assert objects(s3) == [before.quarantine_key]


def test_a_move_interrupted_after_the_copy_finishes_on_the_retry(client, s3, monkeypatch):
    key = "uploads/alice/notes.jpg"
    image_id = put(s3, key, TEXT)

    def unavailable(self, *args, **kwargs):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "DeleteObject")

    with monkeypatch.context() as patch:
        patch.setattr("chalicelib.adapters.blobs.BlobStore.delete_if", unavailable)
        with pytest.raises(ClientError):
            deliver(client, key)
    assert record(image_id).status == "rejected"
    assert objects(s3) == [f"quarantine/{key}", key]  # copied, not yet removed: nothing lost
    assert client.http.get(f"/images/{image_id}").json_body["urls"].get("original") is None
    deliver(client, key)  # Lambda's retry
    assert objects(s3) == [f"quarantine/{key}"] and body(s3, f"quarantine/{key}") == TEXT
    deliver(client, key)  # and a late duplicate
    assert objects(s3) == [f"quarantine/{key}"] and record(image_id).status == "rejected"


def test_a_move_interrupted_before_the_copy_finishes_on_the_retry(client, s3, monkeypatch):
    key = "uploads/alice/notes.jpg"
    image_id = put(s3, key, TEXT)

    def throttled(self, *args, **kwargs):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "CopyObject")

    with monkeypatch.context() as patch:
        patch.setattr("chalicelib.adapters.blobs.BlobStore.copy", throttled)
        with pytest.raises(ClientError):
            deliver(client, key)
    assert record(image_id).status == "rejected" and objects(s3) == [key]
    deliver(client, key)
    assert objects(s3) == [f"quarantine/{key}"]


@pytest.fixture
def copy_conditions(aws):
    """CopySourceIfMatch as AWS applies it (412 PreconditionFailed); moto 5.2 ignores it."""
    from chalicelib.adapters import aws as clients

    s3 = clients.client("s3")

    def check(params, **_):
        wanted = params.get("CopySourceIfMatch")
        if wanted:
            source = params["CopySource"]  # botocore may have made it "bucket/key" (URL-quoted) already
            if isinstance(source, str):
                bucket, _, key = unquote(source).partition("/")
                source = {"Bucket": bucket, "Key": key}
            head = s3.head_object(Bucket=source["Bucket"], Key=source["Key"])
            if head["ETag"].strip('"') != wanted.strip('"'):
                raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": "At least one of the "
                                             "pre-conditions you specified did not hold"}}, "CopyObject")

    s3.meta.events.register("before-parameter-build.s3.CopyObject", check)


def test_a_newer_upload_at_the_key_is_never_moved(client, s3, monkeypatch, jpeg, copy_conditions):
    """The judged version goes to quarantine only while it is still the one at the key."""
    from chalicelib import imaging

    key = "uploads/alice/changing.jpg"
    image_id = put(s3, key, TEXT)
    judge = imaging.process

    def replaced_while_judging(data, settings):
        # The user uploads again meanwhile (another client: its own thread, not the handler's call).
        upload = threading.Thread(target=s3.put_object, kwargs={"Bucket": BUCKET, "Key": key, "Body": jpeg})
        upload.start()
        upload.join()
        return judge(data, settings)

    with monkeypatch.context() as patch:
        patch.setattr(imaging, "process", replaced_while_judging)
        deliver(client, key)
    assert objects(s3) == [key] and body(s3, key) == jpeg  # untouched, not quarantined
    deliver(client, key)  # the newer version's own event
    saved = record(image_id)
    assert saved.status == "ready" and saved.quarantine_key is None


def test_a_good_overwrite_of_a_rejected_key_drops_the_quarantined_copy(client, s3, jpeg):
    key = "uploads/alice/second try.jpg"
    image_id = rejected(client, s3, key)
    put(s3, key, jpeg)
    deliver(client, key)
    saved = record(image_id)
    assert saved.status == "ready" and saved.quarantine_key is None
    assert objects(s3, "quarantine/") == [] and objects(s3, "uploads/") == [key]


def test_deleting_a_rejected_image_removes_its_quarantined_original(client, s3):
    image_id = rejected(client, s3)
    assert client.http.delete(f"/images/{image_id}").status_code == 200
    assert objects(s3) == [] and record(image_id) is None


def test_a_removed_event_finishing_a_delete_removes_the_quarantined_original_too(client, s3):
    key = "uploads/alice/notes.jpg"
    image_id = rejected(client, s3, key)
    store = ImageStore(TABLE)
    store.mark_deleting(store.get(image_id))  # a DELETE that stopped half-way
    deliver(client, key, "ObjectRemoved:Delete")
    assert objects(s3) == [] and record(image_id) is None


# -- verdict or failure ----------------------------------------------------------------

@pytest.mark.parametrize("fault", [
    MemoryError(),
    OSError(errno.EIO, "Input/output error"),
    RuntimeError("libheif: some other error"),
    AttributeError("'NoneType' object has no attribute 'decode'"),  # a decoder bug
])
def test_an_unexpected_decoder_exception_is_retried_never_rejected(client, s3, monkeypatch, jpeg, fault):
    from PIL import ImageFile

    key = "uploads/alice/photo.jpg"
    image_id = put(s3, key, jpeg)

    def broken(self, *args, **kwargs):
        raise fault

    with monkeypatch.context() as patch:
        patch.setattr(ImageFile.ImageFile, "load", broken)
        with pytest.raises(type(fault)):
            deliver(client, key)
    failed = record(image_id)
    assert failed.status == "failed" and type(fault).__name__ in failed.status_reason
    assert objects(s3) == [key] and body(s3, key) == jpeg  # where it was, untouched
    deliver(client, key)  # Lambda's retry, the fault gone
    assert record(image_id).status == "ready"


def test_a_codec_missing_from_the_build_is_retried_never_rejected(client, s3, monkeypatch, jpeg):
    from chalicelib.imaging import CodecMissing, sniffing

    key = "uploads/alice/photo.jpg"
    image_id = put(s3, key, jpeg)
    with monkeypatch.context() as patch:
        patch.setattr(sniffing, "_available", lambda name: name != "JPEG")
        with pytest.raises(CodecMissing, match="cannot decode JPEG"):
            deliver(client, key)
    assert record(image_id).status == "failed" and objects(s3) == [key]


def test_a_decoder_missing_from_pillow_is_no_verdict_but_its_parse_errors_are():
    from PIL import UnidentifiedImageError

    from chalicelib.domain import formats
    from chalicelib.imaging.decoding import is_verdict

    try:
        try:
            raise AttributeError("module 'PIL._imaging' has no attribute 'jpeg_decoder'")
        except AttributeError as missing:
            raise OSError("decoder jpeg not available") from missing
    except OSError as exc:
        assert not is_verdict(exc, formats.JPEG)
    for verdict in (OSError("image file is truncated"), OSError("broken data stream when reading image file"),
                    OSError("decoder error -2"), SyntaxError("not a TIFF file"), ValueError("tile cannot extend"),
                    EOFError(), UnidentifiedImageError("cannot identify")):
        assert is_verdict(verdict, formats.PNG), verdict
    # pillow-heif: OSError means out of memory, RuntimeError "some other error".
    assert not is_verdict(OSError("out of memory"), formats.HEIF)
    assert not is_verdict(RuntimeError("Decoder plugin generated an error"), formats.HEIF)
    assert is_verdict(ValueError("Invalid input: No 'ftyp' box"), formats.HEIF)
    assert not is_verdict(OSError(errno.ENOSPC, "No space left on device"), formats.PNG)
    for bug in (MemoryError(), TypeError("x"), KeyError("x"), IndexError("x"), AttributeError("x")):
        assert not is_verdict(bug, formats.PNG), bug


# -- bringing it back ----------------------------------------------------------------------

def test_an_operator_restores_a_quarantined_original_and_it_is_judged_again(client, s3, monkeypatch):
    """After an upgrade (here: a higher pixel limit), the same file is accepted."""
    big = image_bytes("PNG", (300, 200))
    monkeypatch.setenv("MAX_PIXELS", "1000")
    key = "uploads/alice/big.png"
    image_id = rejected(client, s3, key, big)
    assert "pixels; the limit is 1000 pixels" in record(image_id).status_reason
    monkeypatch.setenv("MAX_PIXELS", "50000000")

    processor = bootstrap.s3_events
    assert processor().restore(image_id) == "restored"
    back = record(image_id)
    assert back.status == "pending" and back.expires_at is None and back.quarantine_key == f"quarantine/{key}"
    assert body(s3, key) == big  # back where it was; the copy stays until the image is ready
    assert processor().restore(image_id) == "in uploads"  # repeating it never overwrites
    deliver(client, key, "ObjectCreated:Copy")  # what S3 sends for that copy
    ready = record(image_id)
    assert ready.status == "ready" and ready.quarantine_key is None and ready.status_reason is None
    assert objects(s3, "quarantine/") == [] and objects(s3, "uploads/") == [key]
    assert processor().restore(image_id) == "not quarantined"


def test_a_restored_original_rejected_again_goes_back_to_quarantine(client, s3):
    key = "uploads/alice/notes.jpg"
    image_id = rejected(client, s3, key)
    assert bootstrap.s3_events().restore(image_id) == "restored"
    deliver(client, key, "ObjectCreated:Copy")
    again = record(image_id)
    assert again.status == "rejected" and again.quarantine_key == f"quarantine/{key}"
    assert objects(s3) == [f"quarantine/{key}"] and body(s3, f"quarantine/{key}") == TEXT
    deliver(client, key, "ObjectRemoved:Delete")
    assert record(image_id).status == "rejected"


def test_restoring_what_cannot_be_restored_says_why(client, s3, jpeg):
    processor = bootstrap.s3_events()
    assert processor.restore("0" * 32) == "unknown"
    good = put(s3, "uploads/alice/good.jpg", jpeg)
    deliver(client, "uploads/alice/good.jpg")
    assert processor.restore(good) == "not quarantined"
    gone = rejected(client, s3)
    s3.delete_object(Bucket=BUCKET, Key=record(gone).quarantine_key)  # the lifecycle rule expired it
    assert processor.restore(gone) == "expired"
    assert record(gone).status == "rejected"


def test_make_reprocess_restores_by_id(client, s3):
    from scripts import reprocess

    key = "uploads/alice/notes.jpg"
    image_id = rejected(client, s3, key)
    assert reprocess.main(["--stage", "dev", "--restore", image_id, "--restore", "0" * 32]) == {
        "restored": 1, "unknown": 1}
    assert body(s3, key) == TEXT
    deliver(client, key, "ObjectCreated:Copy")
    assert record(image_id).status == "rejected" and objects(s3) == [f"quarantine/{key}"]


def test_make_reprocess_restores_and_renders_here(client, s3, monkeypatch):
    from scripts import reprocess

    monkeypatch.setenv("MAX_PIXELS", "1000")
    key = "uploads/alice/big.png"
    image_id = rejected(client, s3, key, image_bytes("PNG", (300, 200)))
    monkeypatch.setenv("MAX_PIXELS", "50000000")
    assert reprocess.main(["--stage", "dev", "--here", "--restore", image_id]) == {"ready": 1}
    assert record(image_id).status == "ready" and objects(s3, "quarantine/") == []


def test_the_api_cannot_reprocess_a_rejected_image(client, s3):
    image_id = rejected(client, s3)
    reply = client.http.post(f"/images/{image_id}/reprocess")
    assert reply.status_code == 409 and "quarantine" in reply.json_body["error"]
    assert objects(s3) == [record(image_id).quarantine_key]


def test_an_original_too_large_for_one_copy_is_moved_in_parts(client, s3, monkeypatch):
    """Over S3's single-copy limit (5 GB; here made 5 MB) the move copies part by part."""
    from chalicelib.adapters import blobs

    monkeypatch.setattr(blobs, "COPY_LIMIT", 5 * 1024 * 1024)
    monkeypatch.setattr(blobs, "PART_SIZE", 5 * 1024 * 1024)
    data = bytes(range(256)) * (6 * 4096)  # 6 MB of no image: two parts
    key = "uploads/alice/huge.bin"
    parts = []
    from chalicelib.adapters import aws as clients

    clients.client("s3").meta.events.register(
        "provide-client-params.s3.UploadPartCopy", lambda params, **_: parts.append(params["PartNumber"]))
    image_id = rejected(client, s3, key, data)
    assert "not a supported image" in record(image_id).status_reason
    assert objects(s3) == [f"quarantine/{key}"] and body(s3, f"quarantine/{key}") == data
    assert sorted(parts) == [1, 2]
