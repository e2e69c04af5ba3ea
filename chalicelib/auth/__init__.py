"""Who is calling, for each AUTH_MODE, and what that caller may touch.

    none     no authentication: the owner is the request's `user_id` (local default)
    token    HMAC-signed bearer tokens (`scripts/tokens.py`), checked by Chalice's
             built-in authorizer, `gateway.authorize_token`
    cognito  a Cognito user pool authorizer: owner = the `sub` claim, admin =
             membership of ADMIN_GROUP

One module per reason to change:
    principal  the ownership rules (`Caller`)
    context    the caller of a request, from its authorizer's context
    tokens     token cryptography (issue, verify)
    secrets    loading the token secret
    gateway    Chalice wiring (the only module here that imports Chalice)
"""

from .context import caller, cognito_groups
from .principal import ANONYMOUS, Caller
from .token_secret import reset, token_secret
from .tokens import InvalidToken, issue_token, verify_token

__all__ = [
    "ANONYMOUS",
    "Caller",
    "InvalidToken",
    "caller",
    "cognito_groups",
    "issue_token",
    "reset",
    "token_secret",
    "verify_token",
]
