"""The corpus through the S3 event handler and the API (Chalice test client, moto):
the record, the variants in S3, and what the API shows."""
from __future__ import annotations

import base64
import json

import pytest

from chalicelib.domain import keys
from tests.conftest import BUCKET, deliver

from . import corpus
from .conftest import assert_no_metadata, assert_upright, opened

CASES = corpus.cases()
DEFAULT_BOXES = {"thumb": 256, "medium": 1024, "large": 2048}


@pytest.fixture(scope="module")
def dropped():
    """Every corpus file dropped into the bucket and handled once (one moto for them all,
    which keeps this module fast), with what the API and S3 then hold for each."""
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib.adapters import aws as clients
    from tests.conftest import ENV, ROOT, bootstrap

    outcome = {}
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            env.delenv(name, raising=False)
        for name, value in {**ENV, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1"}.items():
            env.setenv(name, value)
        clients.reset()
        bootstrap(ENV)
        s3 = boto3.client("s3")
        with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
            for case in CASES:
                key = f"uploads/alice/{case.name}"
                s3.put_object(Bucket=BUCKET, Key=key, Body=case.data, ContentType="image/jpeg")
                deliver(client, key)
                reply = client.http.get(f"/images/{keys.image_id_for_object(BUCKET, key)}")
                stored = {}
                for variant in (reply.json_body.get("variants") or {}).values():
                    obj = s3.get_object(Bucket=BUCKET, Key=variant["key"])
                    stored[variant["key"]] = (obj["Body"].read(), obj["ContentType"])
                original = s3.list_objects_v2(Bucket=BUCKET, Prefix=key)["KeyCount"] == 1
                outcome[case.name] = (reply.status_code, reply.json_body, stored, original)
        clients.reset()
    return outcome


def _facts(image: dict) -> str:
    """The record as JSON, lowercased, without its signed rendition URLs (base64url signatures
    spell "gps" now and then)."""
    return json.dumps({k: v for k, v in image.items() if k != "delivery"}).lower()


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_each_file_dropped_in_the_bucket_ends_as_it_should(case, dropped):
    from chalicelib.imaging import sizing

    status_code, image, stored, original_kept = dropped[case.name]
    assert status_code == 200
    assert "gps" not in _facts(image)
    if not case.accepted:
        assert image["status"] == "rejected"
        assert case.reason.lower() in image["status_reason"].lower()
        assert image["variants"] == {} and "original" not in image["urls"]
        assert not original_kept
        return
    assert image["status"] == "ready", image["status_reason"]
    assert original_kept
    assert (image["width"], image["height"]) == case.size
    assert {"has_alpha", "animated", "frames", "dominant_color", "blurhash",
            "camera_make", "camera_model", "taken_at"} <= set(image)
    assert set(image["variants"]) == set(DEFAULT_BOXES)
    for name, variant in image["variants"].items():
        data, content_type = stored[variant["key"]]
        assert content_type == variant["content_type"]
        assert variant["size_bytes"] == len(data)
        assert (variant["width"], variant["height"]) == opened(data).size == sizing.fit(*case.size, DEFAULT_BOXES[name])
        assert_no_metadata(data)
        if case.upright:
            assert_upright(data, name)


def test_an_api_upload_gets_its_camera_facts_and_placeholders(client):
    body = {"image_data": base64.b64encode(corpus.camera_jpeg()).decode(), "user_id": "alice",
            "filename": "holiday.jpg"}
    created = client.http.post("/images", headers={"Content-Type": "application/json"}, body=json.dumps(body))
    assert created.status_code == 201
    record = created.json_body
    deliver(client, record["original_key"])
    image = client.http.get(f"/images/{record['image_id']}").json_body
    assert image["status"] == "ready"
    assert (image["camera_make"], image["camera_model"]) == ("Acme", "Phone 7")
    assert image["taken_at"] == "2024-05-17T14:03:59+02:00"
    assert image["has_alpha"] is False and image["animated"] is False and image["frames"] == 1
    assert image["blurhash"] and image["dominant_color"].startswith("#")
    assert "gps" not in _facts(image)
    assert "presets_fingerprint" not in image  # internal


def test_the_original_is_never_modified(client, s3):
    key = "uploads/alice/camera.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=corpus.camera_jpeg(), ContentType="image/jpeg")
    deliver(client, key)
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == corpus.camera_jpeg()
