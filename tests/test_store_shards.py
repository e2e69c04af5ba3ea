"""The lists with no owner are merged from shards: the same pages as one partition would give."""
from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.adapters import aws
from chalicelib.adapters.store import ImageStore
from tests.conftest import TABLE
from tests.test_store import _all_pages, _bulk_write, make, reads, store  # noqa: F401 (fixtures)

FILTERS = [dict(owner=o, tag=t, status=s) for o in (None, "u1") for t in (None, "t0", "t1") for s in (None, "ready")]


def _reference(records, owner, tag, status):
    """The list as it must come out: every matching record, newest first."""
    return [r.image_id for r in sorted(records, key=lambda r: (r.created_at, r.image_id), reverse=True)
            if (owner is None or r.owner == owner) and (tag is None or tag in r.tags)
            and (status is None or r.status == status)]


@pytest.fixture
def sharded(store):
    """60 images over 4 owners, 3 tags and two statuses, pairs in the same millisecond."""
    records = [make(owner=f"u{i % 4}", tags=[f"t{i % 3}", f"t{(i + 1) % 3}"][: 1 + i % 2],
                    status=("ready", "pending")[i % 5 == 0], n=i // 2) for i in range(60)]
    _bulk_write(store, records)
    return records


@pytest.mark.parametrize("limit", [4, 100])
def test_every_list_matches_the_reference_across_shards(store, sharded, reads, limit):
    assert store.shards == 8 and len({r.image_id[:8] for r in sharded}) == 60
    for filters in FILTERS:
        expected = _reference(sharded, **filters)
        reads.clear()
        records, pages = _all_pages(store, limit, **filters)
        assert [r.image_id for r in records] == expected, filters  # newest first, none twice, none missing
        assert pages == max(1, -(-len(expected) // limit))  # no empty trailing page
        assert max(reads) <= limit + 1  # ScannedCount of every Query, per shard
        queries_per_page = 1 if filters["owner"] else store.shards
        assert len(reads) <= pages * queries_per_page


def test_an_owner_list_is_one_query_and_an_admin_page_one_per_shard(store, sharded, reads):
    store.list(owner="u1", tag=None, status=None, limit=5)
    assert len(reads) == 1 and reads[0] == 6
    reads.clear()
    store.list(owner=None, tag=None, status=None, limit=5)
    assert len(reads) == store.shards and sum(reads) <= store.shards * 6


def test_pages_stay_stable_while_new_uploads_arrive(store, sharded):
    existing, n = list(sharded), 1000
    for filters in (dict(owner=None, tag=None, status=None), dict(owner=None, tag="t1", status="ready"),
                    dict(owner="u1", tag=None, status=None)):
        expected = _reference(existing, **filters)
        seen, cursor = [], None
        while True:
            page = store.list(limit=9, cursor=cursor, **filters)
            seen += [r.image_id for r in page.records]
            for _ in range(2):  # newer uploads, matching every filter, land between pages
                existing.append(store.create(make(owner="u1", tags=["t1"], status="ready", n=n)))
                n += 1
            if page.cursor is None:
                break
            cursor = page.cursor
        assert seen == expected


def test_shards_can_grow_without_rewriting_items(store, sharded):
    """Items written with 8 shards are all found with 16, and a cursor carries over."""
    fewer = ImageStore(TABLE, shards=3)
    more = [make(owner="u9", tags=["t0"], n=500 + i) for i in range(10)]
    for record in more:
        fewer.create(record)
    grown = ImageStore(TABLE, shards=16)
    everything = sharded + more
    for filters in (dict(owner=None, tag=None, status=None), dict(owner=None, tag="t0", status=None)):
        records, _ = _all_pages(grown, 6, **filters)
        assert [r.image_id for r in records] == _reference(everything, **filters)
    first = store.list(owner=None, tag=None, status=None, limit=10)
    rest, _ = _all_pages_from(grown, first.cursor, 10, owner=None, tag=None, status=None)
    assert [r.image_id for r in [*first.records, *rest]] == _reference(everything, None, None, None)


def _all_pages_from(store, cursor, limit, **filters):
    records, pages = [], 0
    while cursor is not None:
        page = store.list(limit=limit, cursor=cursor, **filters)
        records += page.records
        pages += 1
        cursor = page.cursor
    return records, pages


def test_a_save_that_keeps_the_list_keys_writes_the_record_alone(store):
    """No transaction (twice the write units) and no tag or word item when only fields change
    (a title that keeps its words keeps its word items: see test_search_store.py for one that does not)."""
    record = store.create(replace(make(tags=["a", "b", "c"], status="pending"), title="New Title"))
    calls: list[str] = []
    events = aws.client("dynamodb").meta.events

    def seen(model, **_):
        calls.append(model.name)

    events.register("before-call.dynamodb", seen)
    try:
        titled = store.save(record.touch(title="new title"), record)
        assert calls == ["PutItem"]
        calls.clear()
        store.save(titled.touch(status="ready"), titled)  # the tag items' status partitions move
        assert calls == ["TransactWriteItems"]
    finally:
        events.unregister("before-call.dynamodb", seen)
    assert [r.title for r in store.list(owner=None, tag="b", status="ready", limit=5).records] == ["new title"]
