"""Delivery through the API, in-process on moto (chalice.test.Client): `delivery` in records and
list items, GET /images/{id}/url, the rendition route (GET and HEAD; 403, 404 after delete,
Vary, redirects without a JSON type), the renderer function behind it, PATCH focus, and
HEAD /images/{id}/file."""

from __future__ import annotations

import base64
import io
import json
import re
import threading

import pytest
from PIL import Image

from chalicelib import config
from chalicelib.adapters.store import ImageStore
from chalicelib.delivery import links, service
from chalicelib.delivery.options import Options
from chalicelib.imaging import renditions

from .apps import bearer, client as client_for, load_app
from .conftest import BUCKET, deliver
from .imaging import corpus

CHROMIUM = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI = ("image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
          "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5")
PLAIN = "image/png,image/*;q=0.8,*/*;q=0.5"
JSON = {"Content-Type": "application/json"}


def upload(client, data: bytes, owner: str = "alice", headers: dict | None = None) -> dict:
    body = {"image_data": base64.b64encode(data).decode(), "filename": "p.png"}
    if headers is None:
        body["user_id"] = owner
    made = client.http.post("/images", headers={**JSON, **(headers or {})}, body=json.dumps(body))
    assert made.status_code == 201, made.body
    deliver(client, made.json_body["original_key"])
    return client.http.get(f"/images/{made.json_body['image_id']}", headers=headers or {}).json_body


@pytest.fixture
def photo(client):
    return upload(client, corpus.save(corpus.quarters((1500, 1000)), "PNG"))


@pytest.fixture
def counted(monkeypatch):
    """How many renditions were rendered (imaging.renditions.render calls)."""
    calls = []
    real = renditions.render

    def render(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(renditions, "render", render)
    return calls


def _candidates(srcset: str) -> list[tuple[str, int]]:
    return [(url, int(width[:-1])) for url, width in (c.strip().split(" ") for c in srcset.split(","))]


def test_a_ready_record_carries_delivery_with_a_srcset_stopping_at_its_width(client, photo):
    delivery = photo["delivery"]
    assert (delivery["width"], delivery["height"]) == (1500, 1000)
    candidates = _candidates(delivery["srcset"])
    assert [w for _, w in candidates] == [256, 320, 384, 480, 640, 750, 828, 1080, 1200, 1500]
    for url, width in candidates:
        assert re.fullmatch(rf"(?:/api)?/r/{photo['image_id']}/\d+/w{width}-inside-auto/local\.0\.[A-Za-z0-9_-]{{43}}", url)
    assert "/w1080-inside-auto/" in delivery["src"]
    listed = client.http.get("/images?user_id=alice").json_body["images"]
    assert [i["delivery"] for i in listed] == [delivery]


def test_a_record_not_ready_has_no_delivery(client):
    made = client.http.post("/uploads", headers=JSON, body=json.dumps(
        {"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": 10, "user_id": "u"}))
    assert made.status_code == 201
    assert client.http.get(f"/images/{made.json_body['image_id']}").json_body["delivery"] is None


def _path(url: str) -> str:
    return url.removeprefix("/api")


@pytest.mark.parametrize(("accept", "content_type"), [(CHROMIUM, "image/avif"), (SAFARI, "image/avif"),
                                                      ("image/webp,*/*", "image/webp"), (PLAIN, "image/jpeg")])
def test_every_srcset_candidate_is_served_in_the_format_the_browser_reads(client, photo, accept, content_type):
    for url, width in _candidates(photo["delivery"]["srcset"])[:3]:
        got = client.http.get(_path(url), headers={"Accept": accept})
        assert got.status_code == 200, got.body
        assert got.headers["Content-Type"] == content_type and "Accept" in got.headers["Vary"].split(", ")
        image = Image.open(io.BytesIO(got.body))
        assert Image.MIME[image.format] == content_type and image.width == width


def test_served_once_rendered_then_read_back(client, photo, counted, s3):
    url = _path(photo["delivery"]["src"])
    first = client.http.get(url, headers={"Accept": CHROMIUM})
    again = client.http.get(url, headers={"Accept": CHROMIUM})
    assert len(counted) == 1 and first.body == again.body
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stored = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"processed/{photo['image_id']}/r/")["Contents"]
    assert [o["Key"].rsplit("/", 2)[1:] for o in stored] == [["w1080-inside-auto", "avif"]]


def test_head_answers_what_get_would_without_the_body(client, photo, counted):
    url = _path(photo["delivery"]["src"])
    head = client.http.request("HEAD", url, headers={"Accept": PLAIN})
    get = client.http.get(url, headers={"Accept": PLAIN})
    assert head.status_code == get.status_code == 200 and head.body == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"] == "image/jpeg"
    assert len(counted) == 1  # the HEAD rendered and stored it; the GET read it


@pytest.mark.parametrize("tamper", [lambda u: u.replace("w1080", "w1081"), lambda u: u[:-3] + "AAA",
                                    lambda u: u.replace("/local.", "/other."), lambda u: u + "x"])
def test_a_bad_signature_is_403_json_and_renders_nothing(client, photo, counted, tamper):
    got = client.http.get(tamper(_path(photo["delivery"]["src"])), headers={"Accept": CHROMIUM})
    assert got.status_code == 403 and got.json_body["error"] and counted == []


def test_every_rendition_is_404_after_delete(client, photo):
    urls = [_path(u) for u, _ in _candidates(photo["delivery"]["srcset"])]
    assert client.http.get(urls[0], headers={"Accept": PLAIN}).status_code == 200  # one stored
    assert client.http.delete(f"/images/{photo['image_id']}").status_code == 200
    for url in urls:
        assert client.http.get(url, headers={"Accept": PLAIN}).status_code == 404, url


def test_past_the_size_line_a_redirect_with_no_json_type(client, photo, monkeypatch):
    monkeypatch.setattr(service, "INLINE_LIMIT", 2000)
    url = _path(photo["delivery"]["src"])
    for _ in range(2):  # rendered, then stored
        got = client.http.get(url, headers={"Accept": PLAIN})
        assert got.status_code == 302 and got.body == b""
        assert got.headers["Content-Type"].startswith("text/plain")
        assert "/processed/" in got.headers["Location"] and got.headers["Cache-Control"] == "private, no-store"


def test_the_url_route_signs_any_one_rendition(client, photo):
    got = client.http.get(f"/images/{photo['image_id']}/url?width=300&height=300&fit=cover&format=webp&quality=70")
    assert got.status_code == 200
    url = got.json_body["url"]
    assert "/w300-h300-cover-webp-q70/" in url
    served = client.http.get(_path(url), headers={"Accept": "*/*"})
    assert served.headers["Content-Type"] == "image/webp" and "Accept" not in served.headers.get("Vary", "")
    assert Image.open(io.BytesIO(served.body)).size == (300, 300)


@pytest.mark.parametrize(("query", "named"), [("width=0", "width"), ("fit=fill", "fit"), ("format=gif", "format"),
                                              ("quality=101", "quality"), ("height=5000", "height"),
                                              ("size=3", "size")])
def test_a_bad_option_is_a_400_naming_it(client, photo, query, named):
    got = client.http.get(f"/images/{photo['image_id']}/url?{query}")
    assert got.status_code == 400 and named in got.json_body["error"]


def test_the_url_route_follows_the_ownership_rules(aws, monkeypatch, tmp_path):
    import boto3

    from chalicelib import auth

    from .apps import TOKEN_SECRET

    arn = boto3.client("secretsmanager").create_secret(Name="imgstore-dev-auth-token", SecretString=TOKEN_SECRET)["ARN"]
    auth.reset()
    with client_for(load_app(monkeypatch, "token"), tmp_path, AUTH_TOKEN_SECRET_ARN=arn) as api:
        image = upload(api, corpus.save(corpus.quarters(), "PNG"), headers=bearer("alice"))
        mine = api.http.get(f"/images/{image['image_id']}/url?width=50", headers=bearer("alice"))
        theirs = api.http.get(f"/images/{image['image_id']}/url?width=50", headers=bearer("bob"))
        nobody = api.http.get(f"/images/{image['image_id']}/url?width=50")
    auth.reset()
    assert mine.status_code == 200 and theirs.status_code == 404 and nobody.status_code == 401


def test_patch_takes_a_focus_or_null_and_the_urls_change(client, photo):
    image_id = photo["image_id"]
    set_ = client.http.patch(f"/images/{image_id}", headers=JSON, body=json.dumps({"focus": {"x": 0.25, "y": 1}}))
    assert set_.status_code == 200 and set_.json_body["focus"] == {"x": 0.25, "y": 1.0}
    after = client.http.get(f"/images/{image_id}").json_body
    assert after["focus"] == {"x": 0.25, "y": 1.0} and after["delivery"]["src"] != photo["delivery"]["src"]
    cleared = client.http.patch(f"/images/{image_id}", headers=JSON, body=json.dumps({"focus": None}))
    assert cleared.status_code == 200 and cleared.json_body["focus"] is None


def test_a_focus_is_kept_to_six_decimals_whatever_was_sent(client, photo):
    sent = {"x": 0.817121052763315, "y": 3.0701206685973876e-145}  # DynamoDB refuses 1e-145
    got = client.http.patch(f"/images/{photo['image_id']}", headers=JSON, body=json.dumps({"focus": sent}))
    assert got.status_code == 200 and got.json_body["focus"] == {"x": 0.817121, "y": 0.0}


@pytest.mark.parametrize("focus", [{"x": 1.5, "y": 0}, {"x": 0.5}, {"x": "0.5", "y": 0}, {"x": True, "y": 0},
                                   [0.5, 0.5], {"x": 0.1, "y": 0.1, "z": 0}])
def test_a_bad_focus_is_a_400(client, photo, focus):
    got = client.http.patch(f"/images/{photo['image_id']}", headers=JSON, body=json.dumps({"focus": focus}))
    assert got.status_code == 400 and "focus" in got.json_body["error"]


def test_the_file_redirect_has_no_json_type_and_answers_head(client, photo):
    for method in ("GET", "HEAD"):
        got = client.http.request(method, f"/images/{photo['image_id']}/file?variant=thumb")
        assert got.status_code == 302, method
        assert got.headers["Content-Type"].startswith("text/plain") and got.body == b""
        assert "/processed/" in got.headers["Location"]


def test_the_renderer_removes_what_it_stored_if_the_image_was_deleted_meanwhile(client, photo, s3, monkeypatch):
    store = ImageStore(config.load().table)
    record = store.get(photo["image_id"])
    real_serve = service.Renditions.serve

    def delete_during_render(self, *args, **kwargs):
        if self.render is not None:
            inner = self.render

            def render_then_delete(*a):
                made = inner(*a)
                # The delete comes from elsewhere (another request): its own thread, not the renderer.
                other = threading.Thread(target=lambda: store.mark_deleting(store.get(photo["image_id"])))
                other.start()
                other.join()
                return made

            self.render = render_then_delete
        return real_serve(self, *args, **kwargs)

    monkeypatch.setattr(service.Renditions, "serve", delete_during_render)
    url = links.path_for(record, Options(200), config.load())
    assert client.http.get(url, headers={"Accept": PLAIN}).status_code == 404
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=f"processed/{photo['image_id']}/r/")["KeyCount"] == 0


def test_a_lossless_rendition_is_made_from_the_original(client, photo, counted, s3):
    url = client.http.get(f"/images/{photo['image_id']}/url?width=200&format=png").json_body["url"]
    got = client.http.get(_path(url), headers={"Accept": "*/*"})
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(got.body)).size == (200, 133)
    assert counted == [Options(200, format="png")]


def test_a_deployed_stage_signs_and_verifies_with_the_keys_in_secrets_manager(aws, monkeypatch, tmp_path):
    import boto3

    from chalicelib.adapters import secrets

    keys_json = json.dumps({"current": "k7", "k7": "a secret of the stage's own"})
    arn = boto3.client("secretsmanager").create_secret(Name="imgstore-dev-delivery-keys", SecretString=keys_json)["ARN"]
    secrets.reset()
    with client_for(load_app(monkeypatch, "none"), tmp_path, DELIVERY_KEYS_ARN=arn) as api:
        image = upload(api, corpus.save(corpus.quarters((600, 400)), "PNG"))
        src = image["delivery"]["src"]
        assert "/k7.0." in src
        served = api.http.get(_path(src), headers={"Accept": PLAIN})
        forged = api.http.get(_path(src.replace("/k7.0.", "/local.0.")), headers={"Accept": PLAIN})
        # The renderer behind CloudFront reads the keys itself (a process of its own: nothing cached).
        secrets.reset()
        other = image["delivery"]["srcset"].split(",")[0].split(" ")[0]
        event = {"rawPath": "/processed/x", "headers": {"x-imgstore-path": _path(other), "x-imgstore-client": "webp"},
                 "requestContext": {"http": {"method": "GET"}}}
        rendered = api.lambda_.invoke("renderer", event).payload
    secrets.reset()
    assert rendered["statusCode"] == 200 and rendered["headers"]["Content-Type"] == "image/webp"
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert forged.status_code == 403
