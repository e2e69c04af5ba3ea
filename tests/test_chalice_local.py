"""AUTH_MODE=token under the local stack's API (devstack/api.py: `chalice
local` with a deployed stage's gateway answers) over HTTP: the built-in
authorizer runs there too, which makes token mode the one the local stack
can demonstrate."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.apps import bearer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "local-token-secret-" + "q" * 24


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def local_api(tmp_path_factory):
    port = _free_port()
    log = (tmp_path_factory.mktemp("chalice-local") / "server.log").open("w+")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "AWS_ENDPOINT"))}
    env.update(AUTH_MODE="token", AUTH_TOKEN_SECRET=SECRET, AWS_DEFAULT_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    server = subprocess.Popen([sys.executable, "-m", "devstack.api",
                               "--host", "127.0.0.1", "--port", str(port), "--stage", "dev"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"chalice local never answered on {url}:\n{log.read()}")
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def call(url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
            return response.status, dict(response.headers), json.loads(body) if body else {}
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, dict(error.headers), json.loads(body) if body else {}


def raw_call(url: str, request: bytes) -> tuple[int, bytes]:
    """Bytes as sent, not as a client library would clean them; the status and the whole answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 4 + _length(answer):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer, "the connection closed with no answer"
    return int(answer.split(b" ", 2)[1]), answer


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


# As a deployed stage answers after scripts/deploy.py gateway: {"error": ...}, CORS headers, nothing echoed.

def test_no_token_is_401_json_with_cors_headers(local_api):
    status, headers, body = call(f"{local_api}/images", headers={"Origin": "https://x.example"})
    assert status == 401 and body == {"error": "Unauthorized"}
    assert headers["Access-Control-Allow-Origin"] == "*"


def test_an_unknown_path_is_403_json_and_echoes_nothing(local_api):
    secret = "Bearer do-not-echo-this-" + "s" * 20
    status, answer = raw_call(local_api, (
        f"GET /nothing/here HTTP/1.1\r\nHost: x\r\nAuthorization: {secret}\r\nOrigin: https://x.example\r\n"
        "Connection: close\r\n\r\n").encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert status == 403 and json.loads(body) == {"error": "Missing Authentication Token"}
    assert b"do-not-echo-this" not in answer
    assert b"access-control-allow-origin: *" in head.lower()


@pytest.mark.parametrize("path, expected", [("/images", 401), (f"/images/{'a' * 32}", 401), ("/nothing", 403)])
def test_a_non_ascii_authorization_byte_gets_an_answer(local_api, path, expected):
    status, answer = raw_call(local_api, (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
        + b"Authorization: Bearer caf\xc3\xa9\xff\r\n\r\n"))
    assert status == expected, answer
    assert "error" in json.loads(answer.partition(b"\r\n\r\n")[2])


def test_a_method_no_route_serves_is_a_json_405_with_allow(local_api):
    status, headers, body = call(f"{local_api}/health", "TRACE")
    assert status == 405 and headers["Allow"] == "GET, OPTIONS" and "error" in body


def test_forged_and_expired_tokens_are_401_with_the_reason(local_api):
    forged = bearer("alice", secret="not-the-secret-" + "z" * 24)
    status, headers, body = call(f"{local_api}/images/{'a' * 32}", headers={**forged, "Origin": "https://x.example"})
    assert status == 401 and body == {"error": "the token is not valid"}
    assert headers["Access-Control-Allow-Origin"] == "*"
    expired = bearer("alice", secret=SECRET, ttl=5, now=time.time() - 10)
    assert call(f"{local_api}/images", headers=expired)[2] == {"error": "the token has expired"}


def test_a_valid_token_reaches_the_app(local_api):
    status, _, body = call(f"{local_api}/images/not-an-id", headers=bearer("alice", secret=SECRET))
    assert status == 404 and body == {"error": "no image with id 'not-an-id'"}


def test_preflights_need_no_token(local_api):
    status, headers, _ = call(f"{local_api}/images", "OPTIONS",
                              {"Origin": "https://x.example", "Access-Control-Request-Method": "DELETE"})
    assert status == 403  # DELETE is not served on /images
    status, headers, _ = call(f"{local_api}/images/{'a' * 32}", "OPTIONS",
                              {"Origin": "https://x.example", "Access-Control-Request-Method": "DELETE"})
    assert status == 204 and "DELETE" in headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("origins, origin, expected", [
    ("https://a.example", "https://evil.example", "https://a.example"),  # one origin: always that one
    ("https://a.example,https://b.example", "https://b.example", "https://b.example"),  # several: echoed
    ("*", "https://x.example", "*"),
])
def test_local_gateway_errors_carry_the_deployed_gateways_cors_headers(monkeypatch, origins, origin, expected):
    from devstack.api import gateway_error

    monkeypatch.setenv("IMAGES_BUCKET", "b")
    monkeypatch.setenv("IMAGES_TABLE", "t")
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", origins)
    answer = gateway_error(401, "Unauthorized", {"Origin": origin, "Authorization": "Bearer secret-token"})
    assert answer["statusCode"] == 401 and json.loads(answer["body"]) == {"error": "Unauthorized"}
    assert answer["headers"]["Access-Control-Allow-Origin"] == expected
    assert answer["headers"]["Vary"] == "Origin" and "secret-token" not in json.dumps(answer)
