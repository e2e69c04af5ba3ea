"""The app as a given AUTH_MODE deploys it, and a test client for a stage with
changed environment variables.

Which authorizer guards a route is fixed when app.py is loaded (as on
`chalice deploy`), so each mode gets its own copy of the module. The Chalice
test client applies the stage's variables around every call, overriding the
process environment, so changed variables go into a copy of the config.
"""
from __future__ import annotations

import base64
import importlib.util
import json
import shutil
from pathlib import Path

from chalice.test import Client

from chalicelib import auth

ROOT = Path(__file__).resolve().parent.parent
TOKEN_SECRET = "test-token-secret-of-a-decent-length"
USER_POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_TestPool"


def load_app(monkeypatch, mode: str, **env: str):
    """A fresh copy of app.py loaded with AUTH_MODE=`mode` (and `env`) set."""
    monkeypatch.setenv("AUTH_MODE", mode)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(f"app_{mode}", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def client(app, project: Path, stage: str = "dev", **env: str) -> Client:
    """A test client whose stage has `env` on top of .chalice/config.json."""
    (project / ".chalice").mkdir(parents=True, exist_ok=True)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"][stage]["environment_variables"].update(env)
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    for policy in (ROOT / ".chalice").glob("policy-*.json"):
        shutil.copy(policy, project / ".chalice" / policy.name)
    return Client(app, stage_name=stage, project_dir=str(project))


def bearer(owner: str, *, admin: bool = False, ttl: int = 3600, secret: str = TOKEN_SECRET,
           now: float | None = None) -> dict[str, str]:
    return {"Authorization": "Bearer " + auth.issue_token(owner, secret, admin=admin, ttl_seconds=ttl, now=now)}


def _b64(value: dict | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def cognito_token(sub: str, groups: list[str] | None = None) -> dict[str, str]:
    """An ID token as Cognito issues it. `chalice local` decodes it without
    checking the signature (API Gateway checks it on AWS)."""
    claims = {"sub": sub, "cognito:username": f"user-{sub[:8]}", "token_use": "id"}
    if groups:
        claims["cognito:groups"] = groups
    return {"Authorization": f"{_b64({'alg': 'RS256', 'kid': 'test'})}.{_b64(claims)}.{_b64(b'sig')}"}


def json_upload(image: bytes, **fields) -> dict:
    body = {"image_data": base64.b64encode(image).decode(), "filename": "photo.jpg", **fields}
    return {"headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def with_headers(request: dict, headers: dict[str, str]) -> dict:
    return {**request, "headers": {**request.get("headers", {}), **headers}}
