"""What `make run` prints once the stack is up: where things are, and examples
that work as printed (run from the repository root, in bash). The
integration tests run these very commands."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "postman/sample.jpg"  # relative to ROOT, as the examples are run from there
_JSON_FIELD = "python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])'"


@dataclass(frozen=True)
class Example:
    comment: str
    commands: tuple[str, ...]
    needs: str = "curl"  # the tool it shows off


def aws_cli_environment(aws_url: str, region: str) -> str:
    return (
        f"export AWS_ENDPOINT_URL={aws_url} AWS_ACCESS_KEY_ID=testing "
        f"AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={region}"
    )


def examples(api_url: str, aws_url: str, bucket: str, table: str, region: str) -> list[Example]:
    size = (ROOT / SAMPLE).stat().st_size
    presign = shlex.quote(
        f'{{"user_id": "alice", "filename": "put.jpg", "content_type": "image/jpeg", '
        f'"size_bytes": {size}, "method": "PUT", "tags": ["demo"]}}'
    )
    return [
        Example(
            "upload raw bytes (metadata in the query); the S3 event handler makes it ready",
            (
                f"ID=$(curl -s -X POST '{api_url}/images?user_id=alice&filename=sample.jpg&tags=demo' "
                f"-H 'Content-Type: image/jpeg' --data-binary @{SAMPLE} | {_JSON_FIELD} image_id)",
                f'until curl -s {api_url}/images/$ID | grep -q \'"status":"ready"\'; do sleep 0.5; done',
                f"curl -s -w '\\n' {api_url}/images/$ID",
            ),
        ),
        Example(
            "upload JSON with the image in base64",
            (
                f"curl -s -w '\\n' -X POST {api_url}/images -H 'Content-Type: application/json' "
                f'-d \'{{"user_id": "alice", "filename": "b64.jpg", "image_data": '
                f"\"'$(base64 < {SAMPLE} | tr -d '\\n')'\"}}'",
            ),
        ),
        Example(
            "a presigned PUT, as a browser uploads a large file",
            (
                f"URL=$(curl -s -X POST {api_url}/uploads -H 'Content-Type: application/json' -d {presign} "
                f"| {_JSON_FIELD} upload_url)",
                f"curl -s -w '%{{http_code}}\\n' -X PUT -H 'Content-Type: image/jpeg' --data-binary @{SAMPLE} \"$URL\"",
            ),
        ),
        Example(
            "list (filters: user_id, tag, status; pages: limit, next_token); fetch a variant",
            (
                f"curl -s -w '\\n' '{api_url}/images?user_id=alice&tag=demo&limit=10'",
                f"curl -sL -o /tmp/thumb.jpg '{api_url}/images/'$ID'/file?variant=thumb'",
            ),
        ),
        Example(
            "straight into the bucket with the AWS CLI (pip install awscli)",
            (
                aws_cli_environment(aws_url, region),
                f"aws s3 cp {SAMPLE} 's3://{bucket}/uploads/alice/my photo.jpg'",
                f"aws s3 ls --recursive s3://{bucket}/",
                f"aws dynamodb scan --table-name {table} --select COUNT",
            ),
            needs="aws",
        ),
    ]


def webhook_lines(api_url: str, bus: str, queue: str, schedule: str) -> list[str]:
    """How to hear about changes on this machine: the bus, and a webhook to a local receiver."""
    body = shlex.quote('{"user_id": "alice", "url": "http://127.0.0.1:9000/hook"}')
    return [
        f"  events            table stream -> bus {bus} (moto EventBridge); webhooks from queue {queue}",
        "  webhooks          register one for alice's images (the answer holds its secret, shown once):",
        f"                    curl -s -w '\\n' -X POST {api_url}/webhooks "
        f"-H 'Content-Type: application/json' -d {body}",
        "                    then receive and verify them: make webhook-listen SECRET=whsec_...",
        f"                    retries here: {schedule} (shortened for this stage; docs/events.md)",
        "",
    ]


def token_for(name: str, secret: str) -> str:
    from chalicelib.auth import issue_token

    return issue_token(name, secret, ttl_seconds=7 * 86400)


def banner(
    *,
    stage: str,
    api_url: str,
    aws_url: str,
    bucket: str,
    table: str,
    queue: str,
    region: str,
    data_note: str,
    token_secret: str | None = None,
    events: dict[str, str] | None = None,
) -> str:
    lines = [
        "",
        f"Open the web app: {api_url}/",
        "",
        f"imgstore is running (stage {stage}). Ctrl-C stops everything.",
        "",
        f"  web app           {api_url}/   (upload, browse, edit and delete images in a browser)",
        f"  API               {api_url}",
        f"  AWS endpoint      {aws_url}   (moto: S3, DynamoDB, SQS; any credentials work)",
        f"  bucket, table     {bucket}, {table}",
        f"  S3 events         queue {queue} -> the app's S3 handlers",
        f"  data              {data_note}",
        "",
    ]
    if events:
        lines += webhook_lines(api_url, **events)
    if token_secret:
        lines += [
            "  sign in           AUTH_MODE=token: paste a bearer token; alice's, valid 7 days:",
            f"                    {token_for('alice', token_secret)}",
            "",
            "Every API call needs -H 'Authorization: Bearer <token>'; the examples below leave it out.",
            "",
        ]
    lines += [
        "Try it from the repository root, in another terminal:",
    ]
    for example in examples(api_url, aws_url, bucket, table, region):
        lines += ["", f"  # {example.comment}"] + [f"  {c}" for c in example.commands]
    lines += [
        "",
        "Postman: import postman/imgstore.postman_collection.json and "
        "postman/local.postman_environment.json, or run `make postman`.",
        "",
    ]
    return "\n".join(lines)
