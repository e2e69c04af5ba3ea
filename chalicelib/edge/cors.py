"""CORS for the API, with any number of allowed origins.

Chalice's CORSConfig allows a single origin, so imgstore answers browser
preflights itself (an OPTIONS route on every path, without an authorizer) and
adds the CORS headers to every response, errors included, so that a browser
shows the real error. CORS_ALLOW_ORIGINS lists the origins, comma-separated,
or is `*` for any. The bucket's CORS rules (infra/resources.yaml,
scripts/bootstrap.py) allow the same origins to POST or PUT to presigned URLs.

Errors API Gateway answers itself (a missing token, an unknown path) never
reach this code; `make deploy` gives those CORS headers too (scripts/deploy.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from chalice.app import Request, Response

from .http import settings

ALLOW_HEADERS = "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,X-Api-Key"
EXPOSE_HEADERS = "Location,Retry-After"  # Retry-After: with a 503, when to try again
MAX_AGE_SECONDS = 600


def _origins(request: Request) -> tuple[str, ...]:
    try:
        return settings(request).cors_origins  # read once per request, shared with the view
    except RuntimeError:  # a broken configuration is the route's 500 to report, in the usual shape
        return ()


def allowed_origin(origin: str | None, origins: Iterable[str]) -> str | None:
    """The Access-Control-Allow-Origin for a request from `origin`, or None."""
    origins = tuple(origins)
    if not origin:
        return None
    if "*" in origins:
        return "*"
    return origin if origin.rstrip("/") in origins else None


def _vary(headers: dict, allow: str | None) -> None:
    if allow != "*":  # the answer depends on the Origin header: caches must know
        # Added to what the view said it varies on (a rendition's Accept), never replacing it.
        present = [v.strip() for v in str(headers.get("Vary") or "").split(",") if v.strip()]
        headers["Vary"] = ", ".join(present if "Origin" in present else [*present, "Origin"])


def add_headers(request: Request, get_response) -> Response:
    """HTTP middleware: CORS headers on every response to an allowed origin."""
    response = get_response(request)
    if request.method == "OPTIONS":
        return response  # preflight() set them
    allow = allowed_origin(request.headers.get("origin"), _origins(request))
    if allow:
        response.headers["Access-Control-Allow-Origin"] = allow
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    _vary(response.headers, allow)
    return response


def preflight(request: Request, methods: Iterable[str]) -> Response:
    """The answer to a browser's OPTIONS for a path serving `methods`:
    204 for an allowed origin and method, 403 with the reason otherwise."""
    methods = sorted(m for m in methods if m != "OPTIONS")
    origin = request.headers.get("origin")
    allow = allowed_origin(origin, _origins(request))
    headers: dict[str, str | list[str]] = {}
    _vary(headers, allow)
    if not allow:
        return Response(body={"error": f"origin {origin or '(none)'} is not allowed"}, status_code=403, headers=headers)
    wanted = (request.headers.get("access-control-request-method") or "").upper()
    if wanted and wanted not in methods:
        return Response(
            body={"error": f"method {wanted} is not allowed here; allowed: {', '.join(methods)}"},
            status_code=403,
            headers={**headers, "Access-Control-Allow-Origin": allow},
        )
    headers.update(
        {
            "Access-Control-Allow-Origin": allow,
            "Access-Control-Allow-Methods": ",".join([*methods, "OPTIONS"]),
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
        }
    )
    return Response(body="", status_code=204, headers=headers)
