"""Every endpoint through the Chalice test client, on moto: success and each documented error."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from chalicelib.adapters.store import ImageStore
from chalicelib.config import URL_REVISION_SPREAD as REVISION_SPREAD
from chalicelib.domain.records import epoch
from tests.conftest import BUCKET, TABLE, deliver, image_bytes

JSON = {"content-type": "application/json"}


def post_json(client, path, body, method="post"):
    return getattr(client.http, method)(path, headers=JSON, body=json.dumps(body))


def upload(client, data: bytes, **fields):
    body = {"image_data": base64.b64encode(data).decode(), "user_id": "alice", **fields}
    return post_json(client, "/images", body)


def ready(client, data: bytes, **fields) -> dict:
    """Upload through the API and run the S3 event the upload causes."""
    record = upload(client, data, **fields).json_body
    deliver(client, record["original_key"])
    return client.http.get(f"/images/{record['image_id']}").json_body


def objects(s3, prefix=""):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def items(ddb):
    return ddb.scan(TableName=TABLE)["Items"]


def assert_nothing_written(s3, ddb):
    assert objects(s3) == [] and items(ddb) == []


def test_health(client):
    reply = client.http.get("/health")
    assert reply.status_code == 200 and reply.json_body == {"status": "ok"}


# -- POST /images -------------------------------------------------------------

def test_upload_json_creates_a_pending_record_and_the_original(client, s3, jpeg):
    reply = upload(client, jpeg, filename="../My cat.jpg", title=" Cat ", description="d", tags=["Pets", "pets"])
    assert reply.status_code == 201
    body = reply.json_body
    assert reply.headers["Location"] == f"/images/{body['image_id']}"
    assert body["status"] == "pending" and body["source"] == "api" and body["owner"] == "alice"
    assert body["filename"] == "My cat.jpg" and body["title"] == "Cat" and body["tags"] == ["pets"]
    assert body["original_key"] == f"uploads/alice/{body['image_id']}/My cat.jpg"
    assert body["size_bytes"] == len(jpeg) and type(body["size_bytes"]) is int
    assert body["created_at"].endswith("Z")
    stored = s3.get_object(Bucket=BUCKET, Key=body["original_key"])
    assert stored["Body"].read() == jpeg and stored["ContentType"] == "image/jpeg"


def test_upload_accepts_a_data_url(client):
    png = image_bytes("PNG")
    reply = upload(client, b"", image_data=f"data:image/png;base64,{base64.b64encode(png).decode()}")
    assert reply.status_code == 201 and reply.json_body["content_type"] == "image/png"
    assert reply.json_body["filename"] == "image.png"


def test_upload_raw_bytes_with_metadata_in_the_query(client, s3):
    png = image_bytes("PNG")
    reply = client.http.post("/images?user_id=bob&filename=raw%20shot.png&title=Raw&tags=a,B&tags=c",
                             headers={"content-type": "image/png"}, body=png)
    assert reply.status_code == 201, reply.json_body
    body = reply.json_body
    assert (body["owner"], body["filename"], body["title"], body["tags"]) == ("bob", "raw shot.png", "Raw", ["a", "b", "c"])
    assert s3.get_object(Bucket=BUCKET, Key=body["original_key"])["Body"].read() == png


@pytest.mark.parametrize("body, status, message", [
    ({"user_id": "alice"}, 400, "image_data is required"),
    ({"user_id": "alice", "image_data": "not base64!!"}, 400, "not valid base64"),
    ({"user_id": "alice", "image_data": base64.b64encode(b"just some text").decode()}, 400, "not a supported image"),
    ({"user_id": "alice", "image_data": base64.b64encode(b"%PDF-1.4 ...").decode()}, 400, "not a supported image"),
    ({"image_data": base64.b64encode(image_bytes("JPEG")).decode()}, 400, "user_id is required"),
    ({"user_id": "alice", "image_data": "aGVsbG8=", "tags": "a,b"}, 400, "tags must be a list"),
    ({"user_id": "alice", "image_data": "aGVsbG8=", "title": 5}, 400, "title must be a string"),
    ({"user_id": "alice", "image_data": "aGVsbG8=", "owner": "mallory"}, 400, "unknown field(s): owner"),
    ({"user_id": "../etc", "image_data": "aGVsbG8="}, 400, "user_id must be"),
])
def test_upload_errors_write_nothing(client, s3, ddb, body, status, message):
    reply = post_json(client, "/images", body)
    assert reply.status_code == status
    assert message in reply.json_body["error"]
    assert set(reply.json_body) == {"error"}
    assert_nothing_written(s3, ddb)


def test_upload_refuses_bad_json_bodies(client, s3, ddb):
    for raw in ("{not json", "[1, 2]", ""):
        reply = client.http.post("/images", headers=JSON, body=raw)
        assert reply.status_code == 400 and "JSON" in reply.json_body["error"]
    assert_nothing_written(s3, ddb)


def test_upload_over_four_megabytes_is_413(client, s3, ddb):
    big = b"\xff\xd8\xff" + b"\0" * (4 * 1024 * 1024)
    reply = upload(client, big)
    assert reply.status_code == 413 and "POST /uploads" in reply.json_body["error"]
    raw = client.http.post("/images?user_id=alice", headers={"content-type": "image/jpeg"}, body=big)
    assert raw.status_code == 413
    assert_nothing_written(s3, ddb)


def test_upload_of_an_unsupported_media_type_is_415(client, s3, ddb):
    reply = client.http.post("/images?user_id=alice", headers={"content-type": "text/plain"}, body=b"hello")
    assert reply.status_code == 415 and "error" in reply.json_body
    assert_nothing_written(s3, ddb)


def test_raw_upload_refuses_unknown_query_parameters(client, s3, ddb):
    reply = client.http.post("/images?user_id=alice&colour=red", headers={"content-type": "image/png"},
                             body=image_bytes("PNG"))
    assert reply.status_code == 400 and "colour" in reply.json_body["error"]
    assert_nothing_written(s3, ddb)


# -- POST /uploads ------------------------------------------------------------

def presign(client, **fields):
    body = {"filename": "big photo.jpg", "content_type": "image/jpeg", "size_bytes": 12_000_000,
            "user_id": "alice", "tags": ["Trip"], **fields}
    return post_json(client, "/uploads", body)


def test_presigned_post_pins_key_type_and_size(client, ddb):
    reply = presign(client)
    assert reply.status_code == 201
    body = reply.json_body
    assert body["expires_in"] == 300 and body["method"] == "POST"
    fields = body["upload"]["fields"]
    key = f"uploads/alice/{body['image_id']}/big photo.jpg"
    assert fields["key"] == key and fields["Content-Type"] == "image/jpeg"
    assert body["upload"]["url"].startswith("https://")
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"key": key} in conditions and {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", 1, 25 * 1024 * 1024] in conditions
    assert {"bucket": BUCKET} in conditions
    image = client.http.get(f"/images/{body['image_id']}").json_body
    assert (image["status"], image["source"], image["tags"]) == ("pending", "presigned", ["trip"])


def test_presigned_put_is_signed_for_the_content_type(client):
    reply = presign(client, method="PUT", content_type="image/png", filename="p.png")
    assert reply.status_code == 201
    body = reply.json_body
    url = urlparse(body["upload_url"])
    assert unquote(url.path).endswith(f"uploads/alice/{body['image_id']}/p.png")
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["300"] and "content-type" in query["X-Amz-SignedHeaders"][0]
    assert body["headers"] == {"Content-Type": "image/png"}


@pytest.mark.parametrize("fields, status, message", [
    ({"size_bytes": 26 * 1024 * 1024}, 413, "size_bytes is 26 MB (27,262,976 bytes); the limit is 25 MB (26,214,400 bytes)"),
    ({"size_bytes": 25 * 1024 * 1024 + 1}, 413, "size_bytes is 26,214,401 bytes; the limit is 25 MB (26,214,400 bytes)"),
    ({"size_bytes": 0}, 400, "size_bytes must be positive"),
    ({"size_bytes": "12"}, 400, "size_bytes must be an integer"),
    ({"size_bytes": True}, 400, "size_bytes must be an integer"),
    ({"content_type": "image/svg+xml"}, 400, "content_type must be one of"),
    ({"content_type": "application/pdf"}, 400, "content_type must be one of"),
    ({"filename": ""}, 400, "filename is required"),
    ({"method": "DELETE"}, 400, "method must be POST or PUT"),
    ({"acl": "public-read"}, 400, "unknown field(s): acl"),
])
def test_presign_errors_write_nothing(client, s3, ddb, fields, status, message):
    reply = presign(client, **fields)
    assert reply.status_code == status and message in reply.json_body["error"]
    assert_nothing_written(s3, ddb)


# -- GET /images --------------------------------------------------------------

def test_list_filters_and_pages_newest_first(client, jpeg):
    made = [upload(client, jpeg, user_id=owner, tags=tags).json_body
            for owner, tags in [("alice", ["cat"]), ("bob", ["cat"]), ("alice", ["dog"]), ("alice", ["cat"])]]
    everything = client.http.get("/images").json_body
    assert [i["image_id"] for i in everything["images"]] == [m["image_id"] for m in reversed(made)]
    assert everything["count"] == 4 and everything["next_token"] is None

    seen, token = [], None
    while True:
        page = client.http.get("/images?user_id=alice&limit=2" + (f"&next_token={token}" if token else "")).json_body
        seen += [i["image_id"] for i in page["images"]]
        token = page["next_token"]
        if not token:
            break
    assert seen == [made[3]["image_id"], made[2]["image_id"], made[0]["image_id"]]

    cats = client.http.get("/images?tag=CAT&user_id=alice").json_body
    assert [i["image_id"] for i in cats["images"]] == [made[3]["image_id"], made[0]["image_id"]]
    pending = client.http.get("/images?status=pending&tag=cat").json_body
    assert pending["count"] == 3 and client.http.get("/images?status=ready").json_body["count"] == 0


@pytest.mark.parametrize("query, message", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"), ("limit=-1", "limit"),
    ("status=done", "status must be one of"), ("user_id=a/b", "user_id"), ("sort=asc", "unknown query parameter"),
    ("tag=a%23b", "#"), ("next_token=garbage", "next_token"), ("order=asc", "order must be one of: newest, oldest"),
])
def test_list_errors(client, query, message):
    reply = client.http.get(f"/images?{query}")
    assert reply.status_code == 400 and message in reply.json_body["error"]


def test_list_oldest_first_pages_in_its_order_and_a_token_continues_only_its_order(client, jpeg):
    made = [upload(client, jpeg, user_id="alice", tags=["cat"] if n % 2 else []).json_body["image_id"] for n in range(5)]
    for who, tag in [("user_id=alice&", ""), ("user_id=alice&", "&tag=cat"), ("", ""), ("", "&tag=cat")]:
        seen, token = [], None  # without user_id: the admin's list, merged from its shards
        while True:
            query = f"/images?{who}order=oldest&limit=2{tag}" + (f"&next_token={token}" if token else "")
            page = client.http.get(query).json_body
            seen += [i["image_id"] for i in page["images"]]
            token = page["next_token"]
            if not token:
                break
        assert seen == ([made[1], made[3]] if tag else made)
    newest = client.http.get("/images?user_id=alice&limit=2").json_body
    assert [i["image_id"] for i in newest["images"]] == made[:-3:-1]
    assert client.http.get("/images?user_id=alice&limit=2&order=newest").json_body == newest  # the default, said
    oldest_token = client.http.get("/images?user_id=alice&limit=2&order=oldest").json_body["next_token"]
    for where, token in [("order=oldest", newest["next_token"]), ("order=newest", oldest_token), ("", oldest_token)]:
        reply = client.http.get(f"/images?user_id=alice&limit=2&{where}&next_token={token}")
        assert reply.status_code == 400 and "next_token" in reply.json_body["error"], where


def test_a_tampered_or_foreign_next_token_is_400(client, jpeg):
    for _ in range(3):
        upload(client, jpeg)
    token = client.http.get("/images?user_id=alice&limit=1").json_body["next_token"]
    assert token
    assert client.http.get(f"/images?user_id=alice&limit=1&next_token={token}").status_code == 200
    body, mac = token.split(".")
    tampered = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    for bad, where in [(tampered, "user_id=alice"), (token, "user_id=bob"), (token, "tag=x"), (token, "")]:
        reply = client.http.get(f"/images?{where}&limit=1&next_token={bad}")
        assert reply.status_code == 400, (where, reply.json_body)
        assert "next_token" in reply.json_body["error"]


# -- GET /images/{id} and /file -----------------------------------------------

def test_get_returns_the_record_with_presigned_urls(client, jpeg):
    image = ready(client, jpeg, filename="cat.jpg")
    # Signed at the start of the 900 s URL window, or when the record last changed if that was
    # later (it was just made ready), valid 3600 s after the window's end: at least 3600 s left.
    assert image["status"] == "ready" and image["expires_in"] == 3600
    assert set(image["urls"]) == {"original", "thumb", "medium", "large"}
    revision = ImageStore(TABLE).get(image["image_id"]).version % REVISION_SPREAD
    for name, url in image["urls"].items():
        query = parse_qs(urlparse(url).query)
        signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        end = signed + int(query["X-Amz-Expires"][0]) - 3600 - revision
        assert end % 900 == 0 and end - 900 <= signed < end
        assert signed == max(end - 900, int(epoch(image["updated_at"])))
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and "response-content-disposition" not in query
    assert image["thumbnail_url"] == image["urls"]["thumb"]
    assert isinstance(image["width"], int) and isinstance(image["variants"]["thumb"]["size_bytes"], int)


@pytest.mark.parametrize("filename, expected", [
    ("cat.jpg", "attachment; filename=\"cat.jpg\"; filename*=UTF-8''cat.jpg"),
    ("café ☕.jpg", "attachment; filename=\"caf_ _.jpg\"; filename*=UTF-8''caf%C3%A9%20%E2%98%95.jpg"),
    ('say "hi".jpg', "attachment; filename=\"say _hi_.jpg\"; filename*=UTF-8''say%20%22hi%22.jpg"),
])
def test_download_urls_carry_the_original_filename(client, jpeg, filename, expected):
    record = upload(client, jpeg, filename=filename).json_body
    image = client.http.get(f"/images/{record['image_id']}?download=true").json_body
    query = parse_qs(urlparse(image["urls"]["original"]).query)
    assert query["response-content-disposition"] == [expected]


def test_get_unknown_or_malformed_id_is_404(client):
    for image_id in ("0" * 32, "not-an-id", "%2E%2E"):
        reply = client.http.get(f"/images/{image_id}")
        assert reply.status_code == 404 and "no image" in reply.json_body["error"]
    assert client.http.get("/images/x?download=maybe").status_code == 400


def test_file_redirects_to_each_variant(client, jpeg):
    image = ready(client, jpeg)
    for variant in ("thumb", "medium", "large", "original"):
        reply = client.http.get(f"/images/{image['image_id']}/file?variant={variant}")
        assert reply.status_code == 302
        key = image["original_key"] if variant == "original" else image["variants"][variant]["key"]
        assert unquote(urlparse(reply.headers["Location"]).path).endswith(key)
    default = client.http.get(f"/images/{image['image_id']}/file")
    assert unquote(urlparse(default.headers["Location"]).path).endswith(image["original_key"])


def test_file_errors(client, jpeg):
    pending = upload(client, jpeg).json_body
    reply = client.http.get(f"/images/{pending['image_id']}/file?variant=thumb")
    assert reply.status_code == 404 and "not available (status pending)" in reply.json_body["error"]
    reply = client.http.get(f"/images/{pending['image_id']}/file?variant=huge")
    assert reply.status_code == 400 and "variant must be one of" in reply.json_body["error"]
    assert client.http.get(f"/images/{'0' * 32}/file").status_code == 404


# -- PATCH ----------------------------------------------------------------------

def test_patch_updates_metadata_and_tag_index(client, jpeg):
    image = upload(client, jpeg, tags=["old", "keep"], title="t").json_body
    reply = post_json(client, f"/images/{image['image_id']}", {"tags": ["Keep", "new"], "description": "d"}, "patch")
    assert reply.status_code == 200
    body = reply.json_body
    assert (body["tags"], body["description"], body["title"]) == (["keep", "new"], "d", "t")
    assert body["updated_at"] >= image["updated_at"]
    assert client.http.get("/images?tag=old").json_body["count"] == 0
    assert client.http.get("/images?tag=new").json_body["images"][0]["image_id"] == image["image_id"]
    assert client.http.get("/images?tag=keep&user_id=alice").json_body["count"] == 1


@pytest.mark.parametrize("body, message", [
    ({"status": "ready"}, "unknown field(s): status"),
    ({"owner": "bob"}, "unknown field(s): owner"),
    ({"tags": "x"}, "tags must be a list"),
    ({"title": "x" * 201}, "longer than 200"),
    ({}, "nothing to update"),
])
def test_patch_errors_change_nothing(client, jpeg, body, message):
    image = upload(client, jpeg, title="kept").json_body
    reply = post_json(client, f"/images/{image['image_id']}", body, "patch")
    assert reply.status_code == 400 and message in reply.json_body["error"]
    after = client.http.get(f"/images/{image['image_id']}").json_body
    assert after["title"] == "kept" and after["updated_at"] == image["updated_at"]


def test_patch_unknown_image_is_404(client):
    assert post_json(client, f"/images/{'0' * 32}", {"title": "x"}, "patch").status_code == 404


# -- DELETE -----------------------------------------------------------------------

def test_delete_removes_original_variants_record_and_tags(client, s3, ddb, jpeg):
    image = ready(client, jpeg, tags=["a", "b"])
    assert len(objects(s3)) == 4
    reply = client.http.delete(f"/images/{image['image_id']}")
    assert reply.status_code == 200
    assert reply.json_body == {"message": "image deleted", "image_id": image["image_id"]}
    assert_nothing_written(s3, ddb)
    assert client.http.delete(f"/images/{image['image_id']}").status_code == 404


@pytest.mark.parametrize("failing", ["chalicelib.adapters.blobs.BlobStore.delete_many", "chalicelib.adapters.store.ImageStore.delete"])
def test_a_retried_delete_finishes_the_job(client, s3, ddb, jpeg, monkeypatch, failing):
    image = ready(client, jpeg, tags=["a"])

    def broken(*args, **kwargs):
        raise RuntimeError("transient")

    monkeypatch.setattr(failing, broken)
    assert client.http.delete(f"/images/{image['image_id']}").status_code == 500
    monkeypatch.undo()
    # Half-deleted: already out of lists and not served, whatever step failed.
    assert client.http.get(f"/images/{image['image_id']}").status_code == 404
    assert client.http.get("/images").json_body["count"] == 0
    assert client.http.delete(f"/images/{image['image_id']}").status_code == 200
    assert_nothing_written(s3, ddb)


# -- errors in general ----------------------------------------------------------

def test_a_500_carries_no_internals(client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret table name imgstore-dev-images")

    monkeypatch.setattr("chalicelib.usecases.api.ApiService.list", explode)
    reply = client.http.get("/images")
    assert reply.status_code == 500
    assert reply.json_body["error"] == "internal server error"
    assert "secret" not in reply.body.decode() and "Traceback" not in reply.body.decode()


def test_unsupported_method_is_json_405(client):
    reply = client.http.put("/images", headers=JSON, body="{}")
    assert reply.status_code == 405 and "error" in reply.json_body


def test_patch_reads_the_record_once(client, jpeg):
    from chalicelib.adapters import aws

    image = upload(client, jpeg).json_body
    reads = []
    aws.client("dynamodb").meta.events.register("before-call.dynamodb.GetItem", lambda **_: reads.append(1))
    reply = post_json(client, f"/images/{image['image_id']}", {"title": "once"}, "patch")
    assert reply.status_code == 200 and reply.json_body["title"] == "once"
    assert len(reads) == 1
