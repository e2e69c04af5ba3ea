"""The two secrets (issue 10): the pagination signing key and the token secret.

A deployed stage signs page tokens with a random secret from Secrets Manager
and refuses to run without one; both secrets are cached for at most
SECRETS_MAX_AGE seconds, so a rotation takes effect, and the old secret stops
working, within that time. The clock here is powertools' cache clock, moved
by hand: nothing waits.
"""
from __future__ import annotations

import datetime as real_datetime

import pytest

from chalicelib import auth, config
from chalicelib.adapters import secrets
from chalicelib.usecases import pagination
from tests.apps import bearer, client, json_upload, load_app, with_headers

ENV = {"IMAGES_BUCKET": "b", "IMAGES_TABLE": "imgstore-prod-images"}
MAX_AGE = 300


class Clock:
    """Stands in for `datetime` in powertools' parameter cache."""

    now_value = real_datetime.datetime(2026, 11, 29, 12, 0, 0)

    @classmethod
    def now(cls, tz=None):
        return cls.now_value

    @classmethod
    def advance(cls, seconds: float) -> None:
        cls.now_value += real_datetime.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    from aws_lambda_powertools.utilities.parameters import base

    monkeypatch.setattr(base, "datetime", Clock)
    secrets.reset()
    yield Clock
    secrets.reset()


@pytest.fixture
def sm(aws):
    import boto3

    return boto3.client("secretsmanager")


# -- the signing secret ------------------------------------------------------------------

def test_a_deployed_stage_refuses_to_run_without_a_signing_secret():
    with pytest.raises(RuntimeError, match="SIGNING_SECRET_ARN is not set.*make deploy"):
        config.load({**ENV, "AWS_LAMBDA_FUNCTION_NAME": "imgstore-prod"})
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:imgstore-prod-signing-AbCdEf"
    deployed = config.load({**ENV, "AWS_LAMBDA_FUNCTION_NAME": "imgstore-prod", "SIGNING_SECRET_ARN": arn})
    assert deployed.signing_secret is None and deployed.signing_secret_arn == arn


def test_only_a_local_stage_falls_back_to_the_derived_key():
    assert config.load(ENV).signing_secret == "imgstore-local:imgstore-prod-images"
    assert config.load({**ENV, "SIGNING_SECRET": "given"}).signing_secret == "given"


def test_a_deployed_api_without_the_secret_answers_500_and_says_why_in_its_log(aws, monkeypatch, tmp_path, capsys):
    app = load_app(monkeypatch, "none")
    with client(app, tmp_path, AWS_LAMBDA_FUNCTION_NAME="imgstore-dev") as c:
        reply = c.http.get("/images")
    assert reply.status_code == 500, reply.body
    assert reply.json_body["error"] == "internal server error", reply.body
    assert "RuntimeError: SIGNING_SECRET_ARN is not set" in capsys.readouterr().out  # Chalice's error log


def _pages(c, query="?user_id=alice&limit=1"):
    reply = c.http.get(f"/images{query}")
    assert reply.status_code == 200, reply.json_body
    return reply.json_body


ALICE = pagination.scope("alice", None, None)


def test_page_tokens_are_signed_with_the_stored_secret_and_a_derived_one_is_refused(sm, monkeypatch, tmp_path, jpeg):
    arn = sm.create_secret(Name="imgstore-dev-signing", SecretString="r4nd0m-" + "k" * 57)["ARN"]
    secrets.reset()
    app = load_app(monkeypatch, "none")
    with client(app, tmp_path, SIGNING_SECRET_ARN=arn) as c:
        for _ in range(3):
            assert c.http.post("/images", **json_upload(jpeg, user_id="alice")).status_code == 201
        token = _pages(c)["next_token"]
        assert _pages(c, f"?user_id=alice&limit=1&next_token={token}")["count"] == 1
        # The attack from the issue: re-sign the payload with the key anyone can derive.
        payload = pagination.decode(token, ALICE, "r4nd0m-" + "k" * 57)
        forged = pagination.encode(payload, ALICE, "imgstore-local:imgstore-dev-images")
        assert c.http.get(f"/images?user_id=alice&limit=1&next_token={forged}").status_code == 400


def test_a_rotated_signing_secret_takes_effect_after_the_max_age(sm, clock, monkeypatch, tmp_path, jpeg):
    arn = sm.create_secret(Name="imgstore-dev-signing", SecretString="old-" + "o" * 60)["ARN"]
    app = load_app(monkeypatch, "none")
    with client(app, tmp_path, SIGNING_SECRET_ARN=arn, SECRETS_MAX_AGE=str(MAX_AGE)) as c:
        for _ in range(3):
            c.http.post("/images", **json_upload(jpeg, user_id="alice"))
        old_token = _pages(c)["next_token"]
        sm.put_secret_value(SecretId=arn, SecretString="new-" + "n" * 60)
        clock.advance(MAX_AGE - 1)
        assert _pages(c, f"?user_id=alice&limit=1&next_token={old_token}")["count"] == 1  # cached: still the old key
        clock.advance(2)
        stale = c.http.get(f"/images?user_id=alice&limit=1&next_token={old_token}")
        assert stale.status_code == 400 and "next_token" in stale.json_body["error"]
        new_token = _pages(c)["next_token"]
        assert pagination.decode(new_token, ALICE, "new-" + "n" * 60)


def test_a_secret_read_still_throttled_after_the_sdks_retries_answers_503_and_is_not_cached(sm, monkeypatch, tmp_path):
    from botocore.exceptions import ClientError

    from chalicelib.adapters import aws
    from chalicelib.edge.http import UNAVAILABLE

    arn = sm.create_secret(Name="imgstore-dev-signing", SecretString="r4nd0m-" + "k" * 57)["ARN"]
    secrets.reset()
    app = load_app(monkeypatch, "none")

    def throttled(**_):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetSecretValue")

    with client(app, tmp_path, SIGNING_SECRET_ARN=arn) as c:
        events = aws.client("secretsmanager").meta.events
        events.register("before-call.secrets-manager.GetSecretValue", throttled, unique_id="throttled")
        reply = c.http.get("/images?user_id=alice")
        assert (reply.status_code, reply.headers["Retry-After"], reply.json_body) == (503, "1", {"error": UNAVAILABLE})
        events.unregister("before-call.secrets-manager.GetSecretValue", unique_id="throttled")
        assert c.http.get("/images?user_id=alice").status_code == 200  # the retry reads the secret afresh


# -- the token secret ----------------------------------------------------------------------

def test_a_rotated_token_secret_takes_effect_after_the_max_age_and_the_old_one_stops_working(
    sm, clock, monkeypatch, tmp_path, jpeg
):
    old, new = "old-token-secret-" + "o" * 30, "new-token-secret-" + "n" * 30
    arn = sm.create_secret(Name="imgstore-dev-auth-token", SecretString=old)["ARN"]
    app = load_app(monkeypatch, "token")
    with client(app, tmp_path, AUTH_TOKEN_SECRET_ARN=arn, SECRETS_MAX_AGE=str(MAX_AGE)) as c:
        def status(secret):
            return c.http.get("/images", headers=bearer("alice", secret=secret)).status_code

        assert (status(old), status(new)) == (200, 401)
        sm.put_secret_value(SecretId=arn, SecretString=new)
        clock.advance(MAX_AGE - 1)
        assert (status(old), status(new)) == (200, 401)  # a warm container still holds the old one
        clock.advance(2)
        assert (status(old), status(new)) == (401, 200)
        upload = c.http.post("/images", **with_headers(json_upload(jpeg), bearer("alice", secret=new)))
        assert upload.status_code == 201


def test_the_max_age_comes_from_the_configuration():
    assert config.load(ENV).secrets_max_age == 300
    assert config.load({**ENV, "SECRETS_MAX_AGE": "60"}).secrets_max_age == 60
    assert config.secrets_max_age({"SECRETS_MAX_AGE": "60"}) == 60
    with pytest.raises(RuntimeError, match="SECRETS_MAX_AGE must be positive"):
        config.load({**ENV, "SECRETS_MAX_AGE": "0"})


def test_auth_reset_forgets_the_cached_secrets(sm):
    arn = sm.create_secret(Name="s", SecretString="one")["ARN"]
    auth.reset()
    assert auth.token_secret({"AUTH_TOKEN_SECRET_ARN": arn}) == "one"
    sm.put_secret_value(SecretId=arn, SecretString="two")
    assert auth.token_secret({"AUTH_TOKEN_SECRET_ARN": arn}) == "one"
    auth.reset()
    assert auth.token_secret({"AUTH_TOKEN_SECRET_ARN": arn}) == "two"
