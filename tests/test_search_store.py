"""Search in the store: word items follow the record's terms, and a search page reads at most
limit + 1 index entries per partition, whatever the table holds."""
from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib import config
from chalicelib.adapters import aws
from chalicelib.domain.records import MAX_TAGS
from chalicelib.domain.search import Search, query_words, terms_of
from chalicelib.events.changes import event_for
from tests.conftest import TABLE
from tests.test_store import _bulk_write, make, reads, store  # noqa: F401 (fixtures)


def sks(ddb, image_id: str) -> list[str]:
    found = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": f"IMG#{image_id}"}})["Items"]
    return sorted(i["sk"]["S"] for i in found)


def titled(title: str, **fields):
    return replace(make(**fields), title=title)


def search(store, q: str, limit=20, **filters):
    """Every page of a search: the ids found, and how many pages it took."""
    filters = {"owner": None, "tag": None, "status": None, **filters}
    found, cursor, pages = [], None, 0
    while True:
        page = store.list(limit=limit, cursor=cursor, search=Search(tuple(query_words(q))), **filters)
        found += [r.image_id for r in page.records]
        pages += 1
        if (cursor := page.cursor) is None:
            return found, pages


@pytest.fixture
def calls():
    """The DynamoDB operations made, with the items a transaction wrote and deleted."""
    seen: list[tuple[str, list[str]]] = []
    events = aws.client("dynamodb").meta.events

    def before(model, params, **_):
        seen.append((model.name, sorted(f"{kind}:{(body.get('Item') or body['Key'])['sk']['S']}"
                                        for op in params.get("TransactItems", []) for kind, body in op.items())))

    events.register("before-parameter-build.dynamodb", before)
    yield seen
    events.unregister("before-parameter-build.dynamodb", before)


def test_word_items_are_written_with_the_record_and_follow_its_terms(store, ddb, calls):
    image = store.create(titled("Summer trip", tags=["cat"], status="pending"))
    assert sks(ddb, image.image_id) == ["IMAGE", "TAG#cat", "WORD#cat", "WORD#summer", "WORD#trip", "WORD#~cat",
                                        "WORD#~sum", "WORD#~tri"]
    calls.clear()
    ready = store.save(image.touch(status="ready"), image)  # word items carry no status: none moves
    assert calls == [("TransactWriteItems", ["Put:IMAGE", "Put:TAG#cat"])]
    calls.clear()
    renamed = store.save(ready.touch(title="Winter trip"), ready)  # only the terms that change
    assert calls == [("TransactWriteItems",
                      ["Delete:WORD#summer", "Delete:WORD#~sum", "Put:IMAGE", "Put:WORD#winter", "Put:WORD#~win"])]
    marked = store.mark_deleting(renamed)
    assert sks(ddb, image.image_id) == ["IMAGE"]  # out of every list and every search at once
    store.delete(marked)
    assert sks(ddb, image.image_id) == []


def test_word_items_carry_the_two_lists_without_a_status(store, ddb):
    image = store.create(titled("Lake", owner="bob"))
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"IMG#{image.image_id}"}, "sk": {"S": "WORD#lake"}})["Item"]
    shard = int(image.image_id[:8], 16) % store.shards
    assert {k: v["S"] for k, v in item.items()} == {
        "pk": f"IMG#{image.image_id}", "sk": "WORD#lake", "gsk": f"{image.created_at}#{image.image_id}",
        "l1pk": f"W#lake#{shard}", "l2pk": "O#bob#W#lake"}


def test_the_largest_change_of_tags_and_terms_is_one_transaction(store, ddb):
    def words(prefix):  # 14 words with their prefix terms, and one of two letters: 29 terms
        return " ".join(f"{prefix}{n:02d}" for n in range(config.SEARCH_MAX_TERMS // 2)) + f" {prefix}{prefix}"

    # Tags of one character make no terms, so the description's words fill the terms.
    image = store.create(replace(make(tags=list("abcdefghijklmnopqrst")), description=words("x")))
    assert len(terms_of(image)) == config.SEARCH_MAX_TERMS
    changed = image.touch(tags=list("uvwxyz0123456789$%&*"), description=words("y"))
    assert len(set(changed.tags) | set(image.tags)) == 2 * MAX_TAGS
    assert len(set(terms_of(changed)) - set(terms_of(image))) == config.SEARCH_MAX_TERMS
    saved = store.save(changed, image)  # 1 + 20 + 20 + 29 + 29 = 99 items
    assert len(sks(ddb, image.image_id)) == 1 + MAX_TAGS + config.SEARCH_MAX_TERMS
    assert store.mark_deleting(saved).deleting and sks(ddb, image.image_id) == ["IMAGE"]


def test_the_events_consumer_ignores_word_items():
    item = {"pk": {"S": "IMG#" + "a" * 32}, "sk": {"S": "WORD#summer"}, "l1pk": {"S": "W#summer#3"}}
    for name, images in (("INSERT", {"NewImage": item}), ("REMOVE", {"OldImage": item})):
        assert event_for({"eventName": name, "dynamodb": {"Keys": {"pk": item["pk"], "sk": item["sk"]},
                                                          **images}}) is None


def test_refresh_list_keys_mends_word_items_and_gives_old_records_theirs(store, ddb):
    image = store.create(titled("Summer"))
    key = {"pk": {"S": f"IMG#{image.image_id}"}, "sk": {"S": "WORD#summer"}}
    ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="SET l1pk = :x",
                    ExpressionAttributeValues={":x": {"S": "W#summer#99"}})
    assert store.refresh_list_keys(ddb.get_item(TableName=TABLE, Key=key)["Item"]) == "updated"
    assert search(store, "summer")[0] == [image.image_id]
    stale = {"pk": key["pk"], "sk": {"S": "WORD#gone"}, "l1pk": {"S": "W#gone#0"}, "l2pk": {"S": "O#alice#W#gone"},
             "gsk": {"S": f"{image.created_at}#{image.image_id}"}}
    ddb.put_item(TableName=TABLE, Item=stale)
    assert store.refresh_list_keys(stale) == "removed" and "WORD#gone" not in sks(ddb, image.image_id)
    for sk in ("WORD#summer", "WORD#~sum"):  # a record written before search had none
        ddb.delete_item(TableName=TABLE, Key={"pk": key["pk"], "sk": {"S": sk}})
    record_item = ddb.get_item(TableName=TABLE, Key={"pk": key["pk"], "sk": {"S": "IMAGE"}})["Item"]
    assert store.refresh_list_keys(record_item) == "updated"
    assert sks(ddb, image.image_id) == ["IMAGE", "WORD#summer", "WORD#~sum"]
    assert store.refresh_list_keys(record_item) == "unchanged"
    hook = {"pk": {"S": "HOOK#1"}, "sk": {"S": "HOOK"}}
    assert store.refresh_list_keys(hook) == "unchanged"  # not an image's item: left alone


@pytest.fixture
def crowded_words(store):
    """90 images by 30 owners whose titles all hold "lake"; a few of carol's say more."""
    others = [titled(f"Lake view {n}", owner=f"user{n % 30}", tags=[f"t{n % 7}"], n=n) for n in range(90)]
    matches = [titled(title, owner="carol", tags=tags, status=status, n=400 + i) for i, (title, tags, status) in
               enumerate([("Lake summer", ["cat"], "ready"), ("Summer at the lake", [], "pending"),
                          ("Summertime lake", ["cat"], "ready"), ("lake", ["cat"], "ready"),
                          ("Summer lake", ["dog"], "ready")])]
    _bulk_write(store, others + matches)
    return matches


def _ids(records, keep):
    return [r.image_id for r in reversed(records) if keep(r)]


@pytest.mark.parametrize("owner", ["carol", None])
def test_a_search_reads_limit_plus_one_per_partition_and_pages_each_match_once(store, crowded_words, reads, owner):
    m = crowded_words
    found, pages = search(store, "lake summ", limit=3, owner=owner)
    assert found == _ids(m, lambda r: "summ" in r.title.lower())  # newest first, each once
    assert max(reads) <= 4 and len(reads) <= pages * (1 if owner else store.shards)
    reads.clear()
    found, _ = search(store, "lake summ", limit=3, owner=owner, tag="cat", status="ready")
    assert found == [m[2].image_id, m[0].image_id]
    assert max(reads) <= 4


def test_a_search_page_may_be_short_and_still_go_on(store, crowded_words):
    """Pages of carol's 5 "lake" images hold what matches among the 2 + 1 entries each reads."""
    first = store.list(owner="carol", tag="dog", status=None, limit=2, search=Search(("lake",)))
    assert [r.image_id for r in first.records] == [crowded_words[4].image_id] and first.cursor
    second = store.list(owner="carol", tag="dog", status=None, limit=2, search=Search(("lake",)), cursor=first.cursor)
    assert second.records == [] and second.cursor  # 2 entries read, neither tagged dog
    assert search(store, "lake", limit=2, owner="carol", tag="dog")[0] == [crowded_words[4].image_id]


def test_an_owners_search_never_sees_another_owners_images(store, crowded_words):
    assert search(store, "summ", owner="user3")[0] == []
    theirs, _ = search(store, "lake view", limit=100, owner="user3")
    assert len(theirs) == 3 and {store.get(i).owner for i in theirs} == {"user3"}
    assert len(search(store, "lake view", limit=100)[0]) == 90  # an admin's spans every owner and shard
