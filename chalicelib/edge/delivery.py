"""Rendition URLs answered by the API: how `make run` (and any stage without a CDN) serves
them. On AWS, CloudFront serves them (delivery/function_url.py behind it), and the API
sends a client that came here there.

A stored rendition is served from the bucket (one S3 read, no render). A miss is handed to
the renderer function, in this process (as devstack's bridge invokes the S3 handlers): the
API's own code never renders, so it never imports Pillow.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from typing import Any

from chalice.app import Response

from .. import bootstrap, config
from ..delivery.service import Delivered, NotStored
from .http import Call

# The event the renderer's Function URL handler takes: what CloudFront sends it, with the
# path the edge verified and the Accept outcome, plus who is asking (redirects differ).
FROM_API = "x-imgstore-origin"


def renderer_event(path: str, client: str, method: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": path,
        "headers": {"x-imgstore-path": path, "x-imgstore-client": client, FROM_API: "api"},
        "requestContext": {"http": {"method": method}},
    }


def serve(call: Call, path: str, renderer: Callable[[dict[str, Any], Any], dict[str, Any]]) -> Response:
    """GET or HEAD of a rendition path."""
    method = call.request.method.upper()
    settings = call.settings
    if config.on_lambda(os.environ):
        if not settings.delivery_base_url:
            return Response(
                body={"error": "renditions are served by the delivery distribution, which is not deployed yet"},
                status_code=503,
                headers={"Retry-After": "60"},
            )
        return _redirect(settings.delivery_base_url + path, "public, max-age=86400")
    try:
        delivered = bootstrap.renditions(settings).serve(path, call.request.headers.get("accept"))
    except NotStored as miss:
        answer = renderer(renderer_event(path, miss.client, method), None)
        body = base64.b64decode(answer.get("body") or "") if answer.get("isBase64Encoded") else answer.get("body")
        return _response(Delivered(answer["statusCode"], dict(answer.get("headers") or {}), body or b""), method)
    return _response(delivered, method)


def _response(delivered: Delivered, method: str) -> Response:
    if delivered.status in (301, 302, 303, 307, 308):
        return _redirect(
            delivered.headers["Location"],
            delivered.headers.get("Cache-Control", "no-store"),
            delivered.headers.get("Vary"),
        )
    body = b"" if method == "HEAD" else delivered.body
    # The server frames the body itself (chalice local would send a second Content-Length).
    headers: dict[str, str | list[str]] = {k: v for k, v in delivered.headers.items() if k != "Content-Length"}
    return Response(body=body, status_code=delivered.status, headers=headers)


def _redirect(location: str, cache_control: str, vary: str | None = None) -> Response:
    """A redirect with no body says so: `text/plain`, never JSON (API Gateway and chalice
    local would call a response without a type JSON)."""
    headers: dict[str, str | list[str]] = {
        "Location": location,
        "Cache-Control": cache_control,
        "Content-Type": "text/plain; charset=utf-8",
    }
    if vary:
        headers["Vary"] = vary
    return Response(body="", status_code=302, headers=headers)


redirect = _redirect  # /images/{id}/file's too
