"""imgstore end to end over real HTTP: the API under `chalice local`, S3 and
DynamoDB in moto, the S3 handlers run by the event bridge."""
from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from chalicelib.domain.keys import image_id_for_object
from tests.conftest import image_bytes

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent.parent

# Keys as people type them: spaces, '+', '=', non-ASCII, nested folders.
DIRECT_NAMES = ["holiday 2024/beach day.jpg", "a+b=c.png", "café crème 写真.jpg"]


def upload_base64(api, owner, data, **meta):
    reply = api("POST", "/images", json={"image_data": base64.b64encode(data).decode(), "filename": "b64.jpg",
                                         "user_id": owner, **meta})
    assert reply.status_code == 201, reply.text
    assert reply.headers["Location"] == f"/images/{reply.json()['image_id']}"
    return reply.json()["image_id"]


def upload_raw(api, owner, data, tags="", content_type="image/jpeg"):
    params = {"user_id": owner, "filename": "raw.jpg", **({"tags": tags} if tags else {})}  # never empty: a 400
    reply = api("POST", "/images", data=data, headers={"Content-Type": content_type}, params=params)
    assert reply.status_code == 201, reply.text
    return reply.json()["image_id"]


def presign(api, owner, method, size, filename="form.jpg", content_type="image/jpeg", **meta):
    reply = api("POST", "/uploads", json={"filename": filename, "content_type": content_type, "size_bytes": size,
                                          "user_id": owner, "method": method, **meta})
    assert reply.status_code == 201, reply.text
    return reply.json()


def upload_presigned_post(api, http, owner, data, **meta):
    answer = presign(api, owner, "POST", len(data), **meta)
    form = answer["upload"]
    # As a browser's form does: multipart/form-data, the policy fields first, the file last.
    reply = http.post(form["url"], data=form["fields"], files={"file": ("form.jpg", data, "image/jpeg")})
    assert reply.status_code == 204, reply.text  # S3's answer without success_action_status
    return answer["image_id"]


def upload_presigned_put(api, http, owner, data, **meta):
    answer = presign(api, owner, "PUT", len(data), filename="put.jpg", **meta)
    reply = http.put(answer["upload_url"], data=data, headers=answer["headers"])
    assert reply.status_code == 200, reply.text
    return answer["image_id"]


def put_direct(s3, bucket, owner, name, data, content_type="image/jpeg"):
    key = f"uploads/{owner}/{name}"
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    return image_id_for_object(bucket, key)


def wait_moved(s3, bucket, key, timeout=45) -> None:
    """The record says rejected before its original moves (so a crash mid-move is
    finished by the retry): wait until it has left uploads/."""
    deadline = time.monotonic() + timeout
    while objects_under(s3, bucket, key):
        assert time.monotonic() < deadline, f"{key} still in uploads/ after {timeout} s"
        time.sleep(0.2)


def decoded(http, url) -> Image.Image:
    reply = http.get(url, timeout=30)
    assert reply.status_code == 200, reply.text
    image = Image.open(io.BytesIO(reply.content))
    image.load()
    return image


def objects_under(s3, bucket, prefix) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def items_of(ddb, table, image_id) -> list[dict]:
    return ddb.query(TableName=table, KeyConditionExpression="pk = :pk",
                     ExpressionAttributeValues={":pk": {"S": f"IMG#{image_id}"}})["Items"]


def test_every_way_in_ends_ready_with_variants_that_decode(stack, api, http, s3, owner, photo):
    png = image_bytes("PNG", (300, 200), "RGBA", (0, 128, 255, 100))
    uploaded = {
        upload_base64(api, owner, photo, tags=["b64"]): photo,
        upload_raw(api, owner, photo, tags="raw"): photo,
        upload_presigned_post(api, http, owner, photo, tags=["form"]): photo,
        upload_presigned_put(api, http, owner, photo, tags=["put"]): photo,
    }
    for name in DIRECT_NAMES:
        data = png if name.endswith(".png") else photo
        uploaded[put_direct(s3, stack.bucket, owner, name, data,
                            "image/png" if name.endswith(".png") else "image/jpeg")] = data

    records = api.wait_for(uploaded)
    assert {r["status"] for r in records.values()} == {"ready"}, records
    assert {r["source"] for r in records.values()} == {"api", "presigned", "s3"}
    assert {r["owner"] for r in records.values()} == {owner}
    direct = [r for r in records.values() if r["source"] == "s3"]
    assert sorted(r["filename"] for r in direct) == sorted(n.rsplit("/", 1)[-1] for n in DIRECT_NAMES)

    for image_id, data in uploaded.items():
        body = api("GET", f"/images/{image_id}").json()
        assert set(body["urls"]) == {"original", "thumb", "medium", "large"}
        assert body["expires_in"] > 0
        assert http.get(body["urls"]["original"]).content == data
        for name, variant in body["variants"].items():
            image = decoded(http, body["urls"][name])
            assert image.size == (variant["width"], variant["height"])
            assert max(image.size) <= {"thumb": 256, "medium": 1024, "large": 2048}[name]


def test_file_redirects_to_the_variant_and_download_names_the_file(api, http, owner, photo):
    image_id = upload_raw(api, owner, photo)
    record = api.wait_for([image_id])[image_id]
    reply = api("GET", f"/images/{image_id}/file", params={"variant": "thumb"}, allow_redirects=False)
    assert reply.status_code == 302
    thumb = decoded(http, reply.headers["Location"])
    assert thumb.size == (record["variants"]["thumb"]["width"], record["variants"]["thumb"]["height"])

    body = api("GET", f"/images/{image_id}", params={"download": "true"}).json()
    fetched = http.get(body["urls"]["original"])
    assert fetched.status_code == 200
    assert fetched.headers["Content-Disposition"].startswith('attachment; filename="raw.jpg"')

    assert api("GET", f"/images/{image_id}/file", params={"variant": "huge"}).status_code == 400
    assert api("GET", "/images/0123456789abcdef0123456789abcdef/file").status_code == 404


def test_lists_filter_by_owner_and_tag_and_page_with_next_token(api, owner, photo):
    other = f"{owner}-other"
    tagged = {upload_raw(api, owner, photo, tags="sunset,beach") for _ in range(3)}
    untagged = {upload_raw(api, owner, photo) for _ in range(2)}
    foreign = upload_raw(api, other, photo, tags="sunset")
    api.wait_for(tagged | untagged | {foreign})

    mine = api("GET", "/images", params={"user_id": owner}).json()
    assert {i["image_id"] for i in mine["images"]} == tagged | untagged
    assert mine["count"] == 5 and mine["next_token"] is None
    created = [i["created_at"] for i in mine["images"]]
    assert created == sorted(created, reverse=True)  # newest first

    sunset = api("GET", "/images", params={"user_id": owner, "tag": "sunset"}).json()
    assert {i["image_id"] for i in sunset["images"]} == tagged
    everyone = api("GET", "/images", params={"tag": "sunset", "limit": 100}).json()
    assert tagged | {foreign} <= {i["image_id"] for i in everyone["images"]}
    ready = api("GET", "/images", params={"user_id": owner, "status": "ready"}).json()
    assert ready["count"] == 5

    seen, token, pages = [], None, 0
    while True:
        params = {"user_id": owner, "limit": 2, **({"next_token": token} if token else {})}
        page = api("GET", "/images", params=params).json()
        seen += [i["image_id"] for i in page["images"]]
        pages += 1
        token = page["next_token"]
        if token is None:
            break
        other_list = api("GET", "/images", params={"user_id": other, "next_token": token})
        assert other_list.status_code == 400  # a token continues only its own list
    assert pages == 3 and len(seen) == 5 and set(seen) == tagged | untagged


def test_patch_then_delete_leaves_no_object_and_no_record(stack, api, s3, ddb, owner, photo):
    image_id = upload_raw(api, owner, photo, tags="old")
    record = api.wait_for([image_id])[image_id]

    reply = api("PATCH", f"/images/{image_id}", json={"title": "Renamed", "tags": ["new", "#Fresh"]})
    assert reply.status_code == 200, reply.text
    assert reply.json()["title"] == "Renamed" and reply.json()["tags"] == ["new", "fresh"]
    assert [i["image_id"] for i in api("GET", "/images", params={"user_id": owner, "tag": "fresh"}).json()["images"]] \
        == [image_id]
    assert api("GET", "/images", params={"user_id": owner, "tag": "old"}).json()["images"] == []
    assert api("PATCH", f"/images/{image_id}", json={"owner": "mallory"}).status_code == 400

    keys = [record["original_key"]] + [v["key"] for v in record["variants"].values()]
    assert all(objects_under(s3, stack.bucket, k) == [k] for k in keys)
    reply = api("DELETE", f"/images/{image_id}")
    assert reply.status_code == 200, reply.text
    assert api("GET", f"/images/{image_id}").status_code == 404
    assert api("DELETE", f"/images/{image_id}").status_code == 404
    assert objects_under(s3, stack.bucket, f"uploads/{owner}/{image_id}/") == []
    assert objects_under(s3, stack.bucket, f"processed/{image_id}/") == []
    assert items_of(ddb, stack.table, image_id) == []
    assert api("GET", "/images", params={"user_id": owner}).json()["images"] == []


def test_oversize_presigned_post_is_rejected_and_its_object_quarantined(stack, api, http, s3, owner, photo):
    # moto, unlike S3, does not enforce the policy's content-length-range, so
    # the handler's own size check is what stops this one.
    limit = 25 * 1024 * 1024
    oversize = photo + b"\0" * (limit + 1 - len(photo))
    answer = presign(api, owner, "POST", len(photo))
    form = answer["upload"]
    reply = http.post(form["url"], data=form["fields"], files={"file": ("big.jpg", oversize, "image/jpeg")})
    assert reply.status_code == 204, reply.text  # S3's answer without success_action_status

    record = api.wait_for([answer["image_id"]])[answer["image_id"]]
    assert record["status"] == "rejected"
    assert record["status_reason"] == f"file is {len(oversize):,} bytes; the limit is 25 MB ({limit:,} bytes)"
    wait_moved(s3, stack.bucket, record["original_key"])
    assert objects_under(s3, stack.bucket, f"quarantine/{record['original_key']}") == [
        f"quarantine/{record['original_key']}"]


def test_a_non_image_named_jpg_is_rejected_its_object_quarantined_and_restorable(stack, api, http, s3, owner):
    text = b"just some notes, not a picture\n" * 20
    answer = presign(api, owner, "PUT", len(text), filename="notes.jpg")
    assert http.put(answer["upload_url"], data=text, headers=answer["headers"]).status_code == 200
    direct_id = put_direct(s3, stack.bucket, owner, "renamed.jpg", text)

    records = api.wait_for([answer["image_id"], direct_id])
    for record in records.values():
        assert record["status"] == "rejected"
        assert record["status_reason"], "a rejection says why"
        assert "original" not in api("GET", f"/images/{record['image_id']}").json()["urls"]
        wait_moved(s3, stack.bucket, record["original_key"])
        quarantined = s3.get_object(Bucket=stack.bucket, Key=f"quarantine/{record['original_key']}")
        assert quarantined["Body"].read() == text
    rejected = api("GET", "/images", params={"user_id": owner, "status": "rejected"}).json()
    assert {i["image_id"] for i in rejected["images"]} == set(records)

    # The operator's restore puts it back; the bridge's handler judges it again (text stays text).
    env = {**os.environ, "AWS_ENDPOINT_URL": stack.aws_url, "AWS_ACCESS_KEY_ID": "local",
           "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": stack.region}
    run = subprocess.run([sys.executable, "-m", "scripts.reprocess", "--stage", "local", "--restore", direct_id],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "1 restored" in run.stdout, run.stdout + run.stderr
    before = records[direct_id]["updated_at"]
    deadline = time.monotonic() + 45
    while (again := api("GET", f"/images/{direct_id}").json())["updated_at"] == before or again["status"] == "pending":
        assert time.monotonic() < deadline, again
        time.sleep(0.2)
    assert again["status"] == "rejected" and "text" in again["status_reason"]
    original = records[direct_id]["original_key"]
    wait_moved(s3, stack.bucket, original)
    assert objects_under(s3, stack.bucket, f"quarantine/{original}") == [f"quarantine/{original}"]


def test_deleting_the_object_in_the_bucket_removes_the_image(stack, api, s3, ddb, owner, photo):
    image_id = put_direct(s3, stack.bucket, owner, "to be removed.jpg", photo)
    api.wait_for([image_id])
    s3.delete_object(Bucket=stack.bucket, Key=f"uploads/{owner}/to be removed.jpg")
    api.wait_gone(image_id)  # a 404 from the moment the purge marks it deleting, before its objects go
    # The purge deletes the record's items last, after the variants: once they are gone, so is every object.
    deadline = time.monotonic() + 45
    while items_of(ddb, stack.table, image_id):
        assert time.monotonic() < deadline, items_of(ddb, stack.table, image_id)
        time.sleep(0.2)
    assert objects_under(s3, stack.bucket, f"processed/{image_id}/") == []


def test_bucket_cors_allows_the_configured_origin_only(stack, http):
    url = f"{stack.aws_url}/{stack.bucket}/uploads/x/y.jpg"
    preflight = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}
    allowed = http.options(url, headers={"Origin": "http://localhost:3000", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "PUT" in allowed.headers["Access-Control-Allow-Methods"]
    # Without MOTO_DISABLE_GLOBAL_CORS moto would answer this one too.
    assert http.options(url, headers={"Origin": "https://evil.example", **preflight}).status_code == 403


def test_a_multipart_upload_sends_two_events_and_ends_as_one_ready_image(stack, api, s3, owner, photo):
    from boto3.s3.transfer import TransferConfig

    # Two 5 MB parts; moto then sends ObjectCreated:Put and ObjectCreated:CompleteMultipartUpload.
    data = photo + b"\0" * (10 * 1024 * 1024 - len(photo))
    key = f"uploads/{owner}/big scan.jpg"
    parts = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(data), stack.bucket, key, ExtraArgs={"ContentType": "image/jpeg"}, Config=parts)
    assert s3.head_object(Bucket=stack.bucket, Key=key)["ETag"].endswith('-2"')

    image_id = image_id_for_object(stack.bucket, key)
    record = api.wait_for([image_id])[image_id]
    assert record["status"] == "ready" and record["size_bytes"] == len(data)
    assert [i["image_id"] for i in api("GET", "/images", params={"user_id": owner}).json()["images"]] == [image_id]


def _api_lines_for(stack, request) -> list[str]:
    """The `api |` lines the stack printed while `request` ran (and just after:
    the runner forwards its children's output from a thread)."""
    start = len(stack.log.read_text(errors="replace").splitlines())
    request()
    time.sleep(1.0)
    lines = stack.log.read_text(errors="replace").splitlines()[start:]
    return [line.split("|", 1)[1].strip() for line in lines if line.lstrip().startswith("api |")]


def test_each_request_is_one_log_line_as_the_readme_promises(stack, api, owner):
    """Not also chalice's `imgstore - INFO - request` echo of it, nor http.server's access line."""
    import json

    listed = _api_lines_for(stack, lambda: api("GET", "/images", params={"user_id": owner}))
    assert len(listed) == 1, listed
    line = json.loads(listed[0])
    assert (line["message"], line["route"], line["status"], line["owner"]) == ("request", "GET /images", 200, owner)
    # What the gateway answers by itself never reaches the app: there, the access line is the one.
    unknown = _api_lines_for(stack, lambda: api("GET", f"/no-such-path/{owner}"))
    assert len(unknown) == 1 and f'"GET /no-such-path/{owner} HTTP/1.1" 403' in unknown[0], unknown
