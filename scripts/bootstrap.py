"""Create a stage's bucket and table, idempotently, wherever boto3 points.

    python scripts/bootstrap.py --stage dev
    AWS_ENDPOINT_URL=http://127.0.0.1:5000 python scripts/bootstrap.py --stage dev

Names come from the stage's environment variables in .chalice/config.json.
Running it again changes nothing that is already right.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a file, scripts/ heads sys.path and scripts/token.py would shadow the standard library.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "scripts"]

from botocore.exceptions import ClientError  # noqa: E402

from chalicelib import aws  # noqa: E402
from chalicelib.store import INDEXES  # noqa: E402

TTL_ATTRIBUTE = "expires_at"


def stage_environment(stage: str, config_path: Path = ROOT / ".chalice" / "config.json") -> dict[str, str]:
    """The environment variables Chalice gives a stage: top level, then the stage's own."""
    config = json.loads(config_path.read_text())
    if stage not in config.get("stages", {}):
        raise SystemExit(f"no stage '{stage}' in {config_path}")
    return {**config.get("environment_variables", {}),
            **config["stages"][stage].get("environment_variables", {})}


def table_definition(name: str) -> dict:
    """The table and its indexes, as CreateTable takes them (see chalicelib/store.py)."""
    names = ["pk", "sk", "gsk"] + [f"g{i[-1]}pk" for i in INDEXES]
    return dict(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in names],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {"IndexName": index,
             "KeySchema": [{"AttributeName": f"g{index[-1]}pk", "KeyType": "HASH"},
                           {"AttributeName": "gsk", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}}
            for index in INDEXES
        ],
    )


def cors_rules(origins: list[str]) -> dict:
    """Browsers may POST/PUT straight to the bucket with a presigned URL, and GET what it serves."""
    return {"CORSRules": [{
        "AllowedOrigins": origins,
        "AllowedMethods": ["GET", "HEAD", "PUT", "POST"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    }]}


def ensure_bucket(s3, name: str, origins: list[str]) -> str:
    try:
        s3.head_bucket(Bucket=name)
        outcome = "exists"
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
        region = s3.meta.region_name
        params = {"Bucket": name}
        if region and region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**params)
        outcome = "created"
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_cors(Bucket=name, CORSConfiguration=cors_rules(origins))
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
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": TTL_ATTRIBUTE})
    return outcome


def bootstrap(env: dict[str, str], session=None) -> dict[str, str]:
    session = session or aws.session()
    origins = [o.strip() for o in env.get("CORS_ALLOW_ORIGINS", "*").split(",") if o.strip()]
    return {
        "bucket": ensure_bucket(session.client("s3"), env["IMAGES_BUCKET"], origins),
        "table": ensure_table(session.client("dynamodb"), env["IMAGES_TABLE"]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args(argv)
    env = stage_environment(args.stage)
    outcome = bootstrap(env)
    print(f"bucket {env['IMAGES_BUCKET']}: {outcome['bucket']}; table {env['IMAGES_TABLE']}: {outcome['table']}")


if __name__ == "__main__":
    main()
