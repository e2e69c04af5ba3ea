"""Bearer tokens for AUTH_MODE=token: HS256 JWTs that name an owner."""

from __future__ import annotations

import time
from typing import Any

from ..domain import keys

TOKEN_ALGORITHM = "HS256"
TOKEN_ISSUER = "imgstore"


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
