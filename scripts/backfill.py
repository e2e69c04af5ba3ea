"""Bring an existing table to the list keys and indexes this version uses.

    python scripts/backfill.py --stage prod                        # the items (resumable)
    python scripts/backfill.py --stage dev --indexes --drop-old    # a table bootstrap.py made
    AWS_ENDPOINT_URL=http://127.0.0.1:5000 python scripts/backfill.py --stage local --indexes --drop-old

Every record and tag item gets the list keys `store.py` writes now (`l1pk`..`l4pk`,
sharded by the stage's LIST_SHARDS) and loses the earlier design's (`g1pk`..`g4pk`);
a tag item whose record is gone is deleted. Run it after a deploy that changes the
indexes, or before lowering LIST_SHARDS (raising it needs nothing). It is idempotent (a
second run reports every item unchanged) and resumable: after each page of the Scan it
saves where it is in `--state` (default `.backfill-STAGE.json`), and a run that finds the
file carries on from there; the file goes when the Scan is done. A save made while it
runs already writes the new keys, and the backfill leaves that item alone.

`--indexes` first adds the indexes the table lacks (one UpdateTable each, waiting until
it is active: DynamoDB builds one at a time); `--drop-old` removes gsi1-gsi4 once the
items are done. Both are for tables bootstrap.py made; a stack's table follows
infra/resources.yaml (docs/deploy.md#upgrading-the-table).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the project's packages become importable

from chalicelib import config  # noqa: E402
from chalicelib.adapters import aws  # noqa: E402
from chalicelib.adapters.store import ImageStore  # noqa: E402
from scripts.bootstrap import stage_environment, table_definition  # noqa: E402

LEGACY_INDEXES = ("gsi1", "gsi2", "gsi3", "gsi4")


def _wait_active(dynamodb, table: str, poll: float) -> None:
    while True:
        found = dynamodb.describe_table(TableName=table)["Table"]
        indexes = found.get("GlobalSecondaryIndexes", [])
        if found["TableStatus"] == "ACTIVE" and all(i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes):
            return
        time.sleep(poll)


def _index_names(dynamodb, table: str) -> set[str]:
    return {i["IndexName"] for i in dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])}


def ensure_indexes(dynamodb, table: str, poll: float = 10.0) -> list[str]:
    """Add the indexes of table_definition() the table lacks, one at a time. The names added."""
    wanted = table_definition(table)
    attributes = {a["AttributeName"]: a for a in wanted["AttributeDefinitions"]}
    added = []
    for index in wanted["GlobalSecondaryIndexes"]:
        present = _index_names(dynamodb, table)
        if index["IndexName"] in present:
            continue
        used = [attributes[k["AttributeName"]] for k in index["KeySchema"]]
        dynamodb.update_table(
            TableName=table, AttributeDefinitions=used, GlobalSecondaryIndexUpdates=[{"Create": index}]
        )
        _wait_active(dynamodb, table, poll)
        added.append(index["IndexName"])
    return added


def drop_legacy_indexes(dynamodb, table: str, poll: float = 10.0) -> list[str]:
    """Remove gsi1-gsi4 where they exist, one at a time. The names removed."""
    dropped = []
    for name in LEGACY_INDEXES:
        present = _index_names(dynamodb, table)
        if name in present:
            dynamodb.update_table(TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": name}}])
            _wait_active(dynamodb, table, poll)
            dropped.append(name)
    return dropped


def backfill(
    store: ImageStore, dynamodb, state: Path, page_size: int = 200, max_pages: int | None = None
) -> tuple[Counter[str], bool]:
    """Refresh every item's list keys, page by page, from where `state` says. What happened to
    how many items, and whether the Scan finished (False: `max_pages` stopped it; run again)."""
    start: dict[str, Any] | None = json.loads(state.read_text()) if state.exists() else None
    counts: Counter[str] = Counter()
    pages = 0
    while max_pages is None or pages < max_pages:
        params: dict[str, Any] = dict(TableName=store.table, Limit=page_size, ConsistentRead=True)
        if start:
            params["ExclusiveStartKey"] = start
        reply = dynamodb.scan(**params)
        for item in reply["Items"]:
            counts[store.refresh_list_keys(item)] += 1
        pages += 1
        start = reply.get("LastEvaluatedKey")
        if not start:
            state.unlink(missing_ok=True)
            return counts, True
        state.write_text(json.dumps(start))
    return counts, False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--indexes", action="store_true", help="first add the indexes the table lacks")
    parser.add_argument("--drop-old", action="store_true", help="then remove gsi1-gsi4")
    parser.add_argument("--state", type=Path, help="where the Scan's position is kept (default .backfill-STAGE.json)")
    args = parser.parse_args(argv)
    env = stage_environment(args.stage)
    settings = config.load(env)
    dynamodb = aws.session().client("dynamodb")
    if args.indexes:
        print(f"indexes added: {', '.join(ensure_indexes(dynamodb, settings.table)) or 'none'}")
    store = ImageStore(settings.table, client=dynamodb, shards=settings.list_shards)
    counts, done = backfill(store, dynamodb, args.state or Path(f".backfill-{args.stage}.json"))
    print(f"items: {', '.join(f'{n} {what}' for what, n in sorted(counts.items())) or 'none'}")
    if args.drop_old and done:
        print(f"indexes removed: {', '.join(drop_legacy_indexes(dynamodb, settings.table)) or 'none'}")


if __name__ == "__main__":
    main()
