"""The renderer's HTTP face: a Lambda Function URL request (CloudFront's failover on a miss)
in, a Function URL response out.

CloudFront's viewer-request function has already verified the path, normalised Accept and
rewritten the URI to the stored object's key; it passes the signed path in `x-imgstore-path`
and the Accept outcome in `x-imgstore-client`. The renderer verifies the path again (a
request that reached the Function URL some other way gets 403, never image bytes), then
serves as everywhere (`service.Renditions.serve`). Past the size line it redirects to the
same path, which CloudFront then serves from the bucket.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from ..adapters.aws import transient
from ..domain import errors
from .service import Delivered, Renditions

log = logging.getLogger(__name__)

_STATUS = {errors.Forbidden: 403, errors.NotFound: 404, errors.Unprocessable: 422, errors.Invalid: 400}
# An error is cached briefly: a 4xx for a source over a limit stays a 4xx, but a 404 for an
# image still being processed must not outlive its processing.
ERROR_CACHE = {403: "no-store", 404: "public, max-age=10", 422: "public, max-age=60", 400: "no-store"}


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in (event.get("headers") or {}).items()}


def handle(event: dict[str, Any], renditions: Renditions) -> dict[str, Any]:
    """The Function URL response to `event`."""
    headers = _headers(event)
    method = (event.get("requestContext", {}).get("http", {}).get("method") or "GET").upper()
    if method not in ("GET", "HEAD"):
        return error(405, "only GET and HEAD", {"Allow": "GET, HEAD"})
    path = headers.get("x-imgstore-path") or event.get("rawPath") or ""
    # Behind CloudFront (which forwards only the two headers above) a large rendition is
    # redirected to its own URL, then served from the bucket; asked by the API in-process
    # (no CDN), to the stored object's presigned URL.
    behind_cdn = headers.get("x-imgstore-origin") != "api"
    try:
        delivered = renditions.serve(path, None, client=headers.get("x-imgstore-client"), redirect_to_self=behind_cdn)
    except errors.ImgstoreError as exc:
        status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
        return error(status, str(exc))
    except Exception as exc:
        if not transient(exc):
            raise
        log.warning("AWS unavailable while rendering: %s", exc)
        return error(503, "an AWS service is briefly unavailable; try again in a moment", {"Retry-After": "1"})
    return response(delivered, head=method == "HEAD")


def response(delivered: Delivered, head: bool = False) -> dict[str, Any]:
    body = b"" if head else delivered.body
    return {
        "statusCode": delivered.status,
        "headers": delivered.headers,
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def error(status: int, message: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": ERROR_CACHE.get(status, "no-store"),
            **(extra or {}),
        },
        "body": json.dumps({"error": message}),
    }
