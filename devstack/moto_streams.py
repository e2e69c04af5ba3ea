"""A cheaper rollback copy of a DynamoDB table's stream in moto.

moto snapshots a whole table (`copy.deepcopy`) before every TransactWriteItems,
to roll back on failure, and the snapshot includes the table's stream shard:
every stream record ever written, copied through Python's generic deepcopy
each time. With the stream on (it is the events' outbox), the suite ran about
twice as slow. Stream records are never changed once written, so the snapshot
needs only a copy of the list that holds them: this gives the shard that
`__deepcopy__`. The rollback semantics are unchanged (a failed transaction
restores the records list as it was). Installed by the tests' conftest, whose
in-process moto keeps its own rollback; the local stack's server undoes a
transaction item by item instead, stream included (moto_fixes.py). Nothing
here ships to Lambda.
"""

from __future__ import annotations

import copy
from typing import Any


def install() -> None:
    from moto.dynamodb.models.table import StreamShard

    if getattr(StreamShard, "_imgstore_cheap_copy", False):
        return

    def __deepcopy__(self: Any, memo: dict[int, Any]) -> Any:
        clone = copy.copy(self)
        clone.items = list(self.items)  # the records themselves are never mutated
        table = memo.get(id(self.table))
        if table is not None:  # the table being copied, when the copy starts from it
            clone.table = table
        return clone

    StreamShard.__deepcopy__ = __deepcopy__  # type: ignore[attr-defined]
    StreamShard._imgstore_cheap_copy = True  # type: ignore[attr-defined]
