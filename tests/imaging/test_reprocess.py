"""Reprocessing: POST /images/{id}/reprocess hands the work to the upload handler (the API
never renders), `make reprocess` does it for many, and stale variants go."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chalicelib import bootstrap
from chalicelib.domain import keys
from tests.conftest import BUCKET, ROOT, deliver

from . import corpus

NEW_PRESETS = json.dumps([{"name": "thumb", "box": 128, "format": "webp"}, {"name": "small", "box": 64}])


def _ready_image(client, s3, name="camera.jpg", data=None) -> tuple[str, str]:
    key = f"uploads/alice/{name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=data or corpus.camera_jpeg(), ContentType="image/jpeg")
    deliver(client, key)
    image_id = keys.image_id_for_object(BUCKET, key)
    assert client.http.get(f"/images/{image_id}").json_body["status"] == "ready"
    return image_id, key


def _variant_keys(s3, image_id: str) -> set[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=keys.variant_prefix(image_id))
    return {o["Key"].rsplit("/", 1)[1] for o in listed.get("Contents", [])}


def test_the_route_has_the_handler_render_the_new_presets_and_drop_the_old(client, s3, monkeypatch):
    image_id, key = _ready_image(client, s3)
    assert _variant_keys(s3, image_id) == {"thumb.jpg", "medium.jpg", "large.jpg"}
    monkeypatch.setenv("VARIANT_PRESETS", NEW_PRESETS)

    reply = client.http.post(f"/images/{image_id}/reprocess")
    assert reply.status_code == 202
    assert reply.json_body["image"]["image_id"] == image_id
    # The request only copied the original onto itself: same bytes, same type.
    original = s3.get_object(Bucket=BUCKET, Key=key)
    assert original["Body"].read() == corpus.camera_jpeg()
    assert original["ContentType"] == "image/jpeg"
    assert "imgstore-copied-at" in original["Metadata"]
    assert _variant_keys(s3, image_id) == {"thumb.jpg", "medium.jpg", "large.jpg"}  # nothing rendered yet

    deliver(client, key, "ObjectCreated:Copy")  # what S3 sends for that copy
    image = client.http.get(f"/images/{image_id}").json_body
    assert {n: (v["width"], v["content_type"]) for n, v in image["variants"].items()} == {
        "thumb": (128, "image/webp"), "small": (64, "image/jpeg")}
    assert _variant_keys(s3, image_id) == {"thumb.webp", "small.jpg"}
    assert image["camera_make"] == "Acme"  # the details are made again too


def test_an_event_for_unchanged_bytes_renders_again_only_when_the_presets_changed(client, s3, monkeypatch):
    image_id, key = _ready_image(client, s3)
    processor = bootstrap.s3_events
    assert processor().ingest(BUCKET, key) == "unchanged"  # S3 delivering the event twice
    monkeypatch.setenv("VARIANT_PRESETS", NEW_PRESETS)
    assert processor().ingest(BUCKET, key) == "ready"
    assert processor().ingest(BUCKET, key) == "unchanged"
    assert _variant_keys(s3, image_id) == {"thumb.webp", "small.jpg"}


def test_reprocessing_a_rejected_or_unknown_image_says_why(client, s3):
    s3.put_object(Bucket=BUCKET, Key="uploads/alice/text.jpg", Body=corpus.TEXT)
    deliver(client, "uploads/alice/text.jpg")
    rejected = keys.image_id_for_object(BUCKET, "uploads/alice/text.jpg")
    reply = client.http.post(f"/images/{rejected}/reprocess")
    assert reply.status_code == 409 and "rejected" in reply.json_body["error"]
    for unknown in ("0" * 32, "not-an-id"):
        reply = client.http.post(f"/images/{unknown}/reprocess")
        assert reply.status_code == 404 and "error" in reply.json_body


def test_the_script_renders_every_matching_image_here(client, s3, monkeypatch):
    from scripts import reprocess

    first, _ = _ready_image(client, s3, "a.jpg")
    second, _ = _ready_image(client, s3, "b.png", corpus.rgba_png())
    client.http.patch(f"/images/{second}", headers={"Content-Type": "application/json"},
                      body=json.dumps({"tags": ["keep"]}))
    monkeypatch.setenv("VARIANT_PRESETS", NEW_PRESETS)

    assert reprocess.main(["--stage", "dev", "--here", "--tag", "keep"]) == {"ready": 1}
    assert _variant_keys(s3, second) == {"thumb.webp", "small.webp"}
    assert _variant_keys(s3, first) == {"thumb.jpg", "medium.jpg", "large.jpg"}  # filtered out

    # Without a filter: every ready image, rendered again even when already current.
    assert reprocess.main(["--stage", "dev", "--here"]) == {"ready": 2}
    assert _variant_keys(s3, first) == {"thumb.webp", "small.jpg"}


def test_the_script_can_hand_the_work_to_the_handler(client, s3, monkeypatch):
    from scripts import reprocess

    image_id, key = _ready_image(client, s3)
    monkeypatch.setenv("VARIANT_PRESETS", NEW_PRESETS)
    assert reprocess.main(["--stage", "dev", "--owner", "alice"]) == {"requested": 1}
    assert "imgstore-copied-at" in s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]
    deliver(client, key, "ObjectCreated:Copy")
    assert _variant_keys(s3, image_id) == {"thumb.webp", "small.jpg"}


def test_the_api_never_loads_pillow():
    # Cold starts: the API function imports app.py and runs the API use-cases only.
    code = ("import sys; import app; from chalicelib.usecases import api; from chalicelib.edge import http, validation; "
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PIL', 'pillow_heif', 'blurhash')); "
            "print(loaded); sys.exit(1 if loaded else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("presets, problem", [
    ('[{"name": "thumb", "box": 256, "format": "gif"}]', "format must be one of"),
    ('[{"name": "thumb", "box": 0}]', "box must be an integer"),
    ('[{"name": "thumb", "box": 256, "quality": 101}]', "quality must be an integer"),
    ('[{"name": "../x", "box": 256}]', "letters, digits"),
    ('[{"name": "a", "box": 1}, {"name": "a", "box": 2}]', "unique names"),
])
def test_presets_in_configuration_are_checked(presets, problem):
    from chalicelib import config

    with pytest.raises(RuntimeError, match=problem):
        config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t", "VARIANT_PRESETS": presets})


def test_the_presets_fingerprint_follows_what_the_presets_make():
    from chalicelib import config

    env = {"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"}
    default = config.load(env).presets_fingerprint
    assert config.load({**env, "MAX_PIXELS": "1000"}).presets_fingerprint == default
    assert config.load({**env, "VARIANT_PRESETS": NEW_PRESETS}).presets_fingerprint != default


def test_with_auth_on_only_the_owner_or_an_admin_may_reprocess(aws, s3, monkeypatch, tmp_path):
    from chalicelib import auth
    from tests.apps import TOKEN_SECRET, bearer, client, json_upload, load_app, with_headers

    monkeypatch.setenv("AUTH_TOKEN_SECRET", TOKEN_SECRET)
    auth.reset()
    with client(load_app(monkeypatch, "token"), tmp_path, AUTH_TOKEN_SECRET=TOKEN_SECRET) as api:
        created = api.http.post("/images", **with_headers(json_upload(corpus.camera_jpeg()), bearer("alice")))
        image = created.json_body
        deliver(api, image["original_key"])
        path = f"/images/{image['image_id']}/reprocess"
        assert api.http.post(path).status_code == 401
        assert api.http.post(path, headers=bearer("bob")).status_code == 404  # as if it did not exist
        assert api.http.post(path, headers=bearer("alice")).status_code == 202
        assert api.http.post(path, headers=bearer("root", admin=True)).status_code == 202
    auth.reset()
