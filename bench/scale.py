"""Write cost and partition heat of the table design, measured on moto.

    python bench/scale.py [--uploads 1000] [--seed 1] [--shards N] [--json OUT] [--before bench/scale_before.json]

Two parts, both from the items the real code writes to a moto table:

1. **Write request units per upload.** An API upload of a JPEG with 3 tags
   (`ApiService.upload`), its S3 event (`S3EventService.ingest`, with the real
   imaging) to `ready`, a reprocess (`ApiService.reprocess` then the event
   again) and a delete (`ApiService.delete`). Every write the store sends is
   caught on the client; the item before and after is read back from moto, and
   DynamoDB's rules give its cost: WRU = ceil(size / 1 KB) per item written,
   the larger of the old and new item for a put or update, twice that inside a
   transaction; in each GSI, the projected item is put when it appears or
   changes, deleted when it leaves, and both when its key changes; nothing when
   the write leaves the projection as it was (DynamoDB's "Managing throughput
   for GSIs"). Index writes caused by a transaction are counted once (the
   transaction premium is the table's). A failed conditional write is not
   counted (it costs 1 WRU on AWS; rare here).

2. **Partition heat.** `--uploads` images (default 1,000) from 1,000 users
   whose activity is Zipf-distributed (s = 1), 3 distinct tags each from a
   Zipf vocabulary of 1,000 tags, go through the store as the use-cases drive
   it: created pending, saved ready (with the ready record's real shape from
   part 1), 5 % reprocessed (marked stale, saved ready again) and 2 % deleted.
   Every write unit lands on a partition key of the table or of an index. At
   100, 1,000 and 10,000 uploads/s each key receives rate x (its units per
   upload) WCU/s; one partition takes 1,000 WCU/s. It prints the hottest key,
   its share of all the workload's write units and of its own index's, its
   WCU/s, and whether any key exceeds its limit.

`--before FILE` prints a committed run of the earlier design beside this one.
A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KB = 1024
PARTITION_WCU = 1000  # what one partition key of a table or an index takes per second
RATES = (100, 1_000, 10_000)
USERS = 1_000
VOCABULARY = 1_000
TAGS_PER_IMAGE = 3
REPROCESSED = 0.05
DELETED = 0.02
BASE = "table"
STEP_ORDER = ("upload", "status", "reprocess", "delete")


# -- DynamoDB's item size rules ------------------------------------------------


def _number_size(text: str) -> int:
    """About one byte per two significant digits, plus one (DynamoDB's rule)."""
    digits = text.lstrip("-").replace(".", "").lstrip("0").rstrip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: dict[str, Any]) -> int:
    """The size of one typed value (DynamoDB JSON), without its name."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return _number_size(raw)
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(_number_size(n) for n in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    """Attribute names plus values, as DynamoDB sizes an item."""
    return sum(len(name.encode()) + value_size(v) for name, v in (item or {}).items())


def units(size: int) -> int:
    """Write request units for an item of `size` bytes: one per started KB, at least one."""
    return max(1, math.ceil(size / KB))


# -- the table's shape ---------------------------------------------------------


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]  # its partition (first) and sort key attributes
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    included: tuple[str, ...] = ()

    def project(self, item: dict[str, Any] | None, table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        """The item as this index holds it, or None when it is not in the index (sparse)."""
        if not item or not all(k in item for k in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        wanted = set(table_keys) | set(self.keys) | set(self.included)
        return {k: v for k, v in item.items() if k in wanted}


def describe(client, table: str) -> tuple[tuple[str, ...], list[Index]]:
    """The table's key attributes and its GSIs, as DynamoDB reports them."""
    found = client.describe_table(TableName=table)["Table"]
    table_keys = tuple(k["AttributeName"] for k in found["KeySchema"])
    indexes = [
        Index(
            g["IndexName"],
            tuple(k["AttributeName"] for k in g["KeySchema"]),
            g["Projection"]["ProjectionType"],
            tuple(g["Projection"].get("NonKeyAttributes", ())),
        )
        for g in found.get("GlobalSecondaryIndexes", [])
    ]
    return table_keys, indexes


# -- the ledger: every write, priced --------------------------------------------


@dataclass
class Write:
    step: str
    where: str  # "table" or an index name
    partition: str
    wru: int


@dataclass
class Ledger:
    """Catches the writes a client sends; prices each from the item before and after."""

    table: str
    raw: Any  # a client without the hooks, to read items back
    table_keys: tuple[str, ...]
    indexes: list[Index]
    step: str = ""
    writes: list[Write] = field(default_factory=list)
    _pending: list[tuple[dict, dict | None, bool]] = field(default_factory=list)
    # The items as last read back, by key: the "before" of the next write (a read saved).
    shadow: dict[str, dict | None] = field(default_factory=dict)

    def attach(self, client) -> None:
        events = client.meta.events
        for op in ("PutItem", "DeleteItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem"):
            events.register(f"before-parameter-build.dynamodb.{op}", self._before)
            events.register(f"after-call.dynamodb.{op}", self._after)

    def _keys(self, operation: str, params: dict) -> tuple[list[dict], bool]:
        def key_of(item: dict) -> dict:
            return {k: item[k] for k in self.table_keys}

        if operation == "PutItem":
            return [key_of(params["Item"])], False
        if operation in ("DeleteItem", "UpdateItem"):
            return [params["Key"]], False
        if operation == "TransactWriteItems":
            found = []
            for op in params["TransactItems"]:
                ((kind, body),) = op.items()
                if kind == "Put":
                    found.append(key_of(body["Item"]))
                elif kind in ("Delete", "Update"):
                    found.append(body["Key"])
            return found, True
        found = []
        for request in params["RequestItems"].get(self.table, []):
            body = request.get("PutRequest") or request["DeleteRequest"]
            found.append(key_of(body["Item"]) if "Item" in body else body["Key"])
        return found, False

    def _read(self, key: dict) -> dict | None:
        found = self.raw.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        self.shadow[json.dumps(key, sort_keys=True)] = found
        return found

    def _before(self, model, params, **_):
        keys, transactional = self._keys(model.name, params)
        known = self.shadow
        self._pending = [
            (key, known[k] if (k := json.dumps(key, sort_keys=True)) in known else self._read(key), transactional)
            for key in keys
        ]

    def _after(self, http_response, parsed, model, **_):
        pending, self._pending = self._pending, []
        if http_response.status_code >= 300:
            return  # refused: nothing was written
        for key, old, transactional in pending:
            self.price(key, old, self._read(key), transactional)

    def price(self, key: dict, old: dict | None, new: dict | None, transactional: bool) -> None:
        partition = next(iter(key[self.table_keys[0]].values()))
        base = units(max(item_size(old), item_size(new)))
        self.writes.append(Write(self.step, BASE, partition, base * (2 if transactional else 1)))
        for index in self.indexes:
            before, after = index.project(old, self.table_keys), index.project(new, self.table_keys)
            if before == after:
                continue
            moved = before is not None and after is not None and any(before[k] != after[k] for k in index.keys)
            if before is not None and (after is None or moved):
                self.writes.append(
                    Write(self.step, index.name, _value(before[index.keys[0]]), units(item_size(before)))
                )
            if after is not None:
                self.writes.append(Write(self.step, index.name, _value(after[index.keys[0]]), units(item_size(after))))


def _value(typed: dict) -> str:
    return str(next(iter(typed.values())))


# -- the run ---------------------------------------------------------------------


def _zipf(n: int, s: float = 1.0) -> list[float]:
    return [1 / (k**s) for k in range(1, n + 1)]


def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").resize((640, 480)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _environment() -> dict[str, str]:
    from scripts.bootstrap import stage_environment

    env = {
        **stage_environment("dev"),
        **({"LIST_SHARDS": os.environ["LIST_SHARDS"]} if "LIST_SHARDS" in os.environ else {}),
    }
    os.environ.update(env)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    return env


def lifecycle(ledger: Ledger) -> dict[str, Any]:
    """One image with 3 tags through the real use-cases: upload, ready, reprocess, delete."""
    from chalicelib import bootstrap as composition
    from chalicelib.auth.principal import Caller
    from chalicelib.domain import formats
    from chalicelib.usecases.commands import Metadata, Upload

    api, events = composition.api(), composition.s3_events()
    caller = Caller(owner="alice")
    data = _jpeg()
    meta = Metadata(title="Sunset over the bay", description="", tags=["sunset", "beach", "holiday"])
    ledger.step = "upload (create, pending)"
    record = api.upload(
        caller, Upload(user_id=None, filename="sunset.jpg", data=data, format=formats.sniff(data), meta=meta)
    )
    ledger.step = "status change (pending to ready)"
    events.ingest(api.settings.bucket, record.original_key)
    ready = api.store.get(record.image_id)
    ledger.step = "reprocess (stale, then ready)"
    api.reprocess(caller, record.image_id)
    events.ingest(api.settings.bucket, record.original_key)
    ledger.step = "delete"
    api.delete(caller, record.image_id)
    return {"ready": ready}


def workload(ledger: Ledger, ready_shape, uploads: int, seed: int) -> None:
    """`uploads` images through the store, as the use-cases drive it, on Zipf users and tags."""
    from chalicelib import bootstrap as composition
    from chalicelib.domain import keys
    from chalicelib.domain.records import ImageRecord
    from chalicelib.domain.states import Status

    store = composition.api().store
    rng = random.Random(seed)
    users, vocabulary = _zipf(USERS), _zipf(VOCABULARY)
    for n in range(uploads):
        owner = f"user{rng.choices(range(USERS), users)[0]}"
        tags: list[str] = []
        while len(tags) < TAGS_PER_IMAGE:
            tag = f"tag{rng.choices(range(VOCABULARY), vocabulary)[0]}"
            if tag not in tags:
                tags.append(tag)
        image_id = f"{rng.getrandbits(128):032x}"
        created = f"2026-12-01T00:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z"
        pending = ImageRecord(
            image_id=image_id, owner=owner, filename="photo.jpg", source="api", tags=tags, created_at=created,
            original_key=keys.original_key(owner, image_id, "photo.jpg"), content_type="image/jpeg",
            size_bytes=ready_shape.size_bytes, expires_at=ready_shape.expires_at or 1_900_000_000,
        )  # fmt: skip
        variants = {
            name: replace(v, key=keys.variant_key(image_id, name, v.key.rsplit(".", 1)[-1]))
            for name, v in ready_shape.variants.items()
        }
        ledger.step = "create"
        record = store.create(pending)
        ledger.step = "ready"
        facts = {f: getattr(ready_shape, f) for f in ("format", "width", "height", "sha256", "details", "etag")}
        ready = record.touch(status=Status.READY, variants=variants, expires_at=None, **facts)
        record = store.save(ready, record)
        if rng.random() < REPROCESSED:
            ledger.step = "reprocess"
            stale = store.save(record.touch(presets_fingerprint=None), record)
            record = store.save(stale.touch(presets_fingerprint=ready_shape.presets_fingerprint), stale)
        if rng.random() < DELETED:
            ledger.step = "delete"
            marked = store.mark_deleting(record)
            store.delete(marked)
        else:  # keep moto's table small: its transactions copy the whole table
            _forget(ledger, image_id)


def _forget(ledger: Ledger, image_id: str) -> None:
    """Remove the image's items behind the ledger's back (they are not the workload's writes)."""
    found = ledger.raw.query(
        TableName=ledger.table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"IMG#{image_id}"}},
    )["Items"]
    keys = [{k: item[k] for k in ledger.table_keys} for item in found]
    for start in range(0, len(keys), 25):
        batch = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
        ledger.raw.batch_write_item(RequestItems={ledger.table: batch})
    ledger.shadow.clear()


# -- figures -------------------------------------------------------------------


def per_step(writes: list[Write]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for w in writes:
        table[w.step][w.where] += w.wru
    return {step: dict(v) for step, v in table.items()}


def heat(writes: list[Write], uploads: int) -> dict[str, Any]:
    """The hottest partition keys of the workload, and their load at each rate."""
    by_key: Counter[tuple[str, str]] = Counter()
    by_where: Counter[str] = Counter()
    for w in writes:
        by_key[w.where, w.partition] += w.wru
        by_where[w.where] += w.wru
    total = sum(by_key.values())
    (where, partition), hottest = by_key.most_common(1)[0]
    rates = {}
    for rate in RATES:
        over = [f"{w}:{p}" for (w, p), u in by_key.items() if rate * u / uploads > PARTITION_WCU]
        rates[rate] = {"wcu_per_s": round(rate * hottest / uploads, 1), "keys_over_limit": len(over), "over": over[:5]}
    top = [
        {"where": w, "key": p, "share": round(u / total, 4), "share_of_index": round(u / by_where[w], 4)}
        for (w, p), u in by_key.most_common(8)
    ]
    return {
        "uploads": uploads,
        "wru_per_upload": round(total / uploads, 2),
        "hottest": {"where": where, "key": partition, "share": round(hottest / total, 4),
                    "share_of_index": round(hottest / by_where[where], 4),
                    "wru_per_upload": round(hottest / uploads, 3)},
        "top": top,
        "rates": rates,
    }  # fmt: skip


def run(uploads: int, seed: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from chalicelib import config
    from chalicelib.adapters import aws
    from scripts.bootstrap import bootstrap

    from devstack import moto_fixes

    # moto as is keeps a copy of the table for every item a transaction writes, for good: with an
    # upload's word items (a transaction of 16 items) the run grew past 12 GB. The fixes change
    # nothing the ledger prices (the items written), only what moto keeps (devstack/moto_fixes.py).
    moto_fixes.apply()
    env = _environment()
    with mock_aws():
        aws.reset()
        bootstrap(env)
        raw = boto3.client("dynamodb")
        table_keys, indexes = describe(raw, env["IMAGES_TABLE"])
        ledger = Ledger(env["IMAGES_TABLE"], raw, table_keys, indexes)
        ledger.attach(aws.client("dynamodb"))
        shape = lifecycle(ledger)["ready"]
        one = per_step(ledger.writes)
        ledger.writes = []
        workload(ledger, shape, uploads, seed)
        settings = config.load()
        result = {
            "design": {i.name: f"{'/'.join(i.keys)} {i.projection}" for i in indexes},
            "shards": getattr(settings, "list_shards", None),
            "item_bytes": {"ready record": item_size(raw_item(shape))},
            "per_upload": one,
            "heat": heat(ledger.writes, uploads),
        }
        aws.reset()
    return result


def raw_item(record) -> dict:
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    return {k: ser.serialize(v) for k, v in record.to_item().items()}


def _upload_total(per_upload: dict[str, dict[str, int]]) -> int:
    return sum(sum(v.values()) for step, v in per_upload.items() if step.startswith(("upload", "status")))


def report(now: dict[str, Any], before: dict[str, Any] | None) -> str:
    runs = [("before", before), ("after", now)] if before else [("now", now)]
    lines = []
    for name, r in runs:
        lines.append(f"== {name}: indexes {r['design']}; list shards {r['shards']}")
        lines.append(f"   ready record item: {r['item_bytes']['ready record']} bytes")
        wheres = [BASE, *sorted({w for v in r["per_upload"].values() for w in v if w != BASE})]
        lines.append("   WRU by step         " + "".join(f"{w:>8}" for w in wheres) + "   total")
        for step, v in sorted(r["per_upload"].items(), key=lambda kv: STEP_ORDER.index(kv[0].split()[0])):
            lines.append(f"   {step[:20]:<20}" + "".join(f"{v.get(w, 0):>8}" for w in wheres) + f"{sum(v.values()):>8}")
    lines.append("")
    lines.append("WRU per upload of a JPEG with 3 tags, through to ready (upload + status change):")
    for name, r in runs:
        lines.append(f"   {name:<7} {_upload_total(r['per_upload']):>4}")
    if before:
        lines.append(
            f"   after / before = {_upload_total(now['per_upload']) / _upload_total(before['per_upload']):.2f}"
        )
    lines.append("")
    lines.append(
        f"Workload: {now['heat']['uploads']} uploads, {USERS} Zipf users, {TAGS_PER_IMAGE} tags of {VOCABULARY} (Zipf),"
        f" {REPROCESSED:.0%} reprocessed, {DELETED:.0%} deleted"
    )
    for name, r in runs:
        h = r["heat"]
        hot = h["hottest"]
        lines.append(
            f"   {name:<7} {h['wru_per_upload']} WRU/upload; hottest key {hot['where']}:{hot['key']}"
            f" ({hot['share_of_index']:.1%} of its index's writes, {hot['share']:.1%} of all)"
        )
        for rate in RATES:
            at = h["rates"][str(rate)] if str(rate) in h["rates"] else h["rates"][rate]
            verdict = f"{at['keys_over_limit']} key(s) over {PARTITION_WCU}" if at["keys_over_limit"] else "none over"
            lines.append(f"     {rate:>6} uploads/s: hottest {at['wcu_per_s']:>8} WCU/s of {PARTITION_WCU}; {verdict}")
        for t in h["top"][:4]:
            where = f"{t['where']}:{t['key']}"
            lines.append(f"       {where:<34} {t['share_of_index']:>6.1%} of its index's, {t['share']:.1%} of all")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shards", type=int, help="LIST_SHARDS for this run (default: the dev stage's, else 8)")
    parser.add_argument("--json", type=Path, help="write this run's figures here")
    parser.add_argument("--before", type=Path, help="a run of an earlier design to print beside this one")
    args = parser.parse_args(argv)
    if args.shards:
        os.environ["LIST_SHARDS"] = str(args.shards)
    now = run(args.uploads, args.seed)
    if args.json:
        args.json.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    before = json.loads(args.before.read_text()) if args.before and args.before.exists() else None
    print(report(json.loads(json.dumps(now)), before))


if __name__ == "__main__":
    main()
