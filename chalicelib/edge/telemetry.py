"""Telemetry: one structured JSON log line per request and per S3 event, and
CloudWatch metrics in the embedded metric format (EMF).

Both come from aws-lambda-powertools (Logger and Metrics), created on first
use. The API's cold path imports only the Logger; Metrics is imported by the
S3 event path. Log lines and EMF documents go to stdout, which Lambda ships to
CloudWatch Logs; CloudWatch extracts the metrics, so no PutMetricData call
(and no IAM permission) is involved.

Metrics, namespace POWERTOOLS_METRICS_NAMESPACE (default "imgstore"), with a
`service` dimension (POWERTOOLS_SERVICE_NAME, one per stage):
    ImagesIngested, ImagesRejected, ImagesFailed   Count, one per upload event
    ProcessingMs                                   Milliseconds per upload event
    BytesStored                                    Bytes written (original + variants)
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ..domain import keys

NAMESPACE = "imgstore"
SERVICE = "imgstore"
_OUTCOME_METRICS = {"ready": "ImagesIngested", "rejected": "ImagesRejected"}


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

        return Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE, stream=_CurrentStdout(), utc=True)  # type: ignore[arg-type]  # a file-like writer


@functools.cache
def metrics():
    with _import_lock:
        from aws_lambda_powertools.metrics import Metrics

        return Metrics(
            namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE,
            service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE,
        )


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _request_id(event: Any) -> str | None:
    return getattr(getattr(event, "lambda_context", None) or getattr(event, "context", None), "aws_request_id", None)


# -- API ---------------------------------------------------------------------


def _owner(request, body: Any) -> str | None:
    """Who the request acted for: the authenticated principal, else the record's owner or user_id."""
    authorizer = (request.context or {}).get("authorizer") or {}
    owner = authorizer.get("owner") or (authorizer.get("claims") or {}).get("sub")
    if not owner and isinstance(body, dict):
        owner = body.get("owner") or (body.get("image") or {}).get("owner")
    return owner or (request.query_params or {}).get("user_id")


def log_request(request, get_response: Callable):
    """HTTP middleware: one line per request, whatever its outcome."""
    start = time.perf_counter()
    response = get_response(request)
    body = response.body if isinstance(response.body, dict) else None
    context = request.context or {}
    logger().info(
        "request",
        extra={
            "request_id": context.get("requestId"),
            "function_request_id": _request_id(request),
            "route": f"{request.method} {context.get('resourcePath') or request.path}",
            "image_id": (request.uri_params or {}).get("image_id") or (body or {}).get("image_id"),
            "owner": _owner(request, body),
            "status": response.status_code,
            "duration_ms": _ms_since(start),
        },
    )
    return response


# -- S3 events ---------------------------------------------------------------


def log_s3_event(event, get_response: Callable):
    """S3 middleware: one line per event, and the upload metrics, flushed per event.

    The handler returns the use-case's outcome ("ready", "rejected", ...); an
    exception is a failure, logged, counted and re-raised so Lambda retries.
    """
    start = time.perf_counter()
    record = (event.to_dict().get("Records") or [{}])[0]
    name = record.get("eventName", "")
    parsed = keys.parse_upload_key(event.key)
    line = {
        "request_id": _request_id(event),
        "event": name,
        "bucket": event.bucket,
        "key": event.key,
        "image_id": parsed.image_id
        if parsed and parsed.image_id
        else keys.image_id_for_object(event.bucket, event.key),
        "owner": parsed.owner if parsed else None,
    }
    creating = name.startswith("ObjectCreated")
    try:
        outcome = get_response(event)
    except Exception:
        logger().exception("s3 event", extra={**line, "status": "error", "duration_ms": _ms_since(start)})
        if creating:
            _record(("ImagesFailed", "Count", 1), flush=True)
        raise
    duration = _ms_since(start)
    logger().info("s3 event", extra={**line, "status": outcome, "duration_ms": duration})
    counted = creating and outcome in _OUTCOME_METRICS
    entries = [(_OUTCOME_METRICS[outcome], "Count", 1), ("ProcessingMs", "Milliseconds", duration)] if counted else []
    _record(*entries, flush=True)
    return outcome


def stored(nbytes: int) -> None:
    """Count bytes written to the bucket; flushed with the event's other metrics."""
    if nbytes > 0:
        _record(("BytesStored", "Bytes", nbytes), flush=False)


def _record(*entries: tuple[str, str, float], flush: bool) -> None:
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
