"""DynamoDB adapter: image records and the index items that list them.

One table, keys `pk`/`sk`:

    pk=IMG#{id}  sk=IMAGE       the record
    pk=IMG#{id}  sk=TAG#{tag}   one per tag (a GSI cannot index a list)
    pk=IMG#{id}  sk=WORD#{term} one per search term (domain.search.terms_of)

Four GSIs (`lists1`..`lists4`, partition `l1pk`..`l4pk`, shared sort key `gsk` =
`{created_at}#{id}`, keys only) give every filter combination its own partition:

    lists1: all images | tag          lists3: status | tag+status
    lists2: owner | owner+tag         lists4: owner+status | owner+tag+status

Record items carry the partitions without a tag, tag items those with one.
Word items carry only the two without a status: lists1 `W#{term}#{n}`, lists2
`O#{owner}#W#{term}` (a status would move them at every status change); a search
reads one of them and filters the records by their own terms, tag and status.
Records being deleted carry none, so they drop out of every list at once. The
partitions with no owner end in a shard number from the image id (`IMG#3`,
`T#cat#S#ready#5`), so no key takes every upload's writes; their lists are
merged from the shards. Pages are newest first and read at most limit+1 entries
per partition they query, then the records with one BatchGetItem. See
docs/data-model.md#scale for the write units this costs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ..domain.errors import Conflict, Invalid
from ..domain.records import ImageRecord
from ..domain.search import Search, terms_of
from . import aws

INDEXES = ("lists1", "lists2", "lists3", "lists4")
SORT_KEY = "gsk"
# Lists with no owner are spread over this many partitions (`IMG#{n}`, `S#{status}#{n}`,
# `T#{tag}#{n}`, `T#{tag}#S#{status}#{n}`), n from the image id: no key takes every
# upload's writes. It may grow at any time (reads cover every shard below it, and an
# item keeps its n until its next save); shrinking it needs scripts/backfill.py first.
DEFAULT_SHARDS = 8
LEGACY_KEYS = ("g1pk", "g2pk", "g3pk", "g4pk")  # the earlier design's, on gsi1-gsi4 (ALL)
_LIST_KEYS = (SORT_KEY, *(f"l{i[-1]}pk" for i in INDEXES))  # every item attribute an index keys on
_ser = TypeSerializer()
_de = TypeDeserializer()
_POSITION = re.compile(r"^[^#]+#[0-9a-f]{32}$")


def index_for(owner: str | None, tag: str | None, status: str | None) -> tuple[str, str]:
    """The index and partition value (before any shard suffix) that list exactly these filters."""
    parts = []
    if owner:
        parts.append(f"O#{owner}")
    if tag:
        parts.append(f"T#{tag}")
    if status:
        parts.append(f"S#{status}")
    number = 1 + (1 if owner else 0) + (2 if status else 0)
    return f"lists{number}", "#".join(parts) or "IMG"


def word_index_for(owner: str | None, term: str) -> tuple[str, str]:
    """The index and partition value (before any shard suffix) of one search term's list."""
    return ("lists2", f"O#{owner}#W#{term}") if owner else ("lists1", f"W#{term}")


def partition_attr(index: str) -> str:
    return f"l{index[-1]}pk"


def shard_of(image_id: str, shards: int) -> int:
    """The shard of an image's entries in the lists with no owner: from its (random) id."""
    return int(image_id[:8], 16) % shards


def _index_attrs(image_id: str, owner: str, tag: str | None, status: str, sort_key: str, shards: int) -> dict:
    attrs = {SORT_KEY: sort_key}
    for with_owner in (False, True):
        for with_status in (False, True):
            name, value = index_for(owner if with_owner else None, tag, status if with_status else None)
            attrs[partition_attr(name)] = value if with_owner else f"{value}#{shard_of(image_id, shards)}"
    return attrs


def _word_attrs(image_id: str, owner: str, term: str, sort_key: str, shards: int) -> dict:
    attrs = {SORT_KEY: sort_key}
    for name, value in (word_index_for(None, term), word_index_for(owner, term)):
        attrs[partition_attr(name)] = value if name == "lists2" else f"{value}#{shard_of(image_id, shards)}"
    return attrs


def _key(image_id: str, sk: str = "IMAGE") -> dict[str, str]:
    return {"pk": f"IMG#{image_id}", "sk": sk}


def _sort_key(record: ImageRecord) -> str:
    return f"{record.created_at}#{record.image_id}"


def _dump(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items()}


def _load(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in item.items()}


@dataclass
class Page:
    records: Sequence[ImageRecord]
    cursor: str | None  # opaque: where the next page starts, or None after the last


def _read_cursor(cursor: str, partition: str, ranges: Sequence[str]) -> tuple[str, list[str]]:
    """The sort key of the last item shown, and the partitions (shards) that may hold
    more after it. One position serves every shard: whatever a shard holds above it was
    shown, so newer uploads never slip into later pages. A shard added since the first
    page holds only newer items, so a cursor that does not name it skips it. DynamoDB
    answers a start key from another partition with an error, not an empty page: refuse
    one here, whatever signed it."""
    try:
        found = json.loads(cursor)
    except ValueError:
        found = None
    if (
        not isinstance(found, dict)
        or set(found) != {"list", "after", "shards"}
        or not isinstance(found["after"], str)
        or not _POSITION.match(found["after"])
        or not isinstance(found["shards"], list)
        or not all(isinstance(r, str) for r in found["shards"])
    ):
        raise Invalid("the cursor is malformed")
    if found["list"] != partition or not set(found["shards"]) <= set(ranges):
        raise Invalid("the cursor does not belong to this list")
    return found["after"], found["shards"]


def _write_cursor(partition: str, after: str, shards: list[str]) -> str | None:
    if not shards:
        return None
    return json.dumps({"list": partition, "after": after, "shards": shards}, separators=(",", ":"), sort_keys=True)


class ImageStore:
    def __init__(self, table: str, client: Any = None, shards: int = DEFAULT_SHARDS):
        """`client`: a DynamoDB client to use instead of the shared, lazily made one;
        `shards`: how many partitions the lists with no owner are spread over."""
        self.table = table
        self._client = client
        self.shards = shards

    @property
    def _db(self):
        return self._client or aws.client("dynamodb")

    # -- reads -------------------------------------------------------------

    def get(self, image_id: str) -> ImageRecord | None:
        found = self._db.get_item(TableName=self.table, Key=_dump(_key(image_id)), ConsistentRead=True)
        return ImageRecord.from_item(_load(found["Item"])) if "Item" in found else None

    def list(
        self,
        *,
        owner: str | None,
        tag: str | None,
        status: str | None,
        limit: int,
        cursor: str | None = None,
        oldest_first: bool = False,
        search: Search | None = None,
    ) -> Page:
        """Newest first, or oldest first with `oldest_first`. A list with an owner is one
        partition: one Query of at most limit+1 index entries. One without is merged from
        its shards: one Query of at most limit+1 entries per shard, so at most
        shards x (limit+1) in all (the extra one only tells whether the shard has more).
        Then one BatchGetItem of the page's records. `cursor` is a page's own, or Invalid.

        With `search`, the partition read is that of its lookup term (with the owner, if
        any), and the page keeps the records that match the search, the tag and the status:
        the same reads, so a page may hold fewer than `limit` records and still have a cursor."""
        if search is None:
            index, partition = index_for(owner, tag, status)
            sk = f"TAG#{tag}" if tag else "IMAGE"
        else:
            index, partition = word_index_for(owner, search.lookup)
            sk = f"WORD#{search.lookup}"
        ranges = [""] if owner else [str(n) for n in range(self.shards)]
        after, live = _read_cursor(cursor, partition, ranges) if cursor is not None else (None, ranges)

        def query(shard: str) -> tuple[str, list[str], bool]:
            value = f"{partition}#{shard}" if shard else partition
            params: dict[str, Any] = dict(
                TableName=self.table,
                IndexName=index,
                KeyConditionExpression="#p = :p",
                ExpressionAttributeNames={"#p": partition_attr(index)},
                ExpressionAttributeValues={":p": {"S": value}},
                ScanIndexForward=oldest_first,
                Limit=limit + 1,
            )
            if after is not None:  # a position, not necessarily an item of this shard
                start = {**_key(after.rsplit("#", 1)[1], sk), partition_attr(index): value, SORT_KEY: after}
                params["ExclusiveStartKey"] = _dump(start)
            reply = self._db.query(**params)
            return shard, [i[SORT_KEY]["S"] for i in reply["Items"]], "LastEvaluatedKey" in reply

        if len(live) > 1:
            with ThreadPoolExecutor(max_workers=min(len(live), 16)) as pool:
                replies = list(pool.map(query, live))
        else:
            replies = [query(shard) for shard in live]
        shown = sorted(
            ((sort_key, shard) for shard, found, _ in replies for sort_key in found), reverse=not oldest_first
        )[:limit]
        more = [
            shard
            for shard, found, truncated in replies
            if truncated or sum(1 for _, s in shown if s == shard) < len(found)
        ]
        records = self._get_many([sort_key.rsplit("#", 1)[1] for sort_key, _ in shown])
        # An index lags its table a little: skip an entry whose record no longer matches.
        records = [
            r
            for r in records
            if (owner is None or r.owner == owner)
            and (tag is None or tag in r.tags)
            and (status is None or r.status == status)
            and (search is None or search.matches(r))
        ]
        return Page(records, _write_cursor(partition, shown[-1][0], more) if shown else None)

    def _get_many(self, image_ids: Sequence[str]) -> Sequence[ImageRecord]:
        """Records in the order given; ids whose record vanished are skipped."""
        pending = [_dump(_key(i)) for i in dict.fromkeys(image_ids)]
        found: dict[str, ImageRecord] = {}
        delay = 0.05
        while pending:
            reply = self._db.batch_get_item(RequestItems={self.table: {"Keys": pending, "ConsistentRead": True}})
            for item in reply["Responses"].get(self.table, []):
                record = ImageRecord.from_item(_load(item))
                found[record.image_id] = record
            pending = reply.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
            if pending:  # throttled: back off, as the SDK docs ask
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        return [found[i] for i in image_ids if i in found and not found[i].deleting]

    # -- writes ------------------------------------------------------------

    def create(self, record: ImageRecord) -> ImageRecord:
        """Write a new record, its tag items and its word items; Conflict if the id exists."""
        record = replace(record, version=1)
        self._transact(
            [self._put_record(record, "attribute_not_exists(pk)")]
            + [self._put_tag(record, t) for t in record.tags]
            + [self._put_word(record, t) for t in terms_of(record)]
        )
        return record

    def save(self, record: ImageRecord, previous: ImageRecord) -> ImageRecord:
        """Replace `previous` with `record`; Conflict if someone saved in between."""
        record = replace(record, version=previous.version + 1, deleting=False)
        stale = [t for t in previous.tags if t not in record.tags]
        # Only the tag items that change: most saves (new variants, a title) write the record alone,
        # without a transaction's double price. A record being deleted has lost its tag items.
        changed = [
            t
            for t in record.tags
            if previous.deleting or t not in previous.tags or self._tag_item(record, t) != self._tag_item(previous, t)
        ]
        # Word items carry no status: only a change of the terms (a title, say) writes any.
        terms, before = terms_of(record), [] if previous.deleting else terms_of(previous)
        self._transact(
            [self._put_record(record, "#v = :v", previous.version)]
            + [self._put_tag(record, t) for t in changed]
            + [self._delete(record.image_id, f"TAG#{t}") for t in stale]
            + [self._put_word(record, t) for t in terms if t not in before]
            + [self._delete(record.image_id, f"WORD#{t}") for t in before if t not in terms]
        )
        return record

    def mark_deleting(self, record: ImageRecord) -> ImageRecord | None:
        """Take the record out of every list before its objects go; the record
        as now stored, or None when it is gone.

        Unconditional, so a delete wins over any save made since `record` was
        read and never answers "try again". It bumps the version, so a save
        racing it fails its check, reads again, sees `deleting` and declines.
        """
        if record.deleting:
            return record
        try:
            reply = self._db.update_item(
                TableName=self.table,
                Key=_dump(_key(record.image_id)),
                UpdateExpression=f"SET #d = :yes, #v = #v + :one REMOVE {', '.join(_LIST_KEYS)}",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#d": "deleting", "#v": "version"},
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":one": {"N": "1"}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        marked = ImageRecord.from_item(_load(reply["Attributes"]))
        # The tags and terms as read and as now stored: a save in between may have changed them.
        items = dict.fromkeys(
            [f"TAG#{t}" for t in (*record.tags, *marked.tags)]
            + [f"WORD#{t}" for t in (*terms_of(record), *terms_of(marked))]
        )
        if items:
            self._transact([self._delete(record.image_id, sk) for sk in items])
        return marked

    def delete(self, record: ImageRecord) -> None:
        """Remove the record, its tag items and its word items. Repeating it is harmless."""
        self._transact(
            [self._delete(record.image_id)]
            + [self._delete(record.image_id, f"TAG#{t}") for t in record.tags]
            + [self._delete(record.image_id, f"WORD#{t}") for t in terms_of(record)]
        )

    # -- migration (scripts/backfill.py) ----------------------------------------

    def refresh_list_keys(self, item: dict[str, Any]) -> str:
        """Give one stored item (DynamoDB JSON, as a Scan returns it) the list keys this
        version writes, and drop the earlier design's (`g1pk`..`g4pk`). Idempotent: says
        "unchanged" when there is nothing to do, "updated" or "removed" (a tag or word item
        whose record is gone, being deleted or no longer has the tag or term) otherwise. A
        record saved meanwhile already carries the right keys: its condition fails and it is
        "unchanged". A record that lacks word items (it was written before search) gets them."""
        plain = _load(item)
        image_id, sk = plain["pk"].removeprefix("IMG#"), plain["sk"]
        if image_id == plain["pk"] or not (sk == "IMAGE" or sk.startswith(("TAG#", "WORD#"))):
            return "unchanged"  # not an image's item (a webhook's, say): no list keys of ours
        record = ImageRecord.from_item(plain) if sk == "IMAGE" else self.get(image_id)
        tag = sk.removeprefix("TAG#") if sk.startswith("TAG#") else None
        term = sk.removeprefix("WORD#") if sk.startswith("WORD#") else None
        if sk != "IMAGE" and (
            record is None
            or record.deleting
            or (tag not in record.tags if tag is not None else term not in terms_of(record))
        ):
            self._db.delete_item(TableName=self.table, Key=_dump(_key(image_id, sk)))
            return "removed"
        assert record is not None
        if term is not None:
            wanted = self.word_attrs(record, term)
        else:
            wanted = {} if record.deleting else self.index_attrs(record, tag)
        current = {k: plain[k] for k in (*_LIST_KEYS, *LEGACY_KEYS) if k in plain}
        if current == wanted:
            return "updated" if sk == "IMAGE" and self._add_missing_words(record) else "unchanged"
        names = {f"#a{i}": k for i, k in enumerate(wanted)}
        values = {f":a{i}": {"S": v} for i, v in enumerate(wanted.values())}
        gone = [k for k in current if k not in wanted]
        update = " ".join(
            part
            for part in (
                "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(wanted))) if wanted else "",
                "REMOVE " + ", ".join(gone) if gone else "",
            )
            if part
        )
        condition = "attribute_exists(pk)"
        if sk == "IMAGE":  # the record as scanned: a save since wrote its keys itself
            condition += " AND #v = :v"
            names["#v"] = "version"
            values[":v"] = {"N": str(record.version)}
        try:
            self._db.update_item(
                TableName=self.table,
                Key=_dump(_key(image_id, sk)),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return "unchanged"
            raise
        if sk == "IMAGE":
            self._add_missing_words(record)
        return "updated"

    def _add_missing_words(self, record: ImageRecord) -> bool:
        """Write the word items a (not deleting) record lacks; whether there were any."""
        if record.deleting:
            return False
        reply = self._db.query(
            TableName=self.table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :w)",
            ExpressionAttributeValues={":p": {"S": f"IMG#{record.image_id}"}, ":w": {"S": "WORD#"}},
            ProjectionExpression="sk",
            ConsistentRead=True,
        )
        present = {i["sk"]["S"].removeprefix("WORD#") for i in reply["Items"]}
        missing = [t for t in terms_of(record) if t not in present]
        for term in missing:  # one at a time: each is whole on its own, and a repeat puts the same item
            ((_, put),) = self._put_word(record, term).items()
            self._db.put_item(**put)
        return bool(missing)

    # -- items -------------------------------------------------------------

    def _put_record(self, record: ImageRecord, condition: str, version: int | None = None) -> dict:
        item = {**record.to_item(), **_key(record.image_id)}
        if not record.deleting:
            item.update(self.index_attrs(record, None))
        put: dict[str, Any] = {"TableName": self.table, "Item": _dump(item), "ConditionExpression": condition}
        if version is not None:
            put["ExpressionAttributeNames"] = {"#v": "version"}
            put["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        return {"Put": put}

    def index_attrs(self, record: ImageRecord, tag: str | None) -> dict[str, str]:
        """The list keys of the record's item (tag None) or of one of its tag items."""
        return _index_attrs(record.image_id, record.owner, tag, record.status, _sort_key(record), self.shards)

    def _tag_item(self, record: ImageRecord, tag: str) -> dict[str, Any]:
        return {**_key(record.image_id, f"TAG#{tag}"), "image_id": record.image_id, "tag": tag,
                **self.index_attrs(record, tag)}  # fmt: skip

    def _put_tag(self, record: ImageRecord, tag: str) -> dict:
        return {"Put": {"TableName": self.table, "Item": _dump(self._tag_item(record, tag))}}

    def word_attrs(self, record: ImageRecord, term: str) -> dict[str, str]:
        """The list keys of one of the record's word items: the two lists without a status."""
        return _word_attrs(record.image_id, record.owner, term, _sort_key(record), self.shards)

    def _put_word(self, record: ImageRecord, term: str) -> dict:
        item = {**_key(record.image_id, f"WORD#{term}"), **self.word_attrs(record, term)}
        return {"Put": {"TableName": self.table, "Item": _dump(item)}}

    def _delete(self, image_id: str, sk: str = "IMAGE") -> dict:
        return {"Delete": {"TableName": self.table, "Key": _dump(_key(image_id, sk))}}

    def _transact(self, operations: Iterable[dict]) -> None:
        """Write all or nothing. A lone write goes without a transaction,
        which costs half the write capacity and is just as atomic."""
        operations = list(operations)
        try:
            if len(operations) == 1:
                ((kind, params),) = operations[0].items()
                write = self._db.put_item if kind == "Put" else self._db.delete_item
                write(**params)
            else:
                self._db.transact_write_items(TransactItems=operations)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
            if code == "ConditionalCheckFailedException" or (
                code == "TransactionCanceledException" and reasons & {"ConditionalCheckFailed", "TransactionConflict"}
            ):
                raise Conflict("the image was changed by another request; try again") from exc
            raise
