"""The HTTP edge: domain errors to status codes (once, here), one error shape
for every response, and request plumbing that would otherwise repeat in each route."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import Request, Response

from . import aws, errors, formats, validation
from .config import Settings

log = logging.getLogger(__name__)

JSON = "application/json"
UPLOAD_TYPES = [JSON, *formats.UPLOAD_CONTENT_TYPES]
# Chalice's defaults cover JPEG, PNG and GIF; API Gateway must also pass these
# through as binary, or raw uploads of them arrive mangled.
EXTRA_BINARY_TYPES = [
    t for t in formats.UPLOAD_CONTENT_TYPES if t not in ("image/jpeg", "image/png", "image/gif", "image/jpg")
]


# The one place a domain error gets its HTTP status; checked in order, most specific first.
STATUS: dict[type[errors.ImgstoreError], int] = {
    errors.Invalid: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.Unprocessable: 422,
}


def error_response(error: errors.ImgstoreError) -> Response:
    """The `{"error": ...}` answer for a domain error."""
    status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 500)
    return Response(body={"error": str(error)}, status_code=status)


# An AWS service still throttling or unreachable after the SDK's own retries
# (five attempts with backoff) is not a bug: the client may try again.
UNAVAILABLE = "an AWS service imgstore relies on is briefly unavailable; try again in a moment"
RETRY_AFTER_SECONDS = 1


def unavailable_response() -> Response:
    """503 with Retry-After. The same request may simply be sent again: a half-done
    upload was undone, a half-done delete is finished by its retry
    (tests/test_fault_injection.py)."""
    return Response(body={"error": UNAVAILABLE}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def domain_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a view so the domain errors it raises become their HTTP answers, and AWS
    being briefly unavailable a 503.

    Chalice turns any other exception into a 500 before middleware sees it,
    so the mapping has to sit around the view itself.
    """

    @functools.wraps(view)
    def answer(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except errors.ImgstoreError as exc:
            return error_response(exc)
        except Exception as exc:
            if not aws.transient(exc):
                raise
            log.warning("AWS unavailable after the SDK's retries: %s", exc, exc_info=True)
            return unavailable_response()

    return answer


def map_domain_errors(app: Any) -> None:
    """Give every route registered on `app` so far the domain-error mapping."""
    for methods in app.routes.values():
        for entry in methods.values():
            entry.view_function = domain_errors(entry.view_function)


# Routes that read no body take any Content-Type: Chalice would answer 415
# for anything but JSON, though the body is never looked at.
ANY = ["*/*"]


def json_errors(routes: Mapping[str, Mapping[str, Any]]):
    """Middleware over the app's `routes`: every error becomes `{"error": ...}`,
    Chalice's own included (415, 405, bad JSON), a 405 says what is allowed in
    `Allow` (RFC 9110), and a 500 never carries internals."""

    def middleware(event: Request, get_response) -> Response:
        response = get_response(event)
        body = response.body
        if response.status_code >= 400 and isinstance(body, dict) and "Message" in body:
            if response.status_code >= 500:
                request_id = getattr(getattr(event, "lambda_context", None), "aws_request_id", None)
                response.body = {"error": "internal server error", "request_id": request_id}
            else:
                response.body = {"error": body["Message"]}
        if response.status_code == 405:
            methods = routes.get((event.context or {}).get("resourcePath", ""), {})
            response.headers["Allow"] = ", ".join(sorted(methods))
        return response

    return middleware


def params(request: Request | None) -> dict[str, str]:
    """The query parameters (none outside a request)."""
    return dict((request.query_params if request is not None else None) or {})


def body(request: Request) -> bytes:
    """The request's body as bytes (Chalice types it as text or bytes)."""
    raw = request.raw_body
    return raw.encode() if isinstance(raw, str) else raw


def upload_from(request: Request, settings: Settings) -> validation.Upload:
    """POST /images takes JSON with base64, or raw image bytes with metadata in the query."""
    content_type = (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()
    if content_type == JSON:
        if request.query_params:  # the metadata travels in the body, never beside it
            names = ", ".join(sorted(request.query_params))
            raise errors.Invalid(f"a JSON upload takes no query parameters; got: {names}")
        return validation.upload_from_json(body(request), settings)
    query = request.query_params
    tags = query.getlist("tags") if query and "tags" in query else []  # Chalice's getlist raises when absent
    return validation.upload_from_raw(body(request), params(request), tags, settings)


def url_for(request: Request, path: str) -> str:
    """`path` as the client reaches it, with API Gateway's stage prefix when there is one."""
    full = (request.context or {}).get("path") or request.path
    prefix = full[: -len(request.path)] if request.path and full.endswith(request.path) else ""
    return prefix + path


def created(request: Request, body: dict[str, Any], location: str) -> Response:
    return Response(body=body, status_code=201, headers={"Location": url_for(request, location)})


def accepted(body: dict[str, Any]) -> Response:
    """202: the work was handed on and happens in the background."""
    return Response(body=body, status_code=202)


def redirect(url: str) -> Response:
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"})


def served(file: Any) -> Response:
    """A web app file (`webapp.Served`: status, headers, body) as a response."""
    return Response(body=file.body, status_code=file.status, headers=file.headers)
