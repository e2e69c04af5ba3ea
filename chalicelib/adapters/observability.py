"""powertools' Logger and Metrics (EMF on stdout, which Lambda ships to CloudWatch),
each made on first use; recording a metric never raises."""

from __future__ import annotations

import functools
import sys
import threading

from .. import config


class _CurrentStdout:
    """Writes to whatever sys.stdout is at the time (pytest swaps it per test)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


# aws_lambda_powertools has an import cycle: a thread that imports it while
# another is half-way through gets an ImportError. Lambda runs one event per
# process, but `chalice local` and the local event bridge run several threads
# (a page's first load sends its requests at once), so the import is one at a time.
_import_lock = threading.Lock()


@functools.cache
def logger():
    with _import_lock:
        from aws_lambda_powertools.logging import Logger

        return Logger(service=config.telemetry_names().service, stream=_CurrentStdout(), utc=True)  # type: ignore[arg-type]  # a file-like writer


@functools.cache
def metrics():
    with _import_lock:
        from aws_lambda_powertools.metrics import Metrics

        names = config.telemetry_names()
        return Metrics(namespace=names.namespace, service=names.service)


def stored(nbytes: int) -> None:
    """Count bytes written to the bucket; flushed with the event's other metrics."""
    if nbytes > 0:
        record(("BytesStored", "Bytes", nbytes), flush=False)


def record(*entries: tuple[str, str, float], flush: bool) -> None:
    """Add metrics (name, unit, value), and flush if asked. Never raises: what they
    count is already done, and a metric lost is better than an event retried, its
    good work marked failed and done again."""
    try:
        for name, unit, value in entries:
            metrics().add_metric(name=name, unit=unit, value=value)
        if flush:
            _flush()
    except Exception:
        logger().exception("could not record the %s metric", ", ".join(e[0] for e in entries) or "flushed")
        metrics().clear_metrics()  # what could not go out would only spoil the next event's


def _flush() -> None:
    # Only when something was recorded: powertools warns about empty flushes.
    if metrics().metric_set:
        metrics().flush_metrics()
