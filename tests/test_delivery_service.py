"""Serving renditions in-process on moto (chalicelib/delivery/service.py): rendered once and
stored under processed/{id}/, served from the stored object afterwards with no render,
403 for any bad signature, 404 once deleted or for another version, Vary, redirects past
the size line, limits, expiry and key rotation."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from chalicelib import config
from chalicelib.adapters.blobs import BlobStore
from chalicelib.adapters.store import ImageStore
from chalicelib.delivery import links, service, signing
from chalicelib.delivery.options import Options
from chalicelib.delivery.signing import BadSignature
from chalicelib.domain import keys
from chalicelib.domain.errors import NotFound, Unprocessable

from .conftest import BUCKET, deliver
from .imaging import corpus

CHROMIUM = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI_15 = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
PLAIN = "image/png,image/*;q=0.8,*/*;q=0.5"


def upload(client, data: bytes, owner: str = "alice") -> dict:
    body = {"image_data": base64.b64encode(data).decode(), "user_id": owner, "filename": "p.png"}
    made = client.http.post("/images", headers={"Content-Type": "application/json"}, body=json.dumps(body))
    assert made.status_code == 201, made.body
    deliver(client, made.json_body["original_key"])
    return client.http.get(f"/images/{made.json_body['image_id']}").json_body


def renditions() -> service.Renditions:
    settings = config.load()
    blobs = BlobStore(settings.bucket)
    return service.Renditions(settings, ImageStore(settings.table), blobs,
                              render=service.render_in_process(settings, blobs))


def path(image: dict, opts: Options, now=None) -> str:
    record = ImageStore(config.load().table).get(image["image_id"])
    return links.path_for(record, opts, config.load(), now)


@pytest.fixture
def photo(client):
    return upload(client, corpus.save(corpus.quarters((1600, 1000)), "PNG"))


def test_rendered_once_then_served_from_the_stored_object(photo, s3):
    first, again = renditions(), renditions()
    url = path(photo, Options(400))
    made = first.serve(url, CHROMIUM)
    assert made.status == 200 and first.renders == 1
    assert made.headers["Content-Type"] == "image/avif" and Image.open(io.BytesIO(made.body)).size == (400, 250)
    stored = keys.rendition_key(photo["image_id"], photo_version(photo), "w400-inside-auto", "avif")
    assert s3.get_object(Bucket=BUCKET, Key=stored)["Body"].read() == made.body
    hit = again.serve(url, CHROMIUM)
    assert again.renders == 0 and hit.body == made.body and hit.headers == made.headers


def photo_version(image: dict) -> int:
    return ImageStore(config.load().table).get(image["image_id"]).version


@pytest.mark.parametrize(("accept", "content_type"), [(CHROMIUM, "image/avif"), (SAFARI_15, "image/webp"),
                                                      (PLAIN, "image/jpeg"), (None, "image/jpeg")])
def test_auto_serves_what_the_accept_header_reads_and_varies_on_it(photo, accept, content_type):
    made = renditions().serve(path(photo, Options(320)), accept)
    assert made.headers["Content-Type"] == content_type
    assert made.headers["Vary"] == "Accept"
    assert made.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Image.MIME[Image.open(io.BytesIO(made.body)).format] == content_type


def test_an_asked_format_does_not_vary(photo):
    made = renditions().serve(path(photo, Options(320, format="webp")), CHROMIUM)
    assert made.headers["Content-Type"] == "image/webp" and "Vary" not in made.headers


def test_each_outcome_is_stored_once(photo, s3):
    serving = renditions()
    for accept in (CHROMIUM, CHROMIUM, SAFARI_15, "image/webp", PLAIN, "*/*"):
        serving.serve(path(photo, Options(200)), accept)
    assert serving.renders == 3  # avif, webp, basic
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"processed/{photo['image_id']}/r/")["Contents"]
    assert sorted(o["Key"].rsplit("/", 1)[1] for o in listed) == ["avif", "basic", "webp"]


@pytest.mark.parametrize("tamper", ["w400", "inside", "version", "image", "key", "signature", "expiry"])
def test_a_bad_signature_is_403_and_stores_nothing(photo, s3, tamper):
    good = path(photo, Options(400))
    renditions().serve(good, PLAIN)  # stored: a tampered path must not reach it either
    version = photo_version(photo)
    bad = {
        "w400": good.replace("w400", "w401"),
        "inside": good.replace("inside", "cover"),
        "version": good.replace(f"/{version}/", f"/{version + 1}/"),
        "image": good.replace(photo["image_id"], "0" * 32),
        "key": good.replace("/local.", "/other."),
        "signature": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "expiry": good.replace("/local.0.", "/local.9999999999."),
    }[tamper]
    before = s3.list_objects_v2(Bucket=BUCKET, Prefix="processed/")["KeyCount"]
    serving = renditions()
    with pytest.raises(BadSignature):
        serving.serve(bad, PLAIN)
    assert serving.renders == 0 and s3.list_objects_v2(Bucket=BUCKET, Prefix="processed/")["KeyCount"] == before


def test_every_rendition_is_404_after_delete(client, photo):
    urls = [path(photo, Options(w)) for w in (200, 300)]
    renditions().serve(urls[0], PLAIN)  # one stored, one never rendered
    assert client.http.delete(f"/images/{photo['image_id']}").status_code == 200
    for url in urls:
        serving = renditions()
        with pytest.raises(NotFound):
            serving.serve(url, PLAIN)
        assert serving.renders == 0


def test_a_new_version_gets_new_urls_and_an_old_unrendered_one_is_404(client, photo):
    stored_old = path(photo, Options(200))
    renditions().serve(stored_old, PLAIN)
    never_rendered_old = path(photo, Options(300))
    changed = client.http.patch(f"/images/{photo['image_id']}", headers={"Content-Type": "application/json"},
                                body=json.dumps({"title": "new"}))
    assert changed.status_code == 200
    new = path(photo, Options(300))
    assert new != never_rendered_old
    assert renditions().serve(new, PLAIN).status == 200
    assert renditions().serve(stored_old, PLAIN).status == 200  # its own version's pixels, as stored
    with pytest.raises(NotFound, match="version"):
        renditions().serve(never_rendered_old, PLAIN)


def test_past_the_size_line_a_redirect_to_the_stored_object(photo, s3, monkeypatch):
    monkeypatch.setattr(service, "INLINE_LIMIT", 1000)
    url = path(photo, Options(800, format="png"))
    for attempt in range(2):  # the miss that renders, then the hit
        made = renditions().serve(url, PLAIN)
        assert made.status == 302 and made.body == b""
        assert made.headers["Cache-Control"] == "private, no-store" and "Content-Type" not in made.headers
        assert f"/processed/{photo['image_id']}/r/" in made.headers["Location"]
    behind_cdn = renditions().serve(url, PLAIN, redirect_to_self=True)
    assert behind_cdn.status == 302 and behind_cdn.headers["Location"] == url


def test_a_source_over_the_pixel_limit_is_unprocessable(photo, monkeypatch):
    monkeypatch.setenv("MAX_PIXELS", "1000000")  # 1600x1000 is 1.6 MP
    serving = renditions()
    with pytest.raises(Unprocessable, match="the limit is 1000000 pixels"):
        serving.serve(path(photo, Options(1500, format="png")), PLAIN)  # png: from the original


def test_an_expiring_url_says_how_long_to_cache_and_stops_at_its_expiry(photo, monkeypatch):
    monkeypatch.setenv("DELIVERY_URL_TTL", "3600")
    now = 1_800_000_000.0
    url = path(photo, Options(200), now=now)
    made = renditions().serve(url, PLAIN, now=now)
    expires = signing.expiry(now, config.load().url_window, 3600)
    assert made.headers["Cache-Control"] == f"public, max-age={expires - int(now)}"
    with pytest.raises(BadSignature, match="expired"):
        renditions().serve(url, PLAIN, now=expires)


def test_rotation_old_urls_keep_working_while_both_keys_are_valid(photo, monkeypatch):
    monkeypatch.setenv("DELIVERY_KEYS", json.dumps({"current": "k1", "k1": "one"}))
    old = path(photo, Options(200))
    monkeypatch.setenv("DELIVERY_KEYS", json.dumps({"current": "k2", "k1": "one", "k2": "two"}))
    new = path(photo, Options(200))
    assert "/k1." in old and "/k2." in new
    assert renditions().serve(old, PLAIN).status == renditions().serve(new, PLAIN).status == 200
    monkeypatch.setenv("DELIVERY_KEYS", json.dumps({"current": "k2", "k2": "two"}))
    with pytest.raises(BadSignature):
        renditions().serve(old, PLAIN)


def test_an_animation_is_served_animated(client):
    gif = upload(client, corpus.animated_gif())
    for accept, fmt in [(CHROMIUM, "WEBP"), (PLAIN, "GIF")]:
        image = Image.open(io.BytesIO(renditions().serve(path(gif, Options(30)), accept).body))
        assert image.format == fmt and image.n_frames == 3


def test_the_focal_point_is_kept_in_a_cover_crop(client):
    stripes = Image.new("RGB", (1000, 200), (255, 255, 255))
    stripes.paste(corpus.RED, (0, 0, 200, 200))
    image = upload(client, corpus.save(stripes, "PNG"))
    store = ImageStore(config.load().table)
    record = store.get(image["image_id"])
    centred = renditions().serve(path(image, Options(100, 100, "cover", "png")), PLAIN)
    assert Image.open(io.BytesIO(centred.body)).convert("RGB").getpixel((50, 50)) == (255, 255, 255)
    store.save(record.touch(focus={"x": 0.05, "y": 0.5}), record)
    focused = renditions().serve(path(image, Options(100, 100, "cover", "png")), PLAIN)
    assert Image.open(io.BytesIO(focused.body)).convert("RGB").getpixel((50, 50)) == corpus.RED
