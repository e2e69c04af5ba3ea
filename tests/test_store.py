"""The DynamoDB store: every list form is one Query reading at most limit+1 items."""
from __future__ import annotations

import itertools
import json
from dataclasses import replace

import pytest

from chalicelib.adapters import aws
from chalicelib.adapters.store import ImageStore, index_for
from chalicelib.domain import keys
from chalicelib.domain.errors import Conflict, Invalid
from chalicelib.domain.records import ImageRecord
from tests.conftest import TABLE


def make(owner="alice", tags=(), status="ready", n=0) -> ImageRecord:
    image_id = keys.new_image_id()
    return ImageRecord(image_id=image_id, owner=owner, filename="f.jpg", source="api", status=status,
                       original_key=keys.original_key(owner, image_id, "f.jpg"), tags=list(tags),
                       created_at=f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}.000Z")


@pytest.fixture
def store(aws):
    return ImageStore(TABLE)


@pytest.fixture
def reads():
    """ScannedCount of every Query, and a failure on any Scan."""
    seen: list[int] = []
    events = aws.client("dynamodb").meta.events

    def after_query(parsed, **_):
        seen.append(parsed["ScannedCount"])

    def no_scan(**_):
        raise AssertionError("listing must never Scan")

    events.register("after-call.dynamodb.Query", after_query)
    events.register("before-call.dynamodb.Scan", no_scan)
    yield seen
    events.unregister("after-call.dynamodb.Query", after_query)
    events.unregister("before-call.dynamodb.Scan", no_scan)


def _all_pages(store, limit, **filters):
    records, start, pages = [], None, 0
    while True:
        page = store.list(limit=limit, cursor=start, **filters)
        records += page.records
        pages += 1
        if page.cursor is None:
            return records, pages
        start = page.cursor


def test_create_get_and_conflict(store):
    record = store.create(make(tags=["a", "b"]))
    assert record.version == 1
    assert store.get(record.image_id) == record
    assert store.get("f" * 32) is None
    with pytest.raises(Conflict):
        store.create(record)


def test_a_failed_create_writes_no_tag_items(store, ddb):
    record = store.create(make(tags=["a"]))
    with pytest.raises(Conflict):
        store.create(replace(record, tags=["a", "brand-new"]))
    items = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": f"IMG#{record.image_id}"}})["Items"]
    assert sorted(i["sk"]["S"] for i in items) == ["IMAGE", "TAG#a"]


def test_save_is_optimistic_and_tag_items_follow(store):
    first = store.create(make(tags=["old", "keep"]))
    second = store.save(first.touch(tags=["keep", "new"]), first)
    assert second.version == 2
    with pytest.raises(Conflict):
        store.save(first.touch(title="stale"), first)
    assert [r.image_id for r in store.list(owner=None, tag="new", status=None, limit=5).records] == [first.image_id]
    assert store.list(owner=None, tag="old", status=None, limit=5).records == []
    assert [r.image_id for r in store.list(owner=None, tag="keep", status=None, limit=5).records] == [first.image_id]


def test_a_cursor_from_another_list_is_refused_not_sent(store):
    for i in range(3):
        store.create(make(owner="alice", n=i))
    page = store.list(owner="alice", tag=None, status=None, limit=1)
    assert page.cursor and store.list(owner="alice", tag=None, status=None, limit=1, cursor=page.cursor).records
    foreign = json.dumps({**json.loads(page.cursor), "list": "O#bob"})
    with pytest.raises(Invalid, match="the cursor does not belong to this list"):
        store.list(owner="alice", tag=None, status=None, limit=1, cursor=foreign)
    shard = json.dumps({**json.loads(page.cursor), "shards": ["99"]})
    with pytest.raises(Invalid, match="the cursor does not belong to this list"):
        store.list(owner="alice", tag=None, status=None, limit=1, cursor=shard)
    with pytest.raises(Invalid, match="the cursor is malformed"):
        store.list(owner="alice", tag=None, status=None, limit=1, cursor=json.dumps({"list": "O#alice", "after": "x", "shards": [""]}))
    with pytest.raises(Invalid, match="the cursor does not belong to this list"):
        store.list(owner=None, tag="x", status=None, limit=1, cursor=page.cursor)
    with pytest.raises(Invalid, match="the cursor is malformed"):
        store.list(owner="alice", tag=None, status=None, limit=1, cursor="not json")


def test_records_being_deleted_drop_out_of_every_list(store):
    record = store.create(make(tags=["x"]))
    marked = store.mark_deleting(record)
    assert marked.deleting and store.get(record.image_id).deleting
    for owner, tag in itertools.product((None, "alice"), (None, "x")):
        assert store.list(owner=owner, tag=tag, status=None, limit=5).records == []
    store.delete(marked)
    store.delete(marked)  # repeating is harmless
    assert store.get(record.image_id) is None


def test_index_partitions_are_distinct_for_every_filter_combination():
    combos = list(itertools.product((None, "alice"), (None, "cat"), (None, "ready")))
    assert len({index_for(*c) for c in combos}) == 8


class _Recording:
    """A DynamoDB client that keeps the items it is asked to put, and sends nothing."""

    def __init__(self):
        self.items = []

    def transact_write_items(self, TransactItems):
        self.items += [operation["Put"]["Item"] for operation in TransactItems]

    def put_item(self, **put):
        self.items.append(put["Item"])


def _bulk_write(store: ImageStore, records: list[ImageRecord]) -> None:
    """The exact items create() writes, sent with BatchWriteItem: moto's
    TransactWriteItems copies the whole table per call, too slow for 500."""
    recording = _Recording()
    for record in records:
        ImageStore(store.table, client=recording).create(record)
    requests = recording.items
    for start in range(0, len(requests), 25):
        batch = [{"PutRequest": {"Item": item}} for item in requests[start:start + 25]]
        aws.client("dynamodb").batch_write_item(RequestItems={TABLE: batch})


@pytest.fixture(scope="module")
def crowded():
    """500 images by other owners with other tags, and a few that match the filters below."""
    from moto import mock_aws

    from scripts.bootstrap import bootstrap
    from tests.conftest import ENV

    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in {**ENV, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1"}.items():
            patch.setenv(name, value)
        aws.reset()
        bootstrap(ENV)
        store = ImageStore(TABLE)
        others = [make(owner=f"user{i % 50}", tags=[f"t{i % 30}"], status="ready", n=i) for i in range(500)]
        matches = [make(owner="carol", tags=tags, status=status, n=600 + i) for i, (status, tags) in enumerate(
            [("ready", ["cat"]), ("pending", ["cat", "dog"]), ("ready", ["dog"]), ("rejected", []), ("ready", ["cat"])])]
        _bulk_write(store, others + matches)
        yield store, matches
        aws.reset()


@pytest.mark.parametrize("filters", [
    dict(owner="carol", tag=None, status=None),
    dict(owner=None, tag="cat", status=None),
    dict(owner=None, tag=None, status="pending"),
    dict(owner="carol", tag="cat", status=None),
    dict(owner="carol", tag=None, status="ready"),
    dict(owner=None, tag="cat", status="ready"),
    dict(owner="carol", tag="cat", status="ready"),
])
def test_filtered_lists_read_at_most_limit_plus_one(crowded, reads, filters):
    store, matches = crowded
    expected = [r for r in reversed(matches)
                if (filters["tag"] is None or filters["tag"] in r.tags)
                and (filters["status"] is None or r.status == filters["status"])]
    assert expected, "the fixture must have matches for every filter"
    records, pages = _all_pages(store, limit=2, **filters)
    assert [r.image_id for r in records] == [r.image_id for r in expected]  # newest first, complete
    assert pages == max(1, -(-len(expected) // 2))  # no empty trailing page
    assert reads and max(reads) <= 3


def test_unfiltered_list_pages_through_everything_newest_first(crowded, reads):
    store, _ = crowded
    records, pages = _all_pages(store, limit=100, owner=None, tag=None, status=None)
    assert len(records) == 505 and len({r.image_id for r in records}) == 505
    assert [r.created_at for r in records] == sorted((r.created_at for r in records), reverse=True)
    assert pages == 6 and max(reads) <= 101
