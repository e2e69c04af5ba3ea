"""DynamoDB adapter: image records and the index items that list them.

One table, keys `pk`/`sk`:

    pk=IMG#{id}  sk=IMAGE       the record
    pk=IMG#{id}  sk=TAG#{tag}   one per tag (a GSI cannot index a list)

Four GSIs (`gsi1`..`gsi4`, partition `g1pk`..`g4pk`, shared sort key `gsk` =
`{created_at}#{id}`) give every filter combination its own partition, so each
list form is a single Query, newest first, reading at most limit+1 items:

    gsi1: all images | tag          gsi3: status | tag+status
    gsi2: owner | owner+tag         gsi4: owner+status | owner+tag+status

Record items carry the partitions without a tag, tag items those with one.
Records being deleted carry none, so they drop out of every list at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ..domain.errors import Conflict, Invalid
from ..domain.records import ImageRecord
from . import aws

INDEXES = ("gsi1", "gsi2", "gsi3", "gsi4")
_ser = TypeSerializer()
_de = TypeDeserializer()


def index_for(owner: str | None, tag: str | None, status: str | None) -> tuple[str, str]:
    """The index and partition value that list exactly these filters."""
    parts = []
    if owner:
        parts.append(f"O#{owner}")
    if tag:
        parts.append(f"T#{tag}")
    if status:
        parts.append(f"S#{status}")
    number = 1 + (1 if owner else 0) + (2 if status else 0)
    return f"gsi{number}", "#".join(parts) or "IMG"


def _index_attrs(owner: str, tag: str | None, status: str, sort_key: str) -> dict[str, str]:
    attrs = {"gsk": sort_key}
    for with_owner in (False, True):
        for with_status in (False, True):
            name, value = index_for(owner if with_owner else None, tag, status if with_status else None)
            attrs[f"g{name[-1]}pk"] = value
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


def _cursor(last_key: dict[str, str]) -> str:
    return json.dumps(last_key, separators=(",", ":"), sort_keys=True)


def _start_key(cursor: str, key_names: set[str], partition_attr: str, partition: str) -> dict[str, str]:
    """The ExclusiveStartKey a cursor names. DynamoDB answers a start key from another
    partition with an error, not an empty page: refuse it here, whatever signed it."""
    try:
        key = json.loads(cursor)
    except ValueError:
        key = None
    if not isinstance(key, dict) or set(key) != key_names or not all(isinstance(v, str) for v in key.values()):
        raise Invalid("the cursor is malformed")
    if key[partition_attr] != partition:
        raise Invalid("the cursor does not belong to this list")
    return key


class ImageStore:
    def __init__(self, table: str, client: Any = None):
        """`client`: a DynamoDB client to use instead of the shared, lazily made one."""
        self.table = table
        self._client = client

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
    ) -> Page:
        """Newest first (or oldest first). One Query of at most limit+1 items (the extra one
        only tells whether another page exists). `cursor` is a page's own, or
        Invalid."""
        index, partition = index_for(owner, tag, status)
        key_names = {"pk", "sk", "gsk", f"g{index[-1]}pk"}
        start_key = _start_key(cursor, key_names, f"g{index[-1]}pk", partition) if cursor is not None else None
        params: dict[str, Any] = dict(
            TableName=self.table,
            IndexName=index,
            KeyConditionExpression="#p = :p",
            ExpressionAttributeNames={"#p": f"g{index[-1]}pk"},
            ExpressionAttributeValues={":p": {"S": partition}},
            ScanIndexForward=oldest_first,
            Limit=limit + 1,
        )
        if start_key:
            params["ExclusiveStartKey"] = _dump(start_key)
        items = [_load(i) for i in self._db.query(**params)["Items"]]
        more = len(items) > limit
        items = items[:limit]
        next_cursor = _cursor({k: items[-1][k] for k in key_names}) if more else None
        records = self._get_many([i["image_id"] for i in items]) if tag else [ImageRecord.from_item(i) for i in items]
        return Page(records, next_cursor)

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
        """Write a new record and its tag items; Conflict if the id exists."""
        record = replace(record, version=1)
        self._transact(
            [self._put_record(record, "attribute_not_exists(pk)")] + [self._put_tag(record, t) for t in record.tags]
        )
        return record

    def save(self, record: ImageRecord, previous: ImageRecord) -> ImageRecord:
        """Replace `previous` with `record`; Conflict if someone saved in between."""
        record = replace(record, version=previous.version + 1, deleting=False)
        stale = [t for t in previous.tags if t not in record.tags]
        self._transact(
            [self._put_record(record, "#v = :v", previous.version)]
            + [self._put_tag(record, t) for t in record.tags]
            + [self._delete(record.image_id, f"TAG#{t}") for t in stale]
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
                UpdateExpression="SET #d = :yes, #v = #v + :one REMOVE gsk, g1pk, g2pk, g3pk, g4pk",
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
        # The tags as read and as now stored: a save in between may have changed them.
        tags = dict.fromkeys([*record.tags, *marked.tags])
        if tags:
            self._transact([self._delete(record.image_id, f"TAG#{t}") for t in tags])
        return marked

    def delete(self, record: ImageRecord) -> None:
        """Remove the record and its tag items. Repeating it is harmless."""
        self._transact(
            [self._delete(record.image_id)] + [self._delete(record.image_id, f"TAG#{t}") for t in record.tags]
        )

    # -- items -------------------------------------------------------------

    def _put_record(self, record: ImageRecord, condition: str, version: int | None = None) -> dict:
        item = {**record.to_item(), **_key(record.image_id)}
        if not record.deleting:
            item.update(_index_attrs(record.owner, None, record.status, _sort_key(record)))
        put: dict[str, Any] = {"TableName": self.table, "Item": _dump(item), "ConditionExpression": condition}
        if version is not None:
            put["ExpressionAttributeNames"] = {"#v": "version"}
            put["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        return {"Put": put}

    def _put_tag(self, record: ImageRecord, tag: str) -> dict:
        item = {
            **_key(record.image_id, f"TAG#{tag}"),
            "image_id": record.image_id,
            "tag": tag,
            **_index_attrs(record.owner, tag, record.status, _sort_key(record)),
        }
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
