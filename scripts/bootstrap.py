"""Create a stage's bucket and table, idempotently, wherever boto3 points.

The bucket and table are infra/resources.yaml's, made with API calls: moto's
CloudFormation cannot deploy that template faithfully (docs/local-stack.md says
what it lacks), and tests/test_infra.py keeps the two definitions equal.

    python scripts/bootstrap.py --stage dev
    AWS_ENDPOINT_URL=http://127.0.0.1:5000 python scripts/bootstrap.py --stage local

Names come from the stage's environment variables in .chalice/config.json.
A stage that names an S3_EVENTS_QUEUE (the local one) also gets that queue,
subscribed to the bucket's notifications. Running it again changes nothing
that is already right.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the project's packages become importable

from botocore.exceptions import ClientError  # noqa: E402

from chalicelib import config  # noqa: E402
from chalicelib.adapters import aws  # noqa: E402
from chalicelib.adapters.store import INDEXES, SORT_KEY, partition_attr  # noqa: E402
from chalicelib.domain import keys  # noqa: E402

TTL_ATTRIBUTE = "expires_at"
# What the events queue receives: everything the app's S3 handlers could ask
# for. The consumer applies each handler's own filters (devstack/bridge.py).
QUEUE_EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
# Longer than the slowest S3 handler may run (on_upload: 120 s), so a message
# being handled is never handed out twice.
QUEUE_VISIBILITY_SECONDS = 180
# As Lambda does for S3 events: the first attempt and two retries, then the
# event is set aside (here in "<queue>-dlq") instead of failing forever.
QUEUE_MAX_RECEIVES = 3
# As infra/resources.yaml's IncompleteUploadDays default.
INCOMPLETE_UPLOAD_DAYS = 1
# The template's name for its one CORS rule (tests/test_infra.py keeps the two definitions equal).
CORS_RULE_ID = "browser-uploads"


def stage_environment(stage: str, config_path: Path = ROOT / ".chalice" / "config.json") -> dict[str, str]:
    """The environment variables Chalice gives a stage: top level, then the stage's own."""
    config = json.loads(config_path.read_text())
    if stage not in config.get("stages", {}):
        raise SystemExit(f"no stage '{stage}' in {config_path}")
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def table_definition(name: str) -> dict:
    """The table and its indexes, as CreateTable takes them (see chalicelib/adapters/store.py).
    The indexes hold keys only: a list reads the page's records with one BatchGetItem, so
    an index entry costs one write unit and a record's change that keeps its keys none."""
    names = ["pk", "sk", SORT_KEY] + [partition_attr(i) for i in INDEXES]
    return dict(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in names],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition_attr(index), "KeyType": "HASH"},
                    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
            for index in INDEXES
        ],
    )


def cors_rules(origins: list[str]) -> dict:
    """Browsers may POST/PUT straight to the bucket with a presigned URL, and GET what it serves."""
    return {
        "CORSRules": [
            {
                "ID": CORS_RULE_ID,
                "AllowedOrigins": origins,
                "AllowedMethods": ["GET", "HEAD", "PUT", "POST"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 3000,
            }
        ]
    }


def lifecycle_rules(quarantine_days: int) -> dict:
    """What the bucket removes by itself: unfinished multipart uploads, and
    rejected originals once their quarantine is over (the template has the same rules)."""
    return {
        "Rules": [
            {
                "ID": "abort-incomplete-multipart-uploads",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS},
            },
            {
                "ID": "expire-quarantine",
                "Status": "Enabled",
                "Filter": {"Prefix": keys.QUARANTINE},
                "Expiration": {"Days": quarantine_days},
            },
        ]
    }


def ensure_bucket(s3, name: str, origins: list[str], quarantine_days: int = config.QUARANTINE_DAYS) -> str:
    try:
        s3.head_bucket(Bucket=name)
        outcome = "exists"
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
        region = s3.meta.region_name
        params: dict[str, Any] = {"Bucket": name}
        if region and region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**params)
        outcome = "created"
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_cors(Bucket=name, CORSConfiguration=cors_rules(origins))
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=lifecycle_rules(quarantine_days))
    return outcome


def ensure_table(dynamodb, name: str) -> str:
    try:
        dynamodb.describe_table(TableName=name)
        outcome = "exists"
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        dynamodb.create_table(**table_definition(name))
        dynamodb.get_waiter("table_exists").wait(TableName=name)
        outcome = "created"
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
    return outcome


def _queue_arn(sqs, name: str) -> tuple[str, str]:
    """Create the queue, or find it: its URL and ARN."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def ensure_event_queue(sqs, s3, bucket: str, queue: str) -> str:
    """A queue that receives the bucket's created and removed events.

    Where there is no Lambda to subscribe (`chalice local` runs no S3
    handlers), the bucket notifies this queue instead and a consumer invokes
    the handlers. Notification entries with other ids are left as they are.
    """
    _, dlq_arn = _queue_arn(sqs, f"{queue}-dlq")
    url, arn = _queue_arn(sqs, queue)
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": str(QUEUE_VISIBILITY_SECONDS),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": QUEUE_MAX_RECEIVES}),
            # What AWS requires before S3 may send to the queue.
            "Policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
                        }
                    ],
                }
            ),
        },
    )
    wanted = {"Id": queue, "QueueArn": arn, "Events": QUEUE_EVENTS}
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    current.pop("EventBridgeConfiguration", None)  # returned empty when off; not accepted back
    existing = current.get("QueueConfigurations", [])
    if wanted in existing:
        return "exists"
    others = [q for q in existing if q.get("Id") != queue]
    outcome = "updated" if len(others) < len(existing) else "created"
    # Setting the configuration makes S3 send an s3:TestEvent; do it only when needed.
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={**current, "QueueConfigurations": [*others, wanted]}
    )
    return outcome


def bootstrap(env: dict[str, str], session=None) -> dict[str, str]:
    session = session or aws.session()
    origins = [o.strip() for o in env.get("CORS_ALLOW_ORIGINS", "*").split(",") if o.strip()]
    outcome = {
        "bucket": ensure_bucket(session.client("s3"), env["IMAGES_BUCKET"], origins, config.quarantine_days(env)),
        "table": ensure_table(session.client("dynamodb"), env["IMAGES_TABLE"]),
    }
    if env.get("S3_EVENTS_QUEUE"):
        outcome["queue"] = ensure_event_queue(
            session.client("sqs"), session.client("s3"), env["IMAGES_BUCKET"], env["S3_EVENTS_QUEUE"]
        )
    return outcome


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args(argv)
    env = stage_environment(args.stage)
    outcome = bootstrap(env)
    line = f"bucket {env['IMAGES_BUCKET']}: {outcome['bucket']}; table {env['IMAGES_TABLE']}: {outcome['table']}"
    if "queue" in outcome:
        line += f"; queue {env['S3_EVENTS_QUEUE']}: {outcome['queue']}"
    print(line)


if __name__ == "__main__":
    main()
