"""Two habits of moto 5.2's models that do not scale, fixed for the local stack.

1. Every model object is kept forever. moto's BaseModel appends each new
   instance (every DynamoDB Item, every S3 key) to a class-level list for its
   dashboard (/moto-api/data.json) and never lets go.
2. TransactWriteItems deep-copies the whole table once per item it writes:
   its rollback copy, made (and then dropped) on every call.

Together, 400 uploads with three tags (a transaction of four items at each
status change) left millions of dead Items
in those lists: the stack's process grew to 9.7 GB, every garbage collection
walked all of it, and after "stopped" the interpreter's final collection spun
one CPU for more than ten minutes. And each transaction cost time in
proportion to the table: an upload's writes took 82 ms at 400 items and
1.2 s at 1,600 (43 ms with these fixes; bench/local_stack.py).

Here moto keeps no list (nothing in the stack reads the dashboard; an object
that is gone is freed, an S3 key's buffer closed by its __del__), and a
transaction saves, and on failure puts back, only the items it names (a
table's stream, which the stack does not use, keeps what the undone writes
added to it).
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

_applied = False
_by_key = threading.local()  # set while a transaction keeps its own undo log


def _untracked(cls, *args, **kwargs):
    return object.__new__(cls)


def forget_model_instances() -> None:
    """moto's models are freed like any object once nothing refers to them."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    BaseModel.__new__ = _untracked  # type: ignore[method-assign]
    reset_model_data()  # and drop what was tracked before


class _CopyKeepingTables:
    """The `copy` module as moto.dynamodb.models sees it: while a transaction
    keeps its own undo log, the "deep copy" of a table is the table itself,
    so moto's own rollback (putting the copy back) changes nothing."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if getattr(_by_key, "active", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _undo_log(backend, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash key, range key, a copy of the item or None) for every item
    the transaction names. One moto would refuse anyway is left out."""
    saved = []
    for entry in transact_items:
        try:
            ((kind, operation),) = entry.items()
            table = backend.get_table(operation["TableName"])
            named = operation["Item"] if kind == "Put" else operation["Key"]
            hash_key, range_key = backend.get_keys_value(table, named)
            current = table.get_item(hash_key, range_key)
        except Exception:  # moto raises its own error for it
            continue
        saved.append((table, hash_key, range_key, copy.deepcopy(current)))
    return saved


def _put_back(saved: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_key, range_key, item in reversed(saved):
        if item is not None:
            if range_key is not None:
                table.items[hash_key][range_key] = item
            else:
                table.items[hash_key] = item
        elif range_key is not None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items.pop(hash_key, None)


def _transact_by_key(original):
    @functools.wraps(original)
    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        saved = _undo_log(self, transact_items[:101])  # more than 100: moto refuses before writing
        _by_key.active = True
        try:
            return original(self, transact_items)
        except Exception:
            _put_back(saved)
            raise
        finally:
            _by_key.active = False

    return transact_write_items


def rollback_by_key() -> None:
    """TransactWriteItems saves and restores only the items it names."""
    import moto.dynamodb.models as models

    models.copy = _CopyKeepingTables()  # type: ignore[assignment]
    backend = models.DynamoDBBackend
    backend.transact_write_items = _transact_by_key(backend.transact_write_items)  # type: ignore[method-assign]


def apply() -> None:
    """Both fixes, once per process, before moto serves anything."""
    global _applied
    if not _applied:
        forget_model_instances()
        rollback_by_key()
        _applied = True
