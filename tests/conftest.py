"""Shared fixtures: moto in-process, the dev stage's resources, the Chalice test client."""
from __future__ import annotations

import io
import sys
from pathlib import Path
from urllib.parse import quote_plus

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bootstrap import bootstrap, stage_environment  # noqa: E402

ENV = stage_environment("dev")
BUCKET = ENV["IMAGES_BUCKET"]
TABLE = ENV["IMAGES_TABLE"]


@pytest.fixture(autouse=True)
def _offline_credentials(monkeypatch):
    """Never reach a real account, whatever the developer's shell holds."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def aws(monkeypatch):
    """moto with the dev stage's bucket and table, and the stage's variables set."""
    from moto import mock_aws

    from chalicelib.adapters import aws as clients
    from devstack import moto_streams

    moto_streams.install()  # the table's stream makes every transaction's rollback copy slow otherwise

    with mock_aws():
        clients.reset()
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        bootstrap(ENV)
        yield
        clients.reset()


@pytest.fixture
def s3(aws):
    import boto3

    return boto3.client("s3")


@pytest.fixture
def ddb(aws):
    import boto3

    return boto3.client("dynamodb")


@pytest.fixture
def client(aws):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="dev", project_dir=str(ROOT)) as c:
        yield c


def s3_event(client, key: str, event: str = "ObjectCreated:Put", bucket: str = BUCKET) -> dict:
    """The event S3 would send: the key URL-encoded the way S3 encodes it."""
    return client.events.generate_s3_event(bucket=bucket, key=quote_plus(key, safe="/"), event_name=event)


def deliver(client, key: str, event: str = "ObjectCreated:Put") -> None:
    handler = "on_upload" if event.startswith("ObjectCreated") else "on_delete"
    client.lambda_.invoke(handler, s3_event(client, key, event))


# -- images ------------------------------------------------------------------

def image_bytes(fmt: str = "JPEG", size=(64, 48), mode: str = "RGB", color=(200, 30, 30), **save) -> bytes:
    from PIL import Image

    image = Image.new(mode, size, color)
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


@pytest.fixture
def jpeg() -> bytes:
    return image_bytes("JPEG", (640, 480))


@pytest.fixture
def png_alpha() -> bytes:
    return image_bytes("PNG", (300, 200), "RGBA", (0, 128, 255, 100))
