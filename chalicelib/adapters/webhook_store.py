"""DynamoDB and KMS adapter for webhooks and their delivery logs.

Webhooks live in the images' table under their own partition prefix, so the
stream consumer, which speaks only for `sk=IMAGE` items, ignores them (and
the stage's event source filter keeps their writes from invoking it at all):

    pk=HOOK#{id}  sk=HOOK                         the webhook
    pk=HOOK#{id}  sk=LOG#{at}#{event}#{attempt}   one delivery attempt (TTL: LOG_DAYS)

Listing reuses two of the table's indexes with partitions no image uses:
`lists2` `WH#O#{owner}` (an owner's webhooks) and `lists1` `WH#ALL` (admins'
webhooks that hear every image; sparse). The indexes hold keys only, so each
webhook found is then read from the table.

Secrets are sealed with KMS (`WEBHOOK_KEY_ID`), the webhook's id as the
encryption context, so a sealed secret copied onto another webhook does not
open. The API's role may only encrypt: it makes and rotates secrets, and
never reads one back; only the sender decrypts. Off Lambda, without a key,
secrets are kept as they are (the local stage and tests; a deployed stage
refuses to run so).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ..domain.errors import Conflict
from ..events import signing
from ..events.signing import Secret
from ..events.webhooks import Delivery, Webhook
from . import aws
from .store import INDEXES, SORT_KEY, partition_attr

LOG_DAYS = 7
_HEARING_ALL, _BY_OWNER = INDEXES[0], INDEXES[1]
_ser = TypeSerializer()
_de = TypeDeserializer()
_FIELDS = ("webhook_id", "owner", "url", "enabled", "all_images", "disabled_reason", "created_at", "updated_at")


def _dump(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items() if v is not None}


def _load(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in item.items()}


def _key(webhook_id: str, sk: str = "HOOK") -> dict[str, Any]:
    return _dump({"pk": f"HOOK#{webhook_id}", "sk": sk})


class WebhookStore:
    def __init__(self, table: str, key_id: str | None, *, on_lambda: bool = False):
        if on_lambda and not key_id:
            raise RuntimeError("WEBHOOK_KEY_ID is not set: a deployed stage seals webhook secrets with KMS")
        self.table = table
        self.key_id = key_id

    @property
    def _db(self):
        return aws.client("dynamodb")

    # -- secrets -------------------------------------------------------------

    def _seal(self, webhook_id: str, plaintext: str) -> str:
        if self.key_id is None:
            return "plain:" + plaintext
        sealed = aws.client("kms").encrypt(
            KeyId=self.key_id, Plaintext=plaintext.encode(), EncryptionContext={"webhook_id": webhook_id}
        )["CiphertextBlob"]
        return "kms:" + base64.b64encode(sealed).decode()

    def _open(self, webhook_id: str, sealed: str) -> str:
        kind, _, value = sealed.partition(":")
        if kind == "plain":
            return value
        plain = aws.client("kms").decrypt(
            KeyId=self.key_id, CiphertextBlob=base64.b64decode(value), EncryptionContext={"webhook_id": webhook_id}
        )
        return plain["Plaintext"].decode()

    def _kept(self, item: dict[str, Any]) -> list[Secret]:
        """The secrets as stored: sealed values, with their retirement times."""
        return [
            Secret(s["value"], int(s["retires_at"]) if s.get("retires_at") is not None else None)
            for s in _load(item).get("secrets", [])
        ]

    # -- webhooks ------------------------------------------------------------

    def _item(self, hook: Webhook, sealed: Sequence[Secret]) -> dict[str, Any]:
        item: dict[str, Any] = {f: getattr(hook, f) for f in _FIELDS}
        item.update(
            pk=f"HOOK#{hook.webhook_id}",
            sk="HOOK",
            events=list(hook.events),
            version=hook.version,
            secrets=[{"value": s.value, "retires_at": s.retires_at} for s in sealed],
        )
        item[partition_attr(_BY_OWNER)] = f"WH#O#{hook.owner}"
        item[SORT_KEY] = f"{hook.created_at}#{hook.webhook_id}"
        if hook.all_images:
            item[partition_attr(_HEARING_ALL)] = "WH#ALL"
        return _dump(item)

    def _hook(self, item: dict[str, Any], *, with_secrets: bool) -> Webhook:
        data = _load(item)
        secrets: tuple[Secret, ...] = ()
        if with_secrets:
            secrets = tuple(Secret(self._open(data["webhook_id"], s.value), s.retires_at) for s in self._kept(item))
        fields: dict[str, Any] = {f: data[f] for f in _FIELDS if f in data}
        return Webhook(
            **fields,
            events=tuple(data.get("events", [])),
            version=int(data.get("version", 0)),
            secrets=secrets,
        )

    def create(self, hook: Webhook) -> Webhook:
        hook = replace(hook, version=1)
        sealed = [Secret(self._seal(hook.webhook_id, s.value), s.retires_at) for s in hook.secrets]
        self._db.put_item(
            TableName=self.table, Item=self._item(hook, sealed), ConditionExpression="attribute_not_exists(pk)"
        )
        return hook

    def get(self, webhook_id: str, *, with_secrets: bool = False) -> Webhook | None:
        found = self._db.get_item(TableName=self.table, Key=_key(webhook_id), ConsistentRead=True)
        return self._hook(found["Item"], with_secrets=with_secrets) if "Item" in found else None

    def save(self, hook: Webhook, previous: Webhook, *, fresh_secret: str | None = None) -> Webhook:
        """Replace `previous` with `hook`, keeping its sealed secrets, or rotating them
        to `fresh_secret` (see signing.rotate); Conflict if someone saved in between."""
        hook = replace(hook, version=previous.version + 1, secrets=())
        stored = self._db.get_item(TableName=self.table, Key=_key(hook.webhook_id), ConsistentRead=True)
        if "Item" not in stored:
            raise Conflict("the webhook was deleted by another request")
        kept = self._kept(stored["Item"])
        if fresh_secret is not None:
            kept = signing.rotate(kept, self._seal(hook.webhook_id, fresh_secret), time.time())
        try:
            self._db.put_item(
                TableName=self.table,
                Item=self._item(hook, kept),
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":v": {"N": str(previous.version)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Conflict("the webhook was changed by another request; try again") from exc
            raise
        return hook

    def list_for_owner(self, owner: str) -> list[Webhook]:
        return self._query(_BY_OWNER, f"WH#O#{owner}")

    def listeners(self, owner: str) -> list[Webhook]:
        """The webhooks that may hear about an image of `owner`: theirs, and admins' that hear all."""
        found = {h.webhook_id: h for h in self._query(_BY_OWNER, f"WH#O#{owner}") + self._query(_HEARING_ALL, "WH#ALL")}
        return list(found.values())

    def _query(self, index: str, partition: str) -> list[Webhook]:
        hooks: list[Webhook] = []
        paginator = self._db.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            IndexName=index,
            KeyConditionExpression="#p = :p",
            ExpressionAttributeNames={"#p": partition_attr(index)},
            ExpressionAttributeValues={":p": {"S": partition}},
        ):
            for keys in page["Items"]:  # keys only: the webhook itself is in the table
                found = self._db.get_item(
                    TableName=self.table, Key={"pk": keys["pk"], "sk": keys["sk"]}, ConsistentRead=True
                )
                if "Item" in found:
                    hooks.append(self._hook(found["Item"], with_secrets=False))
        return sorted(hooks, key=lambda h: (h.created_at, h.webhook_id))

    def delete(self, webhook_id: str) -> None:
        """Remove the webhook and its delivery log. Repeating it is harmless."""
        self._db.delete_item(TableName=self.table, Key=_key(webhook_id))
        doomed = []
        for page in self._db.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :log)",
            ExpressionAttributeValues={":p": {"S": f"HOOK#{webhook_id}"}, ":log": {"S": "LOG#"}},
            ProjectionExpression="pk, sk",
        ):
            doomed += page["Items"]
        for start in range(0, len(doomed), 25):
            requests = [{"DeleteRequest": {"Key": k}} for k in doomed[start : start + 25]]
            while requests:
                reply = self._db.batch_write_item(RequestItems={self.table: requests})
                requests = reply.get("UnprocessedItems", {}).get(self.table, [])
                if requests:
                    time.sleep(0.1)

    # -- the delivery log ------------------------------------------------------

    def log(self, webhook_id: str, delivery: Delivery) -> None:
        item = {
            "pk": f"HOOK#{webhook_id}",
            "sk": f"LOG#{delivery.at}#{delivery.event_id}#{delivery.attempt:02d}",
            **delivery.to_api(),
            "expires_at": int(time.time()) + LOG_DAYS * 86400,
        }
        self._db.put_item(TableName=self.table, Item=_dump(item))

    def deliveries(self, webhook_id: str, limit: int = 50) -> list[Delivery]:
        """The latest attempts, newest first."""
        reply = self._db.query(
            TableName=self.table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :log)",
            ExpressionAttributeValues={":p": {"S": f"HOOK#{webhook_id}"}, ":log": {"S": "LOG#"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        out = []
        for raw in reply["Items"]:
            data = _load(raw)
            out.append(
                Delivery(
                    event_id=data["event_id"],
                    type=data["type"],
                    attempt=int(data["attempt"]),
                    at=data["at"],
                    outcome=data["outcome"],
                    status=int(data["status_code"]) if data.get("status_code") is not None else None,
                    error=data.get("error"),
                    duration_ms=int(data["duration_ms"]) if data.get("duration_ms") is not None else None,
                    next_attempt_at=data.get("next_attempt_at"),
                )
            )
        return out
