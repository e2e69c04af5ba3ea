"""The examples `make run` prints (and docs/local-stack.md shows) work as printed."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from chalicelib.domain.keys import image_id_for_object
from devstack import guide

pytestmark = pytest.mark.slow


def run_examples(stack, needs: str) -> str:
    script = "\n".join(c for e in guide.examples(stack.api_url, stack.aws_url, stack.bucket, stack.table,
                                                  stack.region) if e.needs == needs for c in e.commands)
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=guide.ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, f"{script}\n---\n{run.stdout}\n{run.stderr}"
    return run.stdout


def test_the_curl_examples_upload_list_and_fetch(stack, api):
    assert shutil.which("curl"), "the examples use curl"
    Path("/tmp/thumb.jpg").unlink(missing_ok=True)
    out = run_examples(stack, "curl")
    answers = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert "200" in out.splitlines()  # the presigned PUT's status
    assert answers[0]["status"] == "ready" and answers[0]["owner"] == "alice"  # GET /images/$ID, once ready
    assert answers[1]["filename"] == "b64.jpg" and answers[1]["status"] == "pending"      # base64 upload
    listed = answers[2]  # the tag=demo list: the raw upload and the presigned PUT
    assert {i["filename"] for i in listed["images"]} <= {"sample.jpg", "put.jpg"}
    alice = api("GET", "/images", params={"user_id": "alice"}).json()["images"]
    assert sorted(i["filename"] for i in alice) == ["b64.jpg", "put.jpg", "sample.jpg"]
    settled = api.wait_for(i["image_id"] for i in alice)
    assert {r["status"] for r in settled.values()} == {"ready"}
    with Image.open("/tmp/thumb.jpg") as thumb:
        assert max(thumb.size) <= 256


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed (pip install awscli)")
def test_the_aws_cli_examples_put_into_the_bucket(stack, api):
    out = run_examples(stack, "aws")
    assert "uploads/alice/my photo.jpg" in out
    image_id = image_id_for_object(stack.bucket, "uploads/alice/my photo.jpg")
    record = api.wait_for([image_id])[image_id]
    assert record["status"] == "ready" and record["filename"] == "my photo.jpg" and record["source"] == "s3"
