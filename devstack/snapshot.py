"""Local data across restarts: moto keeps everything in memory, so the runner
saves the bucket's objects and the table's items when the stack stops and
puts them back when it starts.

Restoring runs after bootstrap, so each restored object under uploads/
notifies the events queue like any upload. Its record already says what
became of that very object (same ETag), so the handler leaves it alone; an
upload whose event was still queued at the stop is processed now.

    DIR/objects.json   [{key, file, content_type, metadata}]
    DIR/objects/       one file per object, named by the SHA-256 of its key
    DIR/items.jsonl    one DynamoDB item (typed JSON) per line
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):  # DynamoDB binary attributes
        return {"__b64__": base64.b64encode(value).decode()}
    raise TypeError(f"cannot save {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    return base64.b64decode(obj["__b64__"]) if set(obj) == {"__b64__"} else obj


def exists(directory: Path) -> bool:
    return (directory / "objects.json").is_file() and (directory / "items.jsonl").is_file()


def save(s3, dynamodb, bucket: str, table: str, directory: Path) -> tuple[int, int]:
    """Write everything to `directory`, replacing the previous save only once complete."""
    staging = directory.with_name(directory.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "objects").mkdir(parents=True)
    manifest = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            obj = s3.get_object(Bucket=bucket, Key=entry["Key"])
            name = hashlib.sha256(entry["Key"].encode()).hexdigest()
            (staging / "objects" / name).write_bytes(obj["Body"].read())
            manifest.append(
                {
                    "key": entry["Key"],
                    "file": name,
                    "content_type": obj.get("ContentType"),
                    "metadata": obj.get("Metadata", {}),
                }
            )
    (staging / "objects.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    items = 0
    with open(staging / "items.jsonl", "w") as out:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            for item in page["Items"]:
                out.write(json.dumps(item, default=_encode, ensure_ascii=False) + "\n")
                items += 1
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return len(manifest), items


def restore(s3, dynamodb, bucket: str, table: str, directory: Path) -> tuple[int, int]:
    """Put the saved items, then the saved objects, back. Items first, so the
    objects' events find their records."""
    lines = (directory / "items.jsonl").read_text().splitlines()
    items = [json.loads(line, object_hook=_decode) for line in lines if line.strip()]
    for start in range(0, len(items), 25):
        pending: dict[str, Any] | None = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None
            if pending:
                time.sleep(0.05)
    manifest = json.loads((directory / "objects.json").read_text())
    for entry in manifest:
        params = {
            "Bucket": bucket,
            "Key": entry["key"],
            "Metadata": entry.get("metadata") or {},
            "Body": (directory / "objects" / entry["file"]).read_bytes(),
        }
        if entry.get("content_type"):
            params["ContentType"] = entry["content_type"]
        s3.put_object(**params)
    return len(manifest), len(items)
