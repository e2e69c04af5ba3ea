"""When a webhook delivery is attempted, and how the waits are spent.

The Standard Webhooks schedule: immediately, then 5 s, 5 min, 30 min, 2 h,
5 h, 10 h and 10 h after each failure; eight attempts over about 27.6 h, then
the dead-letter queue. `WEBHOOK_RETRY_SCHEDULE` replaces it (the local stage
shortens it to seconds, and its banner says so).

Nothing sleeps. A failed attempt queues the next one on the delivery queue
with `DelaySeconds`; SQS delays at most 15 minutes, so a longer wait is
spent in hops: the message carries the time it is due, and one received
early is queued again for what is left (at most 900 s each, so a 10 h wait
is 40 hops, each a receive and a send: cents per million). EventBridge
Scheduler could wait the whole time in one schedule, but each delivery would
create and delete a schedule of its own, with one more service and its IAM
to run, and moto runs no schedules; the queue is already needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

# Seconds to wait before each attempt: the first is immediate.
STANDARD: tuple[int, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
SQS_MAX_DELAY = 900  # SendMessage's DelaySeconds cannot exceed 15 minutes
MAX_ATTEMPTS = 20


def parse(raw: str | None) -> tuple[int, ...]:
    """WEBHOOK_RETRY_SCHEDULE: comma-separated seconds, the first 0; the standard one when unset."""
    if not raw:
        return STANDARD
    try:
        waits = tuple(int(part) for part in raw.split(","))
    except ValueError as exc:
        raise RuntimeError(f"WEBHOOK_RETRY_SCHEDULE must be comma-separated whole seconds, got {raw!r}") from exc
    if not 1 <= len(waits) <= MAX_ATTEMPTS or waits[0] != 0 or any(w < 0 for w in waits):
        raise RuntimeError(
            f"WEBHOOK_RETRY_SCHEDULE needs 1-{MAX_ATTEMPTS} non-negative waits, the first 0 (immediately); got {raw!r}"
        )
    return waits


def from_environment(env: Mapping[str, str]) -> tuple[int, ...]:
    return parse(env.get("WEBHOOK_RETRY_SCHEDULE"))


def next_due(schedule: Sequence[int], failed_attempt: int, now: float) -> float | None:
    """When attempt `failed_attempt + 1` is due, or None after the last attempt."""
    if failed_attempt >= len(schedule):
        return None
    return now + schedule[failed_attempt]


def queue_delay(due_at: float, now: float) -> int:
    """The DelaySeconds that brings a message back at `due_at`, or as near as SQS allows."""
    return max(0, min(SQS_MAX_DELAY, math.ceil(due_at - now)))


def is_due(due_at: float, now: float) -> bool:
    """Whether a received message should be attempted now (SQS may hand it back
    up to a second early, as DelaySeconds counts whole seconds)."""
    return now + 1 >= due_at


def describe(schedule: Sequence[int]) -> str:
    """'immediately, 5 s, 5 min, ...': for banners and logs."""
    return ", ".join("immediately" if w == 0 and i == 0 else _duration(w) for i, w in enumerate(schedule))


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds:
        return f"{seconds // 60} min"
    return f"{seconds} s"
