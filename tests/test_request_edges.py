"""Requests at the edges of the contract (issue 10): each defect the fuzzer found,
and the one answer chosen for each case the docs left open."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, quote, urlparse

import pytest

from tests.conftest import image_bytes

JSON = {"content-type": "application/json"}


def post_json(client, path, body, method="post"):
    raw = body if isinstance(body, str) else json.dumps(body)
    return getattr(client.http, method)(path, headers=JSON, body=raw)


def upload_body(**fields) -> dict:
    return {"image_data": base64.b64encode(image_bytes("PNG")).decode(), "user_id": "alice", **fields}


def presign_body(**fields) -> dict:
    return {"filename": "p.jpg", "content_type": "image/jpeg", "size_bytes": 1000, "user_id": "alice", **fields}


def nothing_written(s3, ddb):
    from tests.conftest import BUCKET, TABLE

    return s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0 and ddb.scan(TableName=TABLE)["Items"] == []


# -- 1. limit takes ASCII digits only ----------------------------------------------

@pytest.mark.parametrize("limit", ["²", "①", "١", "５", "1_0", " 5", "+5", "05x"])
def test_limit_takes_ascii_digits_only(client, limit):
    reply = client.http.get(f"/images?limit={quote(limit)}")
    assert reply.status_code == 400, reply.body
    assert reply.json_body == {"error": "limit must be an integer from 1 to 100"}


def test_limit_with_leading_zeros_is_still_a_number(client):
    assert client.http.get("/images?limit=007").status_code == 200


# -- 2. deeply nested JSON -----------------------------------------------------------

@pytest.mark.parametrize("path, method", [("/images", "post"), ("/uploads", "post"), (f"/images/{'a' * 32}", "patch")])
def test_deeply_nested_json_is_a_400(client, s3, ddb, path, method):
    deep = "[" * 100_000 + "]" * 100_000
    reply = post_json(client, path, deep, method)
    assert reply.status_code == 400, reply.body
    assert reply.json_body == {"error": "request body is not valid JSON"}
    nested = '{"tags": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert post_json(client, path, nested, method).status_code == 400
    assert nothing_written(s3, ddb)


# -- 3. lone surrogates --------------------------------------------------------------

@pytest.mark.parametrize("field", ["filename", "title", "description"])
def test_a_lone_surrogate_in_an_upload_is_a_400(client, s3, ddb, field):
    for path, body in (("/images", upload_body()), ("/uploads", presign_body())):
        raw = json.dumps({**body, field: "x"}).replace('"x"', '"\\udfff.jpg"')
        reply = post_json(client, path, raw)
        assert reply.status_code == 400, (path, reply.body)
        assert reply.json_body == {"error": f"{field} is not valid Unicode text (it holds a lone surrogate)"}
    assert nothing_written(s3, ddb)


@pytest.mark.parametrize("raw, field", [('{"title": "\\ud800"}', "title"), ('{"description": "a\\udfffb"}', "description"),
                                        ('{"tags": ["\\udc00"]}', "tags")])
def test_a_lone_surrogate_in_a_patch_is_a_400(client, raw, field):
    image = post_json(client, "/images", upload_body(title="kept")).json_body
    reply = post_json(client, f"/images/{image['image_id']}", raw, "patch")
    assert reply.status_code == 400, reply.body
    assert reply.json_body == {"error": f"{field} is not valid Unicode text (it holds a lone surrogate)"}
    assert client.http.get(f"/images/{image['image_id']}").json_body["title"] == "kept"


# -- 4. invisible format characters in filenames ---------------------------------------

@pytest.mark.parametrize("sent, kept", [
    ("photo\u202egnp.exe", "photognp.exe"),  # RIGHT-TO-LEFT OVERRIDE: shows as photoexe.png
    ("\u2067cat\u2069.jpg", "cat.jpg"),  # isolates
    ("a\u200bb\u200dc\ufeff.jpg", "abc.jpg"),  # zero-width space, joiner, BOM
    ("x\u061c\u200e\u200fy.png", "xy.png"),  # Arabic letter mark, LRM, RLM
    ("\u00adsoft.jpg", "soft.jpg"),  # soft hyphen
])
def test_filenames_lose_invisible_format_characters(client, sent, kept):
    record = post_json(client, "/images", upload_body(filename=sent)).json_body
    assert record["filename"] == kept and record["original_key"].endswith("/" + kept)
    image = client.http.get(f"/images/{record['image_id']}?download=true").json_body
    disposition = parse_qs(urlparse(image["urls"]["original"]).query)["response-content-disposition"][0]
    assert f'filename="{kept}"' in disposition and "%E2%80" not in disposition
    presigned = post_json(client, "/uploads", presign_body(filename=sent)).json_body
    assert presigned["image"]["filename"] == kept


def test_keys_sanitize_filename_drops_every_format_character():
    import sys
    import unicodedata

    from chalicelib.domain import keys

    formats = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    assert keys.sanitize_filename("a" + "".join(formats) + "b.jpg") == "ab.jpg"


# -- 5. routes that read no body ignore its Content-Type ---------------------------------

@pytest.mark.parametrize("method, path", [
    ("get", "/health"), ("get", "/images"), ("get", f"/images/{'0' * 32}"), ("get", f"/images/{'0' * 32}/file"),
    ("delete", f"/images/{'0' * 32}"), ("post", f"/images/{'0' * 32}/reprocess"), ("get", "/openapi.json"),
])
@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/x-www-form-urlencoded"])
def test_routes_without_a_body_ignore_the_content_type(client, method, path, content_type):
    reply = getattr(client.http, method)(path, headers={"content-type": content_type}, body=b"ignored")
    assert reply.status_code != 415, reply.body
    assert reply.status_code in (200, 404)


# -- 6. a user's delete wins over background work ---------------------------------------

def test_a_delete_wins_over_the_s3_handler_saving_meanwhile(client, s3, ddb):
    """The handler saves the record (after a reprocess, say) between the delete's
    read and its mark: the delete still finishes, with no 409."""
    from chalicelib import bootstrap
    from chalicelib.auth import ANONYMOUS
    from chalicelib.usecases.api import ApiService
    from chalicelib.usecases.lifecycle import set_fields
    from tests.conftest import deliver

    image = post_json(client, "/images", upload_body(tags=["a", "b"])).json_body
    deliver(client, image["original_key"])
    real = bootstrap.api()

    class BusyWriter:
        """The real store, with a busy writer saving right after each read:
        more saves than any retry budget."""

        def __getattr__(self, name):
            return getattr(real.store, name)

        def get(self, image_id):
            found = real.store.get(image_id)
            for _ in range(8):
                set_fields(real.store, image_id, {"status_reason": None, "tags": ["a", "c"]})
            return found

    ApiService(real.settings, BusyWriter(), real.blobs).delete(ANONYMOUS, image["image_id"])
    assert nothing_written(s3, ddb)  # the tag items the racing save wrote went too


def test_once_marked_the_handler_no_longer_saves(client, s3, ddb):
    from chalicelib import bootstrap
    from chalicelib.usecases import lifecycle

    image = post_json(client, "/images", upload_body()).json_body
    images = bootstrap.api()
    record = images.store.get(image["image_id"])
    images.store.mark_deleting(record)
    assert lifecycle.set_fields(images.store, image["image_id"], {"status": "ready"}) == lifecycle.Unsaved.DELETING
    assert images.store.get(image["image_id"]).deleting


# -- 8. size errors say exactly what was sent and what is allowed --------------------------

def test_an_oversize_presign_names_both_sizes_exactly(client):
    reply = post_json(client, "/uploads", presign_body(size_bytes=25 * 1024 * 1024 + 1))
    assert reply.status_code == 413
    assert reply.json_body == {"error": "size_bytes is 26,214,401 bytes; the limit is 25 MB (26,214,400 bytes)"}


def test_an_oversize_api_upload_names_both_sizes_exactly(client):
    big = b"\xff\xd8\xff" + b"\0" * (4 * 1024 * 1024 - 2)
    expected = ("image is 4,194,305 bytes; uploads through the API are limited to 4 MB (4,194,304 bytes), "
                "use POST /uploads for larger files")
    reply = post_json(client, "/images", upload_body(image_data=base64.b64encode(big).decode()))
    assert (reply.status_code, reply.json_body) == (413, {"error": expected})
    raw = client.http.post("/images?user_id=alice", headers={"content-type": "image/jpeg"}, body=big)
    assert (raw.status_code, raw.json_body) == (413, {"error": expected})


def test_bytes_text_is_exact():
    from chalicelib.domain.upload_limits import bytes_text

    assert bytes_text(25 * 1024 * 1024) == "25 MB (26,214,400 bytes)"
    assert bytes_text(25 * 1024 * 1024 + 1) == "26,214,401 bytes"


# -- one answer per case ---------------------------------------------------------------------

@pytest.mark.parametrize("body", [{"tags": None}, {"title": None}, {"description": None}, {"title": "t", "tags": None}])
def test_null_is_never_a_value_in_a_patch(client, body):
    image = post_json(client, "/images", upload_body(title="kept", tags=["a"])).json_body
    reply = post_json(client, f"/images/{image['image_id']}", body, "patch")
    name = next(k for k, v in body.items() if v is None)
    assert reply.status_code == 400 and reply.json_body == {"error": f"{name} must not be null; leave it out instead"}
    after = client.http.get(f"/images/{image['image_id']}").json_body
    assert (after["title"], after["tags"]) == ("kept", ["a"])


@pytest.mark.parametrize("path, body, name", [
    ("/images", upload_body(filename=None), "filename"), ("/images", upload_body(tags=None), "tags"),
    ("/images", upload_body(user_id=None), "user_id"), ("/uploads", presign_body(method=None), "method"),
    ("/uploads", presign_body(title=None), "title"), ("/uploads", presign_body(size_bytes=None), "size_bytes"),
])
def test_null_is_never_a_value_in_an_upload(client, s3, ddb, path, body, name):
    reply = post_json(client, path, body)
    assert reply.status_code == 400 and reply.json_body == {"error": f"{name} must not be null; leave it out instead"}
    assert nothing_written(s3, ddb)


@pytest.mark.parametrize("tag, stored", [
    ("Sunset", "sunset"), ("#Beach", "beach"), (" new york ", "new york"), ("été", "été"), ("猫", "猫"),
    ("a-b_c.d/e:f+g", "a-b_c.d/e:f+g"), ("🙂", "🙂"), ("x" * 64, "x" * 64), ("# spaced ", "spaced"),
])
def test_tags_that_are_accepted(client, tag, stored):
    reply = post_json(client, "/images", upload_body(tags=[tag]))
    assert reply.status_code == 201, reply.body
    assert reply.json_body["tags"] == [stored]


@pytest.mark.parametrize("tag", ["", "  ", "#", "a#b", "a,b", "tab\there", "nl\nx", "zw\u200bj", "rlo\u202e",
                                 "x" * 65, "##double", "bell\x07"])
def test_tags_that_are_refused(client, s3, ddb, tag):
    from chalicelib.domain.records import TAG_RULE

    reply = post_json(client, "/images", upload_body(tags=[tag]))
    assert reply.status_code == 400, (tag, reply.body)
    assert reply.json_body["error"].endswith(TAG_RULE)
    assert nothing_written(s3, ddb)


def test_at_most_twenty_tags_as_sent(client):
    assert post_json(client, "/images", upload_body(tags=[f"t{i}" for i in range(20)])).status_code == 201
    reply = post_json(client, "/images", upload_body(tags=["same"] * 21))
    assert reply.status_code == 400 and reply.json_body == {"error": "at most 20 tags are allowed, got 21"}


def test_a_json_upload_refuses_unknown_query_parameters(client, s3, ddb):
    reply = post_json(client, "/images?colour=red", upload_body())
    assert reply.status_code == 400
    assert reply.json_body == {"error": "a JSON upload takes no query parameters; got: colour"}
    assert nothing_written(s3, ddb)


def test_an_unsupported_method_is_405_with_allow(client):
    reply = client.http.put("/images", headers=JSON, body="{}")
    assert reply.status_code == 405 and reply.headers["Allow"] == "GET, OPTIONS, POST"
    reply = client.http.post(f"/images/{'0' * 32}", headers=JSON, body="{}")
    assert reply.status_code == 405 and reply.headers["Allow"] == "DELETE, GET, OPTIONS, PATCH"


def test_an_integral_json_number_is_an_integer(client):
    reply = post_json(client, "/uploads", presign_body(size_bytes=1000.0))
    assert reply.status_code == 201, reply.body
    refused = post_json(client, "/uploads", presign_body(size_bytes=1000.5))
    assert refused.status_code == 400 and refused.json_body == {"error": "size_bytes must be an integer"}


@pytest.mark.parametrize("fields, message", [
    ({"method": "put"}, "method must be POST or PUT"),
    ({"content_type": "IMAGE/JPEG"}, "content_type must be one of"),
    ({"content_type": " image/jpeg"}, "content_type must be one of"),
    ({"user_id": ""}, "user_id must be"),
])
def test_enumerated_values_are_exact_as_the_contract_lists_them(client, s3, ddb, fields, message):
    reply = post_json(client, "/uploads", presign_body(**fields))
    assert reply.status_code == 400 and message in reply.json_body["error"]
    assert nothing_written(s3, ddb)


@pytest.mark.parametrize("query", ["user_id=", "tag=", "status=", "limit=", "next_token="])
def test_an_empty_query_parameter_is_refused_not_read_as_absent(client, query):
    reply = client.http.get(f"/images?{query}")
    name = query.rstrip("=")
    assert reply.status_code == 400
    assert reply.json_body == {"error": f"query parameter {name} is empty; give it a value or leave it out"}
