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

import time
from collections.abc import Callable
from typing import Any

from ..adapters import observability
from ..domain import keys
from ..domain.states import Outcome

_OUTCOME_METRICS = {Outcome.READY: "ImagesIngested", Outcome.REJECTED: "ImagesRejected"}


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
    observability.logger().info(
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
        observability.logger().exception("s3 event", extra={**line, "status": "error", "duration_ms": _ms_since(start)})
        if creating:
            observability.record(("ImagesFailed", "Count", 1), flush=True)
        raise
    duration = _ms_since(start)
    observability.logger().info("s3 event", extra={**line, "status": outcome, "duration_ms": duration})
    counted = creating and outcome in _OUTCOME_METRICS
    entries = [(_OUTCOME_METRICS[outcome], "Count", 1), ("ProcessingMs", "Milliseconds", duration)] if counted else []
    observability.record(*entries, flush=True)
    return outcome
