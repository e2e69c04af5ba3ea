"""What `make run` does for the web app: prints its URL first, lets its origin
upload to the bucket, and can run the API in token mode."""

from __future__ import annotations

from chalicelib import auth
from devstack import guide
from devstack.runner import app_origins, parse_args

BANNER = dict(
    stage="local",
    api_url="http://127.0.0.1:8000",
    aws_url="http://127.0.0.1:5000",
    bucket="b",
    table="t",
    queue="q",
    region="us-east-1",
    data_note="kept",
)


def test_the_banner_opens_with_the_web_apps_address():
    lines = [line for line in guide.banner(**BANNER).splitlines() if line.strip()]
    assert lines[0] == "Open the web app: http://127.0.0.1:8000/"
    assert "Bearer" not in guide.banner(**BANNER)


def test_in_token_mode_the_banner_gives_a_token_the_api_accepts():
    text = guide.banner(**BANNER, token_secret="s" * 43)
    token = text.split("alice's, valid 7 days:\n", 1)[1].split()[0]
    claims = auth.verify_token(f"Bearer {token}", "s" * 43)
    assert claims["sub"] == "alice" and claims["exp"] - claims["iat"] == 7 * 86400


def test_the_apps_origins_join_the_buckets_cors():
    assert app_origins("127.0.0.1", 8000) == ["http://127.0.0.1:8000", "http://localhost:8000"]
    assert app_origins("0.0.0.0", 8001) == ["http://127.0.0.1:8001", "http://localhost:8001"]
    assert app_origins("192.168.1.5", 80) == ["http://192.168.1.5:80"]
    assert app_origins("::1", 8000) == ["http://[::1]:8000", "http://localhost:8000"]


def test_auth_mode_is_an_option():
    assert parse_args([]).auth_mode == "none"
    assert parse_args(["--auth-mode", "token"]).auth_mode == "token"
