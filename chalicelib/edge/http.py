"""The HTTP edge: the route registrar, domain errors to status codes (once, here),
one error shape for every response, and request plumbing that would otherwise
repeat in each route."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from ..adapters import aws
from ..config import Settings
from ..domain import errors, formats
from . import validation

if TYPE_CHECKING:
    from ..auth.principal import Caller
    from ..usecases.api import ApiService

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


def head_without_body(event: Request, get_response) -> Response:
    """Middleware: a HEAD answer has the headers of the GET, never a body, whatever the
    status (an error's JSON included: a client reading a HEAD reads no body, and the next
    answer on the connection would start inside it)."""
    response = get_response(event)
    if event.method == "HEAD":
        response.body = b"" if isinstance(response.body, bytes) else ""  # bytes only for a binary type
    return response


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


# -- the route registrar --------------------------------------------------------

NO_QUERY: tuple[str, ...] = ()  # a route that takes no query parameters refuses any


def settings(request: Request) -> Settings:
    """The settings for this request, read once however many parts of it ask
    (the CORS middleware and the view alike)."""
    from .. import config

    found = getattr(request, "_imgstore_settings", None)
    if found is None:
        found = config.load()
        request._imgstore_settings = found  # type: ignore[attr-defined]  # per request, by design
    return found


class Call:
    """What a view works with, made on first use and once per request."""

    def __init__(self, request: Request):
        self.request = request

    @functools.cached_property
    def settings(self) -> Settings:
        return settings(self.request)

    @functools.cached_property
    def params(self) -> dict[str, str]:
        return params(self.request)

    @property
    def body(self) -> bytes:
        return body(self.request)

    @functools.cached_property
    def api(self) -> ApiService:
        """The API's use-cases, composed at the edge (chalicelib.bootstrap)."""
        from .. import bootstrap

        return bootstrap.api(self.settings)

    @functools.cached_property
    def caller(self) -> Caller:
        """Who is calling; Unauthorized when auth is on and no authorizer vouched for anyone."""
        from .. import auth

        return auth.caller(self.request.context, self.settings)

    def url_for(self, path: str) -> str:
        return url_for(self.request, path)


WRAPPED = "_imgstore_route"  # set on every view the registrar made; tests/test_architecture.py checks it


class Routes:
    """Declares the app's routes. Each view gets, when it is declared and whatever
    the order: the domain-error mapping, the query check (`query`: the parameters it
    takes, or None when the view checks them itself), a `Call` as its first argument,
    and a CORS preflight (OPTIONS, no auth) for its path."""

    def __init__(self, app: Any, preflight: Callable[[Request, list[str]], Response]):
        self.app = app
        self._preflight = preflight
        self._preflighted: set[str] = set()

    def __call__(
        self,
        path: str,
        methods: list[str],
        *,
        content_types: list[str] | None = None,
        authorizer: Any = None,
        query: tuple[str, ...] | None = NO_QUERY,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def declare(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def serve(**path_params: Any) -> Any:
                call = Call(self.app.current_request)
                if query is not None:
                    validation.query(call.params, query)
                return view(call, **path_params)

            handler = domain_errors(serve)
            setattr(handler, WRAPPED, True)
            options: dict[str, Any] = {"methods": methods, "content_types": content_types or ANY}
            if authorizer is not None:
                options["authorizer"] = authorizer
            self.app.route(path, **options)(handler)
            self._declare_preflight(path)
            return view

        return declare

    def _declare_preflight(self, path: str) -> None:
        if path in self._preflighted:
            return
        self._preflighted.add(path)

        def preflight(**_path_params: Any) -> Response:
            request = self.app.current_request
            return self._preflight(request, list(self.app.routes[path]))

        preflight.__name__ = f"preflight_{len(self._preflighted)}"
        setattr(preflight, WRAPPED, True)
        self.app.route(path, methods=["OPTIONS"])(preflight)
