"""CORS: several allowed origins for the API's preflights and responses (errors
included), and the bucket's rules for browser uploads to presigned URLs."""
from __future__ import annotations

import json

import pytest

from chalicelib.edge import cors
from scripts.bootstrap import ensure_bucket
from tests.apps import bearer, client, json_upload, load_app, with_headers

ALLOWED = ("https://app.example", "https://admin.example:8443")
OTHER = "https://evil.example"


@pytest.fixture
def api(aws, monkeypatch, tmp_path):
    app = load_app(monkeypatch, "none")
    with client(app, tmp_path, CORS_ALLOW_ORIGINS=" https://app.example, https://admin.example:8443/ ") as c:
        yield c


def preflight(api, path: str, origin: str | None, method: str = "POST"):
    headers = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization,content-type"}
    if origin:
        headers["Origin"] = origin
    return api.http.options(path, headers=headers)


@pytest.mark.parametrize("origin", ALLOWED)
def test_preflights_from_allowed_origins_succeed(api, origin):
    response = preflight(api, "/images", origin)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,OPTIONS"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"].split(",")
    assert response.headers["Vary"] == "Origin"


@pytest.mark.parametrize("origin", [OTHER, None, "https://app.example.evil.example", "http://app.example"])
def test_preflights_from_other_origins_fail(api, origin):
    response = preflight(api, "/images/0123/file", origin, "GET")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "is not allowed" in response.json_body["error"]


def test_a_preflight_for_a_method_the_path_lacks_fails(api):
    response = preflight(api, "/uploads", ALLOWED[0], "DELETE")
    assert response.status_code == 403
    assert response.json_body == {"error": "method DELETE is not allowed here; allowed: POST"}


def test_every_path_answers_preflights_including_routes_added_later(monkeypatch):
    app = load_app(monkeypatch, "token")
    for path, methods in app.routes.items():
        assert "OPTIONS" in methods, f"{path} has no preflight: keep the OPTIONS loop last in app.py"
        assert methods["OPTIONS"].authorizer is None


def test_responses_and_errors_carry_the_cors_headers(api, jpeg):
    ok = api.http.post("/images", **with_headers(json_upload(jpeg, user_id="alice"), {"Origin": ALLOWED[1]}))
    assert ok.status_code == 201
    assert ok.headers["Access-Control-Allow-Origin"] == ALLOWED[1]
    assert ok.headers["Access-Control-Expose-Headers"] == "Location,Retry-After"
    for status, response in (
            (404, api.http.get("/images/" + "0" * 32, headers={"Origin": ALLOWED[0]})),
            (400, api.http.get("/images?limit=0", headers={"Origin": ALLOWED[0]})),
            (415, api.http.post("/images", headers={"Origin": ALLOWED[0], "Content-Type": "text/plain"}, body="x"))):
        assert response.status_code == status
        assert "error" in json.loads(response.body)
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED[0]
        assert response.headers["Vary"] == "Origin"
    foreign = api.http.get("/images", headers={"Origin": OTHER})
    assert foreign.status_code == 200 and "Access-Control-Allow-Origin" not in foreign.headers


def test_any_origin_when_configured_with_a_star(aws, monkeypatch, tmp_path):
    app = load_app(monkeypatch, "token")
    with client(app, tmp_path, CORS_ALLOW_ORIGINS="*", AUTH_TOKEN_SECRET="s" * 40) as api:
        assert preflight(api, "/images", OTHER).headers["Access-Control-Allow-Origin"] == "*"
        refused = api.http.get("/images", headers={"Origin": OTHER, **bearer("alice", secret="x" * 40)})
        assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == "*"


def test_allowed_origin_matches_exact_origins_only():
    assert cors.allowed_origin("https://app.example", ALLOWED) == "https://app.example"
    assert cors.allowed_origin("https://app.example/", ALLOWED) == "https://app.example/"
    assert cors.allowed_origin("https://APP.example.evil", ALLOWED) is None
    assert cors.allowed_origin(None, ("*",)) is None
    assert cors.allowed_origin("null", ALLOWED) is None


def test_the_bucket_lets_allowed_origins_post_to_presigned_urls(aws, monkeypatch, s3):
    import requests

    monkeypatch.setenv("MOTO_DISABLE_GLOBAL_CORS", "true")
    ensure_bucket(s3, "imgstore-cors-check", list(ALLOWED))
    post = s3.generate_presigned_post("imgstore-cors-check", "uploads/alice/x/a.jpg")
    for origin, allowed in [(ALLOWED[0], True), (ALLOWED[1], True), (OTHER, False)]:
        for method in ("POST", "PUT"):
            answer = requests.options(post["url"], headers={"Origin": origin, "Access-Control-Request-Method": method})
            assert (answer.status_code == 200) is allowed, (origin, method)
            assert (answer.headers.get("Access-Control-Allow-Origin") == origin) is allowed
