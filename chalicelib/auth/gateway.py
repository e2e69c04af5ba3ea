"""Chalice wiring for auth: the token authorizer and the authorizer each data
route uses. The only part of auth that imports Chalice."""

from __future__ import annotations

from typing import Any

from chalice.app import AuthRequest, AuthResponse

from .. import deployment
from .token_secret import token_secret
from .tokens import InvalidToken, verify_token


def authorize_token(auth_request: AuthRequest) -> AuthResponse:
    """Chalice's built-in authorizer for AUTH_MODE=token.

    A bad token still gets through, carrying only its `error`, and
    `context.caller()` answers 401; `auth.context` says why.
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

    mode = deployment.auth_mode()
    if mode == "token":
        return app.authorizer(name="token_authorizer")(token_authorizer)
    if mode == "cognito":
        return CognitoUserPoolAuthorizer("imgstore_users", provider_arns=[deployment.user_pool_arn()])
    return None
