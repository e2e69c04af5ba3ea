"""Who is calling, for each AUTH_MODE, and what that caller may touch.

    none     no authentication: the owner is the request's `user_id` (local default)
    token    HMAC-signed bearer tokens (`scripts/token.py`), checked by Chalice's
             built-in authorizer, `authorize_token`
    cognito  a Cognito user pool authorizer: owner = the `sub` claim, admin =
             membership of ADMIN_GROUP

With auth on, the owner is always the authenticated principal; a user sees and
changes only their own images, and another user's image is "not found" so its
existence does not leak. Admins see everything.

The route handlers trust only what an authorizer put in the request context.
The token authorizer lets a bad token through *with the reason* instead of
denying it, so that the 401 comes from the app: a JSON `{"error": ...}` with
CORS headers, the same under `chalice local` (which cannot turn an authorizer
failure into a 401) as on API Gateway.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalice.app import AuthRequest, AuthResponse, Request

from . import aws, config, keys
from .config import Settings
from .errors import Forbidden, Invalid, Unauthorized

TOKEN_ALGORITHM = "HS256"
TOKEN_ISSUER = "imgstore"


@dataclass(frozen=True)
class Caller:
    """The principal behind a request; `owner` None means auth is off."""

    owner: str | None = None
    admin: bool = False

    @property
    def authenticated(self) -> bool:
        return self.owner is not None

    def owner_for_upload(self, requested: str | None) -> str:
        """The owner of a new image: the principal, or `user_id` when auth is off."""
        if not self.authenticated:
            if requested is None:
                raise Invalid("user_id is required")
            return requested
        if requested not in (None, self.owner):  # 403, as listing another user's images is
            raise Forbidden(f"you can upload only as yourself: user_id is taken from your credentials ({self.owner})")
        return self.owner

    def owner_to_list(self, requested: str | None) -> str | None:
        """Whose images a list shows: a user's own only, unless an admin (or auth is off)."""
        if not self.authenticated or self.admin:
            return requested
        if requested not in (None, self.owner):
            raise Forbidden(f"you can list only your own images (user_id={self.owner})")
        return self.owner

    def may_see(self, owner: str) -> bool:
        return not self.authenticated or self.admin or owner == self.owner


ANONYMOUS = Caller()


def caller(request: Request, settings: Settings) -> Caller:
    """The caller of `request`. Raises Unauthorized (401) when auth is on and
    the authorizer vouched for nobody."""
    if settings.auth_mode == "none":
        return ANONYMOUS
    context = (request.context or {}).get("authorizer") or {}
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


# -- token mode ----------------------------------------------------------------


class InvalidToken(Exception):
    """The token is missing, malformed, forged or expired; the message says which."""


def issue_token(
    owner: str, secret: str, *, admin: bool = False, ttl_seconds: int = 86400, now: float | None = None
) -> str:
    """A bearer token for `owner`, valid for `ttl_seconds`."""
    import jwt

    if not keys.is_owner(owner):
        raise ValueError("the user name must be 1-128 characters: letters, digits and . _ @ + = -")
    if ttl_seconds <= 0:
        raise ValueError("the lifetime must be positive")
    issued = int(time.time() if now is None else now)
    claims = {"sub": owner, "adm": admin, "iat": issued, "exp": issued + ttl_seconds, "iss": TOKEN_ISSUER}
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def verify_token(header: str | None, secret: str) -> dict[str, Any]:
    """The claims of a valid `Bearer <token>` header value. Raises InvalidToken."""
    import jwt

    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("a bearer token is required: Authorization: Bearer <token>")
    try:
        claims = jwt.decode(
            token.strip(),
            secret,
            algorithms=[TOKEN_ALGORITHM],
            issuer=TOKEN_ISSUER,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("the token is not valid") from None
    if not keys.is_owner(str(claims["sub"])):
        raise InvalidToken("the token is not valid")
    return claims


@functools.lru_cache(maxsize=4)
def _secret_from(arn: str) -> str:
    return aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


def token_secret(env: Mapping[str, str] | None = None) -> str:
    """AUTH_TOKEN_SECRET itself (local stages), or the Secrets Manager secret
    named by AUTH_TOKEN_SECRET_ARN (deployed stages), fetched once per container."""
    env = os.environ if env is None else env
    if env.get("AUTH_TOKEN_SECRET"):
        return env["AUTH_TOKEN_SECRET"]
    if env.get("AUTH_TOKEN_SECRET_ARN"):
        return _secret_from(env["AUTH_TOKEN_SECRET_ARN"])
    raise RuntimeError("AUTH_MODE=token needs AUTH_TOKEN_SECRET or AUTH_TOKEN_SECRET_ARN")


def authorize_token(auth_request: AuthRequest) -> AuthResponse:
    """Chalice's built-in authorizer for AUTH_MODE=token.

    A bad token still gets through, carrying only its `error`, and
    `caller()` answers 401; see the module docstring for why.
    """
    try:
        claims = verify_token(auth_request.token, token_secret())
    except InvalidToken as exc:
        return AuthResponse(routes=["*"], principal_id="anonymous", context={"error": str(exc)})
    context = {
        "owner": claims["sub"],
        "admin": "true" if claims.get("adm") is True else "false",
        "expires": str(int(claims["exp"])),
    }
    return AuthResponse(routes=["*"], principal_id=claims["sub"], context=context)


def route_authorizer(app, token_authorizer) -> Any:
    """The authorizer every data route uses, for the AUTH_MODE being deployed:
    None, `token_authorizer` registered on `app` (it must live in app.py, where
    Lambda looks for its handler), or Cognito's."""
    from chalice import CognitoUserPoolAuthorizer

    mode = config.deployed_auth_mode()
    if mode == "token":
        return app.authorizer(name="token_authorizer")(token_authorizer)
    if mode == "cognito":
        return CognitoUserPoolAuthorizer("imgstore_users", provider_arns=[config.user_pool_arn()])
    return None


def reset() -> None:
    """Forget the cached token secret (tests, or after rotating it)."""
    _secret_from.cache_clear()
