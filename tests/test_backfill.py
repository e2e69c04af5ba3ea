"""scripts/backfill.py: a table of the earlier design (gsi1-gsi4, one partition per list)
becomes this version's, run twice converges, and a run cut short resumes."""
from __future__ import annotations

import pytest

from chalicelib.adapters.store import ImageStore
from chalicelib.domain.search import Search
from scripts import backfill as migration
from tests.conftest import TABLE
from tests.test_store import make
from tests.test_store_shards import FILTERS, _reference


def _legacy_table(ddb):
    """The table as the earlier bootstrap made it: gsi1-gsi4 over g1pk-g4pk, projection ALL."""
    ddb.delete_table(TableName=TABLE)
    names = ["pk", "sk", "gsk", "g1pk", "g2pk", "g3pk", "g4pk"]
    ddb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in names],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": f"gsi{i}", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": f"g{i}pk", "KeyType": "HASH"},
                                               {"AttributeName": "gsk", "KeyType": "RANGE"}]} for i in range(1, 5)])


def _legacy_items(record, version=1):
    """The items the earlier store wrote for a record: unsharded list keys on every item."""
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()

    def keys(tag):
        parts = lambda o, s: "#".join(p for p in (o and f"O#{record.owner}", tag and f"T#{tag}",  # noqa: E731
                                                  s and f"S#{record.status}") if p) or "IMG"
        return {"gsk": f"{record.created_at}#{record.image_id}", "g1pk": parts(False, False),
                "g2pk": parts(True, False), "g3pk": parts(False, True), "g4pk": parts(True, True)}

    items = [{**record.to_item(), "version": version, "pk": f"IMG#{record.image_id}", "sk": "IMAGE", **keys(None)}]
    items += [{"pk": f"IMG#{record.image_id}", "sk": f"TAG#{t}", "image_id": record.image_id, "tag": t, **keys(t)}
              for t in record.tags]
    return [{k: ser.serialize(v) for k, v in item.items()} for item in items]


def _snapshot(ddb):
    return sorted((i["pk"]["S"], i["sk"]["S"], repr(sorted(i.items()))) for i in ddb.scan(TableName=TABLE)["Items"])


@pytest.fixture
def legacy(aws, ddb):
    _legacy_table(ddb)
    records = [make(owner=f"u{i % 3}", tags=[f"t{i % 3}"], status=("ready", "pending")[i % 4 == 0], n=i)
               for i in range(40)]
    for record in records:
        for item in _legacy_items(record):
            ddb.put_item(TableName=TABLE, Item=item)
    # A tag item left behind by a record that is gone, and a record half way through its delete.
    orphan = make(tags=["lost"], n=90)
    ddb.put_item(TableName=TABLE, Item=_legacy_items(orphan)[1])
    dying = make(tags=["t0"], n=91)
    first, *tags = _legacy_items(dying)
    first = {k: v for k, v in first.items() if not k.startswith("g")} | {"deleting": {"BOOL": True}}
    for item in (first, *tags):
        ddb.put_item(TableName=TABLE, Item=item)
    return records


def test_backfill_migrates_a_legacy_table_and_a_second_run_converges(legacy, ddb, tmp_path):
    store = ImageStore(TABLE)
    assert migration.ensure_indexes(ddb, TABLE, poll=0) == ["lists1", "lists2", "lists3", "lists4"]
    state = tmp_path / "state.json"
    counts, done = migration.backfill(store, ddb, state)
    assert done and not state.exists()
    # 40 records and their 40 tag items; the dying record has no list keys; the orphan and the dying tag go.
    # Each record also gets the word item its tag's word makes ("t0"), which this Scan has passed.
    assert counts == {"updated": 80, "unchanged": 1, "removed": 2}
    words = [sk for _, sk, _ in _snapshot(ddb) if sk.startswith("WORD#")]
    assert sorted(words) == sorted(f"WORD#{r.tags[0]}" for r in legacy)
    for filters in FILTERS:
        filters = {**filters, "owner": filters["owner"] and "u1"}
        pages = []
        cursor = None
        while True:
            page = store.list(limit=6, cursor=cursor, **filters)
            pages += [r.image_id for r in page.records]
            if not (cursor := page.cursor):
                break
        assert pages == _reference(legacy, **filters), filters
    found = store.list(owner=None, tag=None, status=None, limit=50, search=Search(("t1",))).records
    assert [r.image_id for r in found] == _reference(legacy, None, "t1", None)  # records from before search
    assert migration.drop_legacy_indexes(ddb, TABLE, poll=0) == ["gsi1", "gsi2", "gsi3", "gsi4"]
    before = _snapshot(ddb)
    assert not any("'g1pk'" in item or "'g3pk'" in item for _, _, item in before)
    again, done = migration.backfill(store, ddb, state)
    assert done and again == {"unchanged": 121}  # 81 and the 40 word items
    assert _snapshot(ddb) == before
    assert migration.ensure_indexes(ddb, TABLE, poll=0) == [] and migration.drop_legacy_indexes(ddb, TABLE, poll=0) == []


def test_a_backfill_cut_short_resumes_where_it_stopped(legacy, ddb, tmp_path):
    migration.ensure_indexes(ddb, TABLE, poll=0)
    store, state = ImageStore(TABLE), tmp_path / "state.json"
    scanned = _Scans(ddb)
    first, done = migration.backfill(store, scanned, state, page_size=10, max_pages=3)
    assert not done and state.exists() and sum(first.values()) == 30
    rest, done = migration.backfill(store, scanned, state, page_size=10)
    assert done and not state.exists()
    # The 83 items, and the word items a record's refresh wrote ahead of the Scan, which later
    # pages then met: each already as it should be. How many depends on where pages end.
    met = sum(sk.startswith("WORD#") for _, sk in scanned.keys)
    assert first["updated"] + rest["updated"] == 80 and first["removed"] + rest["removed"] == 2
    assert first["unchanged"] + rest["unchanged"] == 1 + met
    assert len(scanned.keys) == len(set(scanned.keys)) == 83 + met  # each item once, nothing skipped
    assert migration.backfill(store, ddb, state)[0] == {"unchanged": 121}


class _Scans:
    """The DynamoDB client, recording the key of every item its Scans return."""

    def __init__(self, ddb):
        self.ddb, self.keys = ddb, []

    def scan(self, **params):
        reply = self.ddb.scan(**params)
        self.keys += [(i["pk"]["S"], i["sk"]["S"]) for i in reply["Items"]]
        return reply


def test_a_record_saved_during_the_backfill_is_left_as_saved(legacy, ddb):
    migration.ensure_indexes(ddb, TABLE, poll=0)
    store = ImageStore(TABLE)
    record = legacy[5]
    scanned = ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"IMG#{record.image_id}"}, "sk": {"S": "IMAGE"}})["Item"]
    current = store.get(record.image_id)
    store.save(current.touch(title="saved meanwhile"), current)
    assert store.refresh_list_keys(scanned) == "unchanged"
    assert store.get(record.image_id).title == "saved meanwhile"
