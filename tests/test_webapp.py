"""The web app's routes through the Chalice test client: the page, its files,
the stage's client config, and the headers that keep the page locked down."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import config
from chalicelib.domain import formats, keys, records
from chalicelib.edge import webapp

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "chalicelib" / "edge" / "web"


def directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in csp.split(";")) if d}


def test_the_page_is_served_at_the_root_with_a_strict_policy(client):
    reply = client.http.get("/")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    html = reply.body.decode()
    assert '<base href="/">' in html and "{{BASE}}" not in html
    csp = directives(reply.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"] and csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:", "https://imgstore-dev-images.s3.amazonaws.com"]
    assert csp["connect-src"] == ["'self'", "https://imgstore-dev-images.s3.amazonaws.com"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["X-Frame-Options"] == "DENY" and reply.headers["Referrer-Policy"] == "no-referrer"


def test_the_page_has_no_inline_script_or_style_and_no_other_hosts():
    html = (WEB / "index.html").read_text()
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="app/app.js">']
    assert "<style" not in html and " style=" not in html and "javascript:" not in html
    assert not re.search(r" on[a-z]+=", html)  # no inline event handlers
    for path in WEB.iterdir():
        # Nothing from another host (the SVG namespace and a link in a comment are names, not loads).
        assert not re.search(r"https?://(?!blurha\.sh|www\.w3\.org/2000/svg)", path.read_text()), path


def test_every_file_in_the_folder_is_served_and_nothing_else(client):
    served = set(webapp.ASSETS) | {"index.html"}
    assert {p.name for p in WEB.iterdir()} == served
    for name, content_type in webapp.ASSETS.items():
        reply = client.http.get(f"/app/{name}")
        assert reply.status_code == 200, name
        assert reply.headers["Content-Type"] == content_type
        assert reply.body == (WEB / name).read_bytes()
        assert reply.headers["Cache-Control"] == "no-cache" and reply.headers["X-Content-Type-Options"] == "nosniff"
    for name in ("index.html", "..%2Fapp.py", "webapp.py", "APP.JS", "nope.js"):
        reply = client.http.get(f"/app/{name}")
        assert reply.status_code == 404 and "no file" in reply.json_body["error"], name


def test_an_unchanged_file_is_a_304(client):
    first = client.http.get("/app/app.js")
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    again = client.http.get("/app/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.body == b"" and again.headers["ETag"] == etag
    assert client.http.get("/app/app.js", headers={"If-None-Match": '"other"'}).status_code == 200
    page = client.http.get("/")
    assert client.http.get("/", headers={"If-None-Match": page.headers["ETag"]}).status_code == 304


def test_the_page_knows_the_stage_prefix(aws):
    """Behind API Gateway the app lives under /api/: its <base> says so."""
    from chalice.app import Request

    from chalicelib.edge import http

    event = {
        "headers": {},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "body": None,
        "requestContext": {"path": "/api/", "resourcePath": "/", "httpMethod": "GET"},
        "stageVariables": None,
        "isBase64Encoded": False,
    }
    request = Request(event)
    request.path = "/"
    reply = webapp.index(None, http.url_for(request, "/"), config.load())
    assert '<base href="/api/">' in reply.body


def test_client_config_tells_the_page_the_stage(client, monkeypatch):
    body = client.http.get("/client-config").json_body
    assert body["auth_mode"] == "none" and body["admin_group"] is None
    assert body["upload"]["flow"] == "presigned-post" and body["upload"]["max_bytes"] == 25 * 1024 * 1024
    assert body["upload"]["content_types"] == list(formats.UPLOAD_CONTENT_TYPES)
    assert (
        body["upload"]["extensions"][".jpg"] == "image/jpeg" and body["upload"]["extensions"][".heic"] == "image/heic"
    )
    assert body["variants"] == ["thumb", "medium", "large"] and body["url_window_seconds"] == 900
    assert body["user_name"]["pattern"] == keys.OWNER_PATTERN and body["tags"]["max_count"] == records.MAX_TAGS
    assert body["search"] == {"max_chars": config.SEARCH_MAX_QUERY_CHARS, "max_words": config.SEARCH_MAX_WORDS}
    by_name = {f["name"]: f for f in body["upload"]["formats"]}
    assert list(by_name) == ["JPEG", "PNG", "GIF", "WebP", "BMP", "TIFF", "HEIC", "AVIF"]
    assert by_name["JPEG"] == {
        "name": "JPEG",
        "content_types": ["image/jpeg", "image/jpg"],
        "extensions": [".jpg", ".jpeg"],
    }
    # Every type and extension the upload takes belongs to exactly one named format.
    assert sorted(m for f in by_name.values() for m in f["content_types"]) == sorted(body["upload"]["content_types"])
    assert sorted(e for f in by_name.values() for e in f["extensions"]) == sorted(body["upload"]["extensions"])
    monkeypatch.setenv("URL_WINDOW", "60")
    assert client.http.get("/client-config").json_body["url_window_seconds"] == 60  # read per request


def test_the_page_needs_no_sign_in_under_token_mode(client, monkeypatch):
    """The page and its config are public; the data routes are not (the authorizer
    is wired when app.py loads, so only the caller check is exercised here)."""
    monkeypatch.setenv("AUTH_MODE", "token")
    assert client.http.get("/").status_code == 200
    assert client.http.get("/client-config").json_body["auth_mode"] == "token"
    assert client.http.get("/images").status_code == 401


RULES_JS = r"""
import { normalizeTag, ownerProblem, contentType } from "./chalicelib/edge/web/rules.js";
const [config, cases] = [JSON.parse(process.argv[2]), JSON.parse(process.argv[3])];
console.log(JSON.stringify({
  tags: cases.tags.map((t) => normalizeTag(config, t)),
  owners: cases.owners.map((o) => ownerProblem(config, o) === null),
  types: cases.files.map((f) => contentType(config, f)),
}));
"""


def test_the_pages_rules_come_from_client_config_and_agree_with_the_api(client, tmp_path):
    """rules.js applies /client-config's rules; run in node, it folds tags, judges
    user names and picks content types exactly as the API does."""
    config_body = client.http.get("/client-config").json_body
    tags = ["Sunset", "#Beach ", " #  Ünïcode", "Cafe\u0301", "ÉTÉ", "Straße", "\u3000#İstanbul"]
    owners = ["alice", "a.b@c+d=e-f", "-alice", "", "a" * 128, "a" * 129, "al ice", "alice\n", "ålice"]
    files = [
        {"name": "a.JPG", "type": ""},
        {"name": "b.heif", "type": ""},
        {"name": "c.png", "type": "image/png"},
        {"name": "d.svg", "type": "image/svg+xml"},
        {"name": "e", "type": ""},
    ]
    script = tmp_path / "rules.mjs"
    script.write_text(RULES_JS.replace("./chalicelib", (ROOT / "chalicelib").as_uri()))
    cases = json.dumps({"tags": tags, "owners": owners, "files": files})
    result = subprocess.run(
        ["node", str(script), json.dumps(config_body), cases], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    ours = json.loads(result.stdout)
    assert ours["tags"] == [records.normalize_tags([t])[0] for t in tags]
    assert ours["owners"] == [keys.is_owner(o) for o in owners]
    assert ours["owners"] == [True, True, False, False, True, False, False, False, False]
    assert ours["types"] == ["image/jpeg", "image/heif", "image/png", "image/svg+xml", "application/octet-stream"]


WEBHOOK_EVENTS_JS = r"""
// session.js names the stores it keeps a sign-in in; node has neither.
globalThis.localStorage = globalThis.sessionStorage = {};
const { EVENTS } = await import("./chalicelib/edge/web/webhooks.js");
console.log(JSON.stringify(EVENTS.map((e) => e.type)));
"""


def test_the_webhooks_panel_offers_the_event_types_a_webhook_may_hear(tmp_path):
    """The panel's one list of event types (webhooks.js) is the API's, which it checks `events` against."""
    from chalicelib.events.vocabulary import IMAGE_TYPES

    script = tmp_path / "events.mjs"
    script.write_text(WEBHOOK_EVENTS_JS.replace("./chalicelib", (ROOT / "chalicelib").as_uri()))
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == list(IMAGE_TYPES)


BLURHASH_JS = r"""
import { decode, components } from "./chalicelib/edge/web/blurhash.js";
const [hash, width, height] = process.argv.slice(2);
const pixels = Array.from(decode(hash, +width, +height));
console.log(JSON.stringify({ pixels, parts: components(hash).colours.length }));
"""


@pytest.mark.parametrize("hash_", ["LEHV6nWB2yk8pyo0adR*.7kCMdnj", "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH"])
def test_the_pages_blurhash_decoder_agrees_with_the_python_one(hash_, tmp_path):
    import blurhash

    script = tmp_path / "decode.mjs"
    script.write_text(BLURHASH_JS.replace("./chalicelib", (ROOT / "chalicelib").as_uri()))
    result = subprocess.run(["node", str(script), hash_, "12", "8"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    ours = json.loads(result.stdout)
    theirs = blurhash.decode(hash_, 12, 8)  # rows of [r, g, b]
    expected = [c for row in theirs for px in row for c in (*px, 255)]
    assert len(ours["pixels"]) == len(expected) == 12 * 8 * 4
    assert max(abs(a - b) for a, b in zip(ours["pixels"], expected, strict=True)) <= 1


def test_a_malformed_blurhash_is_refused_not_drawn(tmp_path):
    script = tmp_path / "bad.mjs"
    script.write_text(
        f'import {{ components }} from "{(WEB / "blurhash.js").as_uri()}";\n'
        'for (const h of ["", "L", "LEHV6nWB2yk8", "LEHV6nWB2yk8pyo0adR*.7kCMdn!"]) {\n'
        '  try { components(h); console.log("accepted " + h); } catch { console.log("refused"); }\n}\n'
    )
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["refused"] * 4, result.stdout + result.stderr


def test_serving_the_page_loads_no_pillow_and_the_api_never_loads_the_web_module():
    code = r"""
import json, os, sys
os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
from moto import mock_aws
from chalice.test import Client
from scripts.bootstrap import bootstrap, stage_environment
import app
with mock_aws():
    bootstrap(stage_environment("dev"))
    with Client(app.app, stage_name="dev", project_dir=".") as c:
        assert c.http.get("/images?user_id=u").status_code == 200
        assert c.http.get("/health").status_code == 200
        before = "chalicelib.edge.webapp" in sys.modules
        for path in ["/", "/app/app.js", "/app/app.css", "/client-config"]:
            assert c.http.get(path).status_code == 200, path
print(json.dumps([before, sorted(m for m in sys.modules if m.split(".")[0] in ("PIL", "pillow_heif", "blurhash"))]))
"""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGES_")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [False, []]


def test_the_weights_in_the_docs_are_the_files_sizes():
    text = " ".join((ROOT / "docs" / "web-app.md").read_text().split())
    size = {p.name: p.stat().st_size for p in WEB.iterdir()}
    modules = sorted(name for name in size if name.endswith(".js"))
    assert len(modules) > 3  # app.js is wiring, the work is in its modules
    assert f"JavaScript {sum(size[name] for name in modules):,} bytes" in text
    for name in modules:
        assert f"`{name}` {size[name]:,}" in text, name
    assert f"CSS {size['app.css']:,} bytes" in text and f"HTML {size['index.html']:,} bytes" in text


def test_the_web_routes_take_no_query_but_the_pages_own_page_size(client):
    assert client.http.get("/?page_size=5").status_code == 200
    for path in (
        "/?page_size=0",
        "/?page_size=101",
        "/?page_size=abc",
        "/?page_size=",
        "/?x=1",
        "/app/app.js?v=1",
        "/client-config?x=1",
    ):
        reply = client.http.get(path)
        assert reply.status_code == 400 and reply.json_body["error"], path


def test_the_delivery_domain_may_serve_images_and_be_fetched(client):
    """The embed builder fetches a rendition to show its bytes and format: the CDN's origin
    is in connect-src as well as img-src, and nothing else is added."""
    import dataclasses

    settings = dataclasses.replace(config.load(), delivery_base_url="https://d111.cloudfront.net")
    csp = directives(webapp.content_security_policy(settings))
    assert csp["img-src"][-1] == csp["connect-src"][-1] == "https://d111.cloudfront.net"
    assert csp["connect-src"][:-1] == directives(webapp.content_security_policy(config.load()))["connect-src"]
