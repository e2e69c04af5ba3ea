"""The image record: tag rules, timestamps, and its DynamoDB and API forms."""
import json
import re
from decimal import Decimal

import pytest

from chalicelib.domain.errors import Invalid
from chalicelib.domain.records import ImageRecord, Variant, normalize_tags, now_iso


def test_tags_are_lowercased_trimmed_and_deduplicated_in_order():
    assert normalize_tags([" Sunset", "#beach", "sunset", "BEACH", "café"]) == ["sunset", "beach", "café"]


@pytest.mark.parametrize("tags, message", [
    ("sunset", "list of strings"),
    (["ok", 3], "list of strings"),
    ([""], "empty"),
    (["   "], "empty"),
    (["x" * 65], "longer than 64"),
    (["a#b"], "#"),
    (["new\nline"], "control"),
    (["a,b"], "','"),
    (["zero\u200bwidth"], "format characters"),
    ([f"t{i}" for i in range(21)], "at most 20"),
])
def test_bad_tags_are_refused_with_a_reason(tags, message):
    with pytest.raises(Invalid, match=message):
        normalize_tags(tags)


def test_twenty_tags_as_sent_and_sixty_four_characters_are_fine():
    assert len(normalize_tags([f"t{i}" for i in range(19)] + ["T0"])) == 19
    with pytest.raises(Invalid, match="at most 20 tags are allowed, got 21"):
        normalize_tags(["same"] * 21)  # counted as sent, before duplicates merge
    assert normalize_tags(["x" * 64]) == ["x" * 64]


def test_timestamps_are_utc_iso_with_z_and_sort_as_text():
    stamp = now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    assert now_iso() >= stamp


def _record():
    return ImageRecord(
        image_id="a" * 32, owner="alice", filename="cat.jpg", original_key="uploads/alice/x/cat.jpg",
        source="api", status="ready", tags=["cat"], width=640, height=480, size_bytes=5429,
        variants={"thumb": Variant("processed/a/thumb.jpg", 256, 192, 576, "image/jpeg")},
        details={"has_alpha": False, "aspect": 1.3333},
    )


def test_dynamodb_round_trip_turns_decimals_back_into_plain_numbers():
    item = _record().to_item()
    assert isinstance(item["details"]["aspect"], Decimal)  # DynamoDB refuses floats
    # What boto3 hands back: every number a Decimal.
    stored = json.loads(json.dumps(item, default=str), parse_float=Decimal, parse_int=Decimal)
    stored["width"], stored["version"] = Decimal("640"), Decimal("3")
    back = ImageRecord.from_item({**stored, "pk": "IMG#x", "sk": "IMAGE", "g1pk": "IMG"})
    assert back.width == 640 and type(back.width) is int
    assert back.variants["thumb"].width == 256 and type(back.variants["thumb"].width) is int
    assert back.version == 3


def test_api_json_has_the_documented_fields_and_no_internals():
    body = _record().to_api()
    assert set(body) >= {"image_id", "owner", "filename", "title", "description", "tags", "status",
                         "status_reason", "source", "content_type", "format", "width", "height",
                         "size_bytes", "sha256", "original_key", "variants", "created_at", "updated_at"}
    assert not {"version", "etag", "deleting", "expires_at", "details", "pk"} & set(body)
    assert body["has_alpha"] is False  # details are flattened in
    assert body["variants"]["thumb"] == {"key": "processed/a/thumb.jpg", "width": 256, "height": 192,
                                         "size_bytes": 576, "content_type": "image/jpeg"}
    text = json.dumps(body)
    assert "Decimal" not in text and '"width": 640,' in text


def test_touch_changes_updated_at_only_forwards():
    record = _record()
    later = record.touch(title="New")
    assert later.title == "New" and record.title == ""
    assert later.updated_at >= record.updated_at and later.created_at == record.created_at
