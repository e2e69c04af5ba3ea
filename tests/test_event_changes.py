"""From a DynamoDB stream record of the image record to the event it announces."""
from dataclasses import replace

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.events import changes
from chalicelib.events.changes import MAX_BODY_BYTES, event_for
from chalicelib.events.vocabulary import EventType
from chalicelib.domain.records import ImageRecord, Variant
from chalicelib.adapters.store import ImageStore

_ser = TypeSerializer()
THUMB = {"thumb": Variant("processed/a/thumb.jpg", 256, 192, 576, "image/jpeg")}


def _record(**changes_) -> ImageRecord:
    base = ImageRecord(
        image_id="a" * 32, owner="alice", filename="cat.jpg", original_key="uploads/alice/x/cat.jpg",
        source="api", status="pending", tags=["cat"], created_at="2026-12-04T03:00:00.000Z", version=1,
    )
    return replace(base, **changes_)


def _item(record: ImageRecord | None) -> dict | None:
    """The record item exactly as the store writes it (index keys and all), in wire form."""
    if record is None:
        return None
    store = ImageStore("t")
    item = store._put_record(record, "")["Put"]["Item"]
    return item


def _stream(old: ImageRecord | None, new: ImageRecord | None, when: float = 1796353200.5) -> dict:
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    some = new or old
    assert some is not None
    images = {"Keys": {"pk": {"S": f"IMG#{some.image_id}"}, "sk": {"S": "IMAGE"}},
              "ApproximateCreationDateTime": when, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if old is not None:
        images["OldImage"] = _item(old)
    if new is not None:
        images["NewImage"] = _item(new)
    return {"eventName": name, "eventSource": "aws:dynamodb", "dynamodb": images}


pending = _record()
ready = _record(status="ready", version=2, format="jpeg", content_type="image/jpeg", width=640, height=480,
                size_bytes=5429, sha256="f" * 64, variants=THUMB, etag="e1", presets_fingerprint="p1",
                updated_at="2026-12-04T03:00:01.000Z")


def test_an_upload_announces_nothing_until_it_is_judged():
    assert event_for(_stream(None, pending)) is None


def test_ready_announces_the_public_record_without_urls_or_internals():
    event = event_for(_stream(pending, ready))
    assert event is not None and event.type is EventType.IMAGE_READY
    assert event.id == changes.event_id(ready.image_id, 2, ready.created_at)
    assert event.timestamp == "2026-12-04T03:00:01.000Z"
    assert event.data == {
        "image_id": "a" * 32, "owner": "alice", "status": "ready", "status_reason": None, "version": 2,
        "filename": "cat.jpg", "title": "", "description": "", "tags": ["cat"], "source": "api",
        "format": "jpeg", "content_type": "image/jpeg", "width": 640, "height": 480, "size_bytes": 5429,
        "created_at": "2026-12-04T03:00:00.000Z", "updated_at": "2026-12-04T03:00:01.000Z",
    }
    assert '"type":"image.ready"' in event.body() and "processed/" not in event.body()


def test_the_same_change_is_the_same_event_byte_for_byte():
    first, again = event_for(_stream(pending, ready)), event_for(_stream(pending, ready, when=1796400000))
    assert first is not None and again is not None
    assert (first.id, first.body()) == (again.id, again.body())


def test_a_record_made_again_under_the_same_id_gets_other_event_ids():
    later = replace(ready, created_at="2026-12-05T00:00:00.000Z")
    assert event_for(_stream(pending, ready)).id != event_for(_stream(replace(pending, created_at=later.created_at), later)).id


def test_a_reprocess_announces_ready_again_only_when_the_variants_are_made():
    stale = replace(ready, version=3, presets_fingerprint=None)
    assert event_for(_stream(ready, stale)) is None
    remade = replace(stale, version=4, presets_fingerprint="p2",
                     variants={"thumb": Variant("processed/a/thumb.webp", 256, 192, 400, "image/webp")})
    event = event_for(_stream(stale, remade))
    assert event is not None and (event.type, event.version) == (EventType.IMAGE_READY, 4)


@pytest.mark.parametrize("status, kind", [("rejected", EventType.IMAGE_REJECTED), ("failed", EventType.IMAGE_FAILED)])
def test_rejected_and_failed_are_announced_with_the_reason(status, kind):
    judged = replace(pending, version=2, status=status, status_reason="not an image")
    event = event_for(_stream(pending, judged))
    assert event is not None and event.type is kind and event.data["status_reason"] == "not an image"
    # Bookkeeping after it (the quarantine key, a retry failing again) is not news.
    assert event_for(_stream(judged, replace(judged, version=3, quarantine_key="quarantine/x"))) is None


def test_a_patch_announces_updated_and_one_changing_nothing_does_not():
    patched = replace(ready, version=3, title="A cat", updated_at="2026-12-04T03:01:00.000Z")
    event = event_for(_stream(ready, patched))
    assert event is not None and event.type is EventType.IMAGE_UPDATED and event.data["title"] == "A cat"
    assert event_for(_stream(ready, replace(ready, version=3, updated_at="2026-12-04T03:02:00.000Z"))) is None
    retagged = replace(ready, version=3, tags=["cat", "pet"])
    assert event_for(_stream(ready, retagged)).type is EventType.IMAGE_UPDATED


def test_a_delete_is_announced_once_when_it_begins():
    marked = replace(ready, version=3, deleting=True)
    event = event_for(_stream(ready, marked, when=1796353260))
    assert event is not None and event.type is EventType.IMAGE_DELETED and event.version == 3
    assert event.timestamp == "2026-12-04T03:01:00.000Z"
    assert event_for(_stream(marked, None)) is None  # the removal that finishes it


def test_a_record_expired_by_ttl_is_announced_deleted_at_the_next_version():
    rejected = replace(pending, version=2, status="rejected", status_reason="bad")
    event = event_for(_stream(rejected, None))
    assert event is not None and event.type is EventType.IMAGE_DELETED and event.version == 3
    assert event.id == changes.event_id(rejected.image_id, 3, rejected.created_at)


def test_tag_items_and_other_items_are_ignored():
    tag_item = {"pk": {"S": "IMG#" + "a" * 32}, "sk": {"S": "TAG#cat"}, "image_id": {"S": "a" * 32}}
    record = {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": tag_item["pk"], "sk": tag_item["sk"]},
                                                  "NewImage": tag_item}}
    assert event_for(record) is None
    hook = {"pk": {"S": "HOOK#1"}, "sk": {"S": "IMAGE"}}
    assert event_for({"eventName": "INSERT", "dynamodb": {"Keys": hook, "NewImage": hook}}) is None


def test_the_largest_record_the_api_allows_fits_in_20_kb_whole():
    from chalicelib.domain.records import MAX_DESCRIPTION_LENGTH, MAX_TAG_LENGTH, MAX_TAGS, MAX_TITLE_LENGTH

    # The widest characters JSON can hold: a control character is escaped to six bytes, an emoji is four.
    largest = replace(ready, title="🐈" * MAX_TITLE_LENGTH, description="\x01" * MAX_DESCRIPTION_LENGTH,
                      filename="🐈" * 255, status_reason="r" * 500,
                      tags=[f"{i:02d}" + "🐈" * (MAX_TAG_LENGTH - 2) for i in range(MAX_TAGS)])
    event = event_for(_stream(pending, largest))
    assert event is not None and "truncated" not in event.data
    assert len(event.body().encode()) <= MAX_BODY_BYTES


def test_a_record_too_large_for_20_kb_loses_its_description_first():
    oversized = replace(ready, description="\x01" * 4000)  # beyond what the API takes: a safety net
    event = event_for(_stream(pending, oversized))
    assert event is not None and len(event.body().encode()) <= MAX_BODY_BYTES
    assert event.data["truncated"] is True and "description" not in event.data and event.data["title"] == ""


def test_the_docs_list_exactly_the_event_types():
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "events.md").read_text()
    table = page.split("## Event types", 1)[1].split("##", 1)[0]
    assert re.findall(r"^\| `([a-z.]+)` \|", table, flags=re.M) == [t.value for t in EventType]
