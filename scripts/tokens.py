"""Issue and inspect bearer tokens for AUTH_MODE=token.

    python scripts/tokens.py create alice [--admin] [--ttl 7d] [--stage dev]
    python scripts/tokens.py verify <token> [--stage dev]

The signing secret is AUTH_TOKEN_SECRET from your environment, else the
stage's AUTH_TOKEN_SECRET, else the Secrets Manager secret named by the
stage's AUTH_TOKEN_SECRET_ARN (read with your AWS credentials; `make deploy`
creates it). Tokens are HS256 JWTs: sub (the owner), adm, iat, exp, iss.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the project's packages become importable

from chalicelib import auth  # noqa: E402
from scripts.bootstrap import stage_environment  # noqa: E402

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def ttl_seconds(text: str) -> int:
    """`90`, `45m`, `12h`, `7d` or `2w` in seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", text or "")
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"not a lifetime: {text!r} (try 3600, 45m, 12h, 7d or 2w)")
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def secret_for(stage: str) -> str:
    stage_env = stage_environment(stage)
    return auth.token_secret({**stage_env, **{k: v for k, v in os.environ.items() if k == "AUTH_TOKEN_SECRET"}})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="print a new token")
    create.add_argument("user", help="the owner the token speaks for (1-128 of A-Z a-z 0-9 . _ @ + = -)")
    create.add_argument("--admin", action="store_true", help="may see and change every image")
    create.add_argument("--ttl", type=ttl_seconds, default=ttl_seconds("1d"), help="lifetime, e.g. 12h or 7d (1d)")
    verify = commands.add_parser("verify", help="check a token and print its claims")
    verify.add_argument("token")
    for command in (create, verify):
        command.add_argument("--stage", default="dev")
    args = parser.parse_args(argv)
    try:
        secret = secret_for(args.stage)
        if args.command == "create":
            print(auth.issue_token(args.user, secret, admin=args.admin, ttl_seconds=args.ttl))
        else:
            print(json.dumps(auth.verify_token(f"Bearer {args.token}", secret), indent=2))
    except (ValueError, RuntimeError, auth.InvalidToken) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
