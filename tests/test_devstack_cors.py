"""The local stack's S3 answers browsers as S3 does: the bucket's CORS rules on
every answer from an allowed origin, the presigned POST's 204 included, with
Vary; nothing for an origin no rule allows. Over real HTTP."""

from __future__ import annotations

import boto3
import pytest
import requests
from botocore.config import Config

from devstack.server import MotoServer

APP = "http://app.example:8000"
OTHER = "http://evil.example"


@pytest.fixture(scope="module")
def moto_url():
    running = MotoServer("127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{running.port}"
    running.stop()


@pytest.fixture(scope="module")
def s3(moto_url):
    client = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4"),
    )
    client.create_bucket(Bucket="with-cors")
    client.put_bucket_cors(
        Bucket="with-cors",
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [APP, "https://*.example.org"],
                    "AllowedMethods": ["GET", "HEAD", "PUT", "POST"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 3000,
                }
            ]
        },
    )
    client.create_bucket(Bucket="without-cors")
    return client


def post(s3, bucket: str, key: str, origin: str | None):
    form = s3.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": "image/jpeg"},
        Conditions=[{"Content-Type": "image/jpeg"}],
        ExpiresIn=60,
    )
    headers = {"Origin": origin} if origin else {}
    return requests.post(
        form["url"], data=form["fields"], files={"file": ("a.jpg", b"\xff\xd8\xff data")}, headers=headers, timeout=30
    )


def test_the_presigned_post_answer_carries_the_rules_headers(s3):
    reply = post(s3, "with-cors", "uploads/a.jpg", APP)
    assert reply.status_code == 204
    assert reply.headers["Access-Control-Allow-Origin"] == APP
    assert reply.headers["Access-Control-Expose-Headers"] == "ETag"
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"
    assert reply.headers["Vary"] == "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
    assert s3.get_object(Bucket="with-cors", Key="uploads/a.jpg")["Body"].read() == b"\xff\xd8\xff data"


def test_a_disallowed_origin_gets_no_allow_origin_though_the_object_lands(s3):
    reply = post(s3, "with-cors", "uploads/b.jpg", OTHER)
    assert reply.status_code == 204  # S3 stores it too: only the browser hides the answer
    assert "Access-Control-Allow-Origin" not in reply.headers
    assert reply.headers["Vary"].startswith("Origin")


def test_get_put_and_head_follow_the_rules_with_wildcard_origins(s3):
    s3.put_object(Bucket="with-cors", Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "with-cors", "Key": "k"})
    for origin, allowed in [(APP, True), ("https://cdn.example.org", True), (OTHER, False), (None, False)]:
        reply = requests.get(url, headers={"Origin": origin} if origin else {}, timeout=30)
        assert reply.status_code == 200 and reply.content == b"x"
        assert reply.headers.get("Access-Control-Allow-Origin") == (origin if allowed else None), origin
        assert "Origin" in reply.headers["Vary"]
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "with-cors", "Key": "p"})
    assert (
        requests.put(put, data=b"y", headers={"Origin": APP}, timeout=30).headers["Access-Control-Allow-Origin"] == APP
    )


def test_a_method_no_rule_allows_gets_no_headers(s3):
    s3.put_object(Bucket="with-cors", Key="d", Body=b"x")
    url = s3.generate_presigned_url("delete_object", Params={"Bucket": "with-cors", "Key": "d"})
    reply = requests.delete(url, headers={"Origin": APP}, timeout=30)
    assert reply.status_code == 204 and "Access-Control-Allow-Origin" not in reply.headers


def test_preflights_allow_the_rules_origins_only(s3, moto_url):
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = requests.options(f"{moto_url}/with-cors/", headers={"Origin": APP, **ask}, timeout=30)
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == APP
    assert "Origin" in allowed.headers["Vary"]
    refused = requests.options(f"{moto_url}/with-cors/", headers={"Origin": OTHER, **ask}, timeout=30)
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers


def test_a_bucket_without_rules_allows_no_origin(s3):
    reply = post(s3, "without-cors", "uploads/c.jpg", APP)
    assert reply.status_code == 204 and "Access-Control-Allow-Origin" not in reply.headers
    assert "Vary" not in reply.headers


def test_other_services_are_left_alone(moto_url):
    reply = requests.post(
        moto_url,
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Origin": APP,
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=x",
        },
        data="{}",
        timeout=30,
    )
    assert reply.status_code == 200 and "Vary" not in reply.headers
