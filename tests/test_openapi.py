"""The contract, chalicelib/edge/openapi.json: valid OpenAPI 3.1, the same routes
and methods as the app, the same rules as the code, and served at GET /openapi.json."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from chalicelib import config
from chalicelib.domain import formats, keys, records
from chalicelib.domain.errors import Invalid
from chalicelib.edge import openapi
from chalicelib.usecases import pagination
from tests.apps import client, load_app

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"})


def route_methods(app) -> set[tuple[str, str]]:
    return {(path, method.lower()) for path, methods in app.routes.items() for method in methods if method != "OPTIONS"}


def documented(doc) -> set[tuple[str, str]]:
    return {(path, method) for path, method, _ in openapi.operations(doc)}


def test_the_document_and_the_app_have_the_same_routes_and_methods():
    from app import app

    assert documented(openapi.raw()) == route_methods(app)


@pytest.mark.parametrize("mode", ["none", "token", "cognito"])
def test_the_document_is_valid_openapi_as_written_and_as_served(mode):
    validate(openapi.raw())
    validate(openapi.document(config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t", "AUTH_MODE": mode})))


def test_every_operation_has_an_id_a_success_and_the_error_shape():
    doc = openapi.raw()
    ids = [op["operationId"] for _, _, op in openapi.operations(doc)]
    assert len(ids) == len(set(ids))
    for path, method, operation in openapi.operations(doc):
        codes = set(operation["responses"])
        assert any(c < "400" for c in codes), (path, method)
        assert {"400", "500"} <= codes, (path, method)  # unknown query parameters; bugs
        for code in codes - {c for c in codes if c < "400"}:
            name = operation["responses"][code]["$ref"].rsplit("/", 1)[-1]
            schema = doc["components"]["responses"][name]["content"]["application/json"]["schema"]["$ref"]
            assert schema.endswith("/Error" if code != "500" else "/InternalError"), (path, method, code)


def test_the_document_states_the_rules_the_code_applies():
    doc = openapi.raw()
    schemas = doc["components"]["schemas"]
    upload, presign, patch = schemas["UploadJson"], schemas["UploadRequest"], schemas["ImageUpdate"]
    for body in (upload, presign, patch):
        assert body["additionalProperties"] is False
        assert body["properties"]["title"]["maxLength"] == records.MAX_TITLE_LENGTH
        assert body["properties"]["description"]["maxLength"] == records.MAX_DESCRIPTION_LENGTH
        assert body["properties"]["tags"]["maxItems"] == records.MAX_TAGS
        assert body["properties"]["tags"]["items"]["pattern"] == records.TAG_PATTERN
    assert upload["properties"]["user_id"]["pattern"] == presign["properties"]["user_id"]["pattern"] == keys.OWNER_PATTERN
    assert presign["properties"]["content_type"]["enum"] == list(formats.UPLOAD_CONTENT_TYPES)
    assert "maximum" not in presign["properties"]["size_bytes"]  # over the limit is a 413, not a schema violation
    assert set(doc["paths"]["/images"]["post"]["requestBody"]["content"]) == {"application/json", *formats.UPLOAD_CONTENT_TYPES}
    assert schemas["Image"]["properties"]["status"]["enum"] == list(records.STATUSES)
    listing = {p["name"]: p["schema"] for p in doc["paths"]["/images"]["get"]["parameters"]}
    from chalicelib.edge.validation import LIST_PARAMS, RAW_PARAMS

    assert tuple(listing) == LIST_PARAMS and listing["tag"]["pattern"] == records.TAG_PATTERN
    assert listing["q"]["maxLength"] == config.SEARCH_MAX_QUERY_CHARS and listing["q"]["minLength"] == 1
    q = next(p for p in doc["paths"]["/images"]["get"]["parameters"] if p["name"] == "q")
    assert f"at most {config.SEARCH_MAX_WORDS} distinct words" in q["description"]
    raw = [p["name"] for p in doc["paths"]["/images"]["post"]["parameters"]]
    assert tuple(raw) == RAW_PARAMS
    image_id = doc["paths"]["/images/{image_id}"]["parameters"][0]["schema"]["pattern"]
    assert image_id == keys.IMAGE_ID_PATTERN
    variants = next(p for p in doc["paths"]["/images/{image_id}/file"]["get"]["parameters"] if p["name"] == "variant")
    assert variants["schema"]["enum"] == ["original", *SETTINGS.preset_names]


def test_the_tag_pattern_excludes_exactly_unicodes_format_characters():
    import unicodedata

    excluded = re.compile(f"[{keys.FORMAT_CHARACTERS}]")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert bool(excluded.match(char)) == (unicodedata.category(char) == "Cf"), hex(code)


@pytest.mark.parametrize("tag", ["a", "#a", "  a b  ", "x" * 64, "é", "#  x", "🙂"])
def test_tags_the_pattern_admits_are_accepted(tag):
    assert re.search(records.TAG_PATTERN, tag) and records.normalize_tags([tag])


def test_the_document_is_read_only_when_asked_for():
    probe = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: event == 'open' and str(args[0]).endswith('openapi.json') and opened.append(1))\n"
        "import app\n"
        "assert not opened, 'openapi.json was read at import'\n"
        "from chalicelib import config\nfrom chalicelib.edge import openapi\n"
        "openapi.document(config.load({'IMAGES_BUCKET': 'b', 'IMAGES_TABLE': 't'}))\n"
        "assert opened\n"
    )
    subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True, env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": ""})


def test_get_openapi_json_serves_the_deployments_contract(aws, monkeypatch, tmp_path):
    app = load_app(monkeypatch, "none")
    with client(app, tmp_path) as c:
        reply = c.http.get("/openapi.json")
        assert reply.status_code == 200
        assert reply.json_body == openapi.document(config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"}))
        assert c.http.get("/openapi.json?x=1").status_code == 400


def test_no_auth_the_document_requires_user_id_and_has_no_401(monkeypatch):
    doc = openapi.document(config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"}))
    assert "user_id" in doc["components"]["schemas"]["UploadJson"]["required"]
    assert "user_id" in doc["components"]["schemas"]["UploadRequest"]["required"]
    assert "user_id" in doc["components"]["schemas"]["WebhookCreate"]["required"]
    assert doc["components"]["schemas"]["WebhookCreate"]["properties"]["all_images"]["enum"] == [False]
    raw_user = next(p for p in doc["paths"]["/images"]["post"]["parameters"] if p["name"] == "user_id")
    assert raw_user["required"] is True
    for path, _, operation in openapi.operations(doc):
        assert operation["security"] == [{}] and "401" not in operation["responses"]
        # A 403 only for a rendition URL whose signature does not verify (it is the credential).
        assert ("403" in operation["responses"]) == path.startswith("/r/"), path


def test_token_mode_the_document_requires_a_bearer_token(aws, monkeypatch, tmp_path):
    app = load_app(monkeypatch, "token")
    with client(app, tmp_path, AUTH_MODE="token", AUTH_TOKEN_SECRET="s" * 40,
                VARIANT_PRESETS=json.dumps([{"name": "tiny", "box": 64}]), MAX_UPLOAD_BYTES="1000") as c:
        doc = c.http.get("/openapi.json").json_body  # public, like /health
    assert list(doc["components"]["securitySchemes"]) == ["bearerToken"]
    for path, _, operation in openapi.operations(doc):
        public = ("/health", "/openapi.json", "/", "/app/{name}", "/client-config",
                  "/r/{image_id}/{version}/{rendition}/{signature}")  # a rendition's signature is its credential
        if path not in public:
            assert operation["security"] == [{"bearerToken": []}] and "401" in operation["responses"]
        else:
            assert operation["security"] == [{}] and "401" not in operation["responses"]
    assert "user_id" not in doc["components"]["schemas"]["UploadJson"]["required"]
    variant = next(p for p in doc["paths"]["/images/{image_id}/file"]["get"]["parameters"] if p["name"] == "variant")
    assert variant["schema"]["enum"] == ["original", "tiny"]
    size = doc["components"]["schemas"]["UploadRequest"]["properties"]["size_bytes"]
    assert "maximum" not in size and "limit, 1,000 bytes, it is a 413" in size["description"]


def test_the_served_document_says_the_size_limit_in_words_and_sets_no_maximum():
    doc = openapi.document(SETTINGS)
    size = doc["components"]["schemas"]["UploadRequest"]["properties"]["size_bytes"]
    assert "maximum" not in size and size["minimum"] == 1
    assert "limit, 25 MB (26,214,400 bytes), it is a 413" in size["description"]
    assert SETTINGS.max_upload_bytes == 25 * 2**20


def test_next_token_has_the_shape_of_every_issued_token_and_its_400_is_described():
    import secrets

    doc = openapi.raw()
    listing = doc["paths"]["/images"]["get"]
    token = next(p for p in listing["parameters"] if p["name"] == "next_token")
    assert token["schema"] == {"type": "string", "pattern": pagination.TOKEN_PATTERN}
    for size in (1, 2, 3, 40, 41, 42, 500):
        cursor = secrets.token_hex(size)[:size]
        issued = pagination.encode(cursor, pagination.scope("alice", None, None), secrets.token_hex(8))
        assert re.search(pagination.TOKEN_PATTERN, issued), issued
    for shaped_but_never_issued in ("." + "b" * 43, "ab." + "b" * 43, "abcde_-." + "A" * 43):
        assert re.search(pagination.TOKEN_PATTERN, shaped_but_never_issued)
        with pytest.raises(Invalid, match="not valid for this list"):
            pagination.decode(shaped_but_never_issued, pagination.scope(None, None, None), "secret")
    for malformed in ("abc", "a.b.c", "ab." + "b" * 42, "ab." + "b" * 43 + "\n", "ab==." + "b" * 43, "a." + "b" * 43):
        assert not re.search(pagination.TOKEN_PATTERN, malformed), malformed
    bad = listing["responses"]["400"]["$ref"].rsplit("/", 1)[-1]
    assert "next_token" in doc["components"]["responses"][bad]["description"]
    # The contract's own way to a valid token: the previous page's answer.
    link = listing["responses"]["200"]["links"]["NextPage"]
    assert link["operationId"] == listing["operationId"]
    assert link["parameters"] == {"next_token": "$response.body#/next_token"}


def test_the_two_upload_forms_are_separate_request_shapes():
    import fnmatch

    upload = openapi.raw()["paths"]["/images"]["post"]
    bodies = upload["requestBody"]["content"]
    assert bodies.pop("application/json")["schema"] == {"$ref": "#/components/schemas/UploadJson"}
    assert set(bodies) == set(formats.UPLOAD_CONTENT_TYPES)
    assert {b["schema"]["$ref"] for b in bodies.values()} == {"#/components/schemas/UploadRaw"}
    # Every query parameter belongs to the raw form: exactly the image bodies, never JSON.
    for parameter in upload["parameters"]:
        media_range = parameter["x-with-media-type"]
        assert {t for t in [*bodies, "application/json"] if fnmatch.fnmatchcase(t, media_range)} == set(bodies)


def test_the_fuzz_lets_valid_data_be_413_exactly_where_the_contract_documents_a_413():
    import tomllib

    settings = tomllib.loads((ROOT / "devstack" / "schemathesis.toml").read_text())
    [operations] = [o for o in settings["operations"] if "include-operation-id" in o]  # (the other: delivery)
    documented_413 = sorted(op["operationId"] for _, _, op in openapi.operations(openapi.raw()) if "413" in op["responses"])
    assert sorted(operations["include-operation-id"]) == documented_413 == ["createUpload", "uploadImage"]
    positive = operations["checks"]["positive_data_acceptance"]["expected-statuses"]
    from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES as DEFAULT

    assert sorted(positive) == sorted([*DEFAULT, "413"])  # the defaults, and only the 413 added
    assert "413" not in settings["checks"]["negative_data_rejection"]["expected-statuses"]
