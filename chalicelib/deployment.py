"""Deploy-time settings: what Chalice needs when it loads app.py, before any
request or event exists (the S3 trigger's bucket, which authorizer guards the
routes). Everything read per call lives in `config`.

`chalice deploy`, `chalice package` and `chalice local` set the stage's
environment variables before loading app.py. Other importers (the test
client, tools) have none; for them the dev stage's bucket is the stated
default. A Lambda function never falls back: a deployed handler bound to the
wrong bucket would be silent.
"""

from __future__ import annotations

import os

from . import config

# The dev stage's bucket (.chalice/config.json), for importers with no stage environment.
UNDEPLOYED_BUCKET = "imgstore-dev-images"


def trigger_bucket() -> str:
    """The bucket the S3 handlers subscribe to: IMAGES_BUCKET, else (off Lambda only)
    UNDEPLOYED_BUCKET. Handlers themselves use config.load().bucket."""
    bucket = os.environ.get("IMAGES_BUCKET")
    if bucket:
        return bucket
    if config.on_lambda(os.environ):
        raise RuntimeError("IMAGES_BUCKET is not set: the S3 handlers would subscribe to no bucket of this stage")
    return UNDEPLOYED_BUCKET


def auth_mode() -> str:
    """The AUTH_MODE the routes are wired for: which authorizer guards a route is fixed at deploy."""
    return config.auth_mode(os.environ.get("AUTH_MODE"))


def user_pool_arn() -> str:
    """The Cognito user pool behind AUTH_MODE=cognito."""
    arn = os.environ.get("USER_POOL_ARN", "")
    if not arn:
        raise RuntimeError("AUTH_MODE=cognito needs USER_POOL_ARN (make deploy writes it)")
    return arn


def table_stream_arn() -> str:
    """The table's stream the events consumer reads: TABLE_STREAM_ARN (make deploy
    writes it from the stack), else (off Lambda only) a stand-in for the dev stage's."""
    arn = os.environ.get("TABLE_STREAM_ARN")
    if arn:
        return arn
    if config.on_lambda(os.environ):
        raise RuntimeError("TABLE_STREAM_ARN is not set: the events consumer would read no stream")
    table = os.environ.get("IMAGES_TABLE", "imgstore-dev-images")
    return f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/undeployed"


def webhook_queue_name() -> str:
    """The queue the webhook sender reads, by name (Chalice subscribes by name):
    WEBHOOK_QUEUE's (a name or a URL), else the one config derives from the table."""
    queue = os.environ.get("WEBHOOK_QUEUE")
    if queue:
        return queue.rstrip("/").rsplit("/", 1)[-1]
    return f"{os.environ.get('IMAGES_TABLE', 'imgstore-dev-images').removesuffix('-images')}-webhooks"
