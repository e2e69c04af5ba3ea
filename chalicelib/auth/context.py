"""The caller of a request, read from the context its authorizer left.

The routes trust only what an authorizer put in the request context. The
token authorizer lets a bad token through *with the reason* instead of denying
it, so that the 401 comes from the app: a JSON `{"error": ...}` with CORS
headers, the same under `chalice local` as on API Gateway.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from ..config import Settings
from ..domain import keys
from ..domain.errors import Unauthorized
from .principal import ANONYMOUS, Caller


def caller(request_context: Mapping[str, Any] | None, settings: Settings) -> Caller:
    """The caller behind a request, from what an authorizer put in its context.
    Raises Unauthorized when auth is on and the authorizer vouched for nobody."""
    if settings.auth_mode == "none":
        return ANONYMOUS
    context = (request_context or {}).get("authorizer") or {}
    if settings.auth_mode == "token":
        return _token_caller(context)
    return _cognito_caller(context, settings.admin_group)


def _token_caller(context: Mapping[str, Any]) -> Caller:
    if context.get("error"):
        raise Unauthorized(context["error"])
    owner = context.get("owner")
    if not owner:
        raise Unauthorized("a bearer token is required: Authorization: Bearer <token>")
    # API Gateway caches an authorizer's answer per token; the expiry is
    # checked again here so a cached answer never outlives its token.
    if int(context.get("expires") or 0) <= time.time():
        raise Unauthorized("the token has expired")
    return Caller(owner=owner, admin=context.get("admin") == "true")


def _cognito_caller(context: Mapping[str, Any], admin_group: str) -> Caller:
    claims = context.get("claims") or {}
    owner = claims.get("sub")
    if not owner or not keys.is_owner(owner):
        raise Unauthorized("a Cognito ID token is required: Authorization: <id token>")
    return Caller(owner=owner, admin=admin_group in cognito_groups(claims.get("cognito:groups")))


def cognito_groups(value: Any) -> set[str]:
    """API Gateway hands `cognito:groups` over as a string ("a,b" or "[a b]"), a JWT as a list."""
    if isinstance(value, (list, tuple)):
        return {str(v) for v in value}
    return {g for g in re.split(r"[\s,\[\]]+", value or "") if g}
