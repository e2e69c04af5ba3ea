"""Write each Lambda function's IAM policy for a stage: .chalice/policy-{stage}-{function}.json.

    python scripts/policies.py --stage prod          # write them
    python scripts/policies.py --stage prod --check  # exit 1 if a file differs

FUNCTIONS below is the one statement of who may do what. Each function gets
exactly the actions its code makes (tests/test_iam_policies.py records them
while the whole suite runs and compares both ways), on the stage's bucket
(by prefix), table, indexes and secret, named by the stage's environment
variables in .chalice/config.json; `make deploy` rewrites those first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the project's packages become importable

from chalicelib.adapters.store import INDEXES  # noqa: E402
from scripts.bootstrap import stage_environment  # noqa: E402

# function -> [(actions, resource kinds)]; every action applies to every kind.
# Kinds: table, indexes, uploads, processed, quarantine, list-processed
# (ListBucket on processed/ only), secret (the token secret), signing-secret, delivery-keys.
# No function may read quarantine/: nothing in it is ever served.
FUNCTIONS: dict[str, list[tuple[list[str], list[str]]]] = {
    "api_handler": [
        (
            [
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
            ],
            ["table"],
        ),
        (["dynamodb:Query"], ["indexes"]),
        (["s3:PutObject"], ["uploads"]),  # API uploads, and what presigned POST/PUT URLs allow
        (["s3:GetObject", "s3:DeleteObject"], ["uploads", "processed"]),  # presigned GETs; delete
        (["s3:ListBucket"], ["list-processed"]),  # variants of older versions, on delete
        (["s3:DeleteObject"], ["quarantine"]),  # a rejected image's original, on delete
        (["secretsmanager:GetSecretValue"], ["signing-secret", "delivery-keys"]),  # next_token; rendition URLs
    ],
    "on_upload": [
        (["dynamodb:GetItem", "dynamodb:PutItem"], ["table"]),
        (["s3:GetObject"], ["uploads"]),  # HeadObject and conditional deletes need s3:GetObject too
        (["s3:PutObject"], ["processed", "quarantine"]),  # variants; rejected originals (a copy)
        (["s3:DeleteObject"], ["uploads", "processed", "quarantine"]),  # moved originals, stale variants
        (["s3:ListBucket"], ["list-processed"]),  # variants no preset names any more
    ],
    "on_delete": [
        (["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], ["table"]),  # purge marks, then deletes
        (["s3:GetObject"], ["uploads"]),  # HeadObject: was it uploaded again?
        (["s3:ListBucket"], ["list-processed"]),
        (["s3:DeleteObject"], ["processed", "quarantine"]),
    ],
    "token_authorizer": [
        (["secretsmanager:GetSecretValue"], ["secret"]),
    ],
    # Behind CloudFront (and the API, in-process, locally): reads the record, the stored
    # rendition, the original or a variant to render from; writes only renditions (and
    # removes one it wrote for an image deleted meanwhile).
    "renderer": [
        (["dynamodb:GetItem"], ["table"]),
        (["s3:GetObject"], ["uploads", "processed"]),
        (["s3:PutObject", "s3:DeleteObject"], ["processed"]),
        (["secretsmanager:GetSecretValue"], ["delivery-keys"]),  # verifies rendition URLs
    ],
}


# Invoked asynchronously by S3: after its retries, Lambda itself sends a failed
# event to the stage's failed-events queue (scripts/deploy.py, destinations),
# with the function's role.
ASYNC_FUNCTIONS = ("on_upload", "on_delete")
FAILED_EVENTS_SID = "FailedEvents"


def failed_events_queue(stage: str) -> str:
    """The name infra/resources.yaml gives the queue."""
    return f"imgstore-{stage}-failed-events"


def function_name(stage: str, function: str) -> str:
    """The Lambda function's name as Chalice makes it."""
    return f"imgstore-{stage}" if function == "api_handler" else f"imgstore-{stage}-{function}"


def _resources(kind: str, stage: str, env: dict[str, str]) -> list[str]:
    bucket, table = env["IMAGES_BUCKET"], env["IMAGES_TABLE"]
    table_arn = f"arn:aws:dynamodb:*:*:table/{table}"
    return {
        "table": [table_arn],
        "indexes": [f"{table_arn}/index/{index}" for index in INDEXES],
        "uploads": [f"arn:aws:s3:::{bucket}/uploads/*"],
        "processed": [f"arn:aws:s3:::{bucket}/processed/*"],
        "quarantine": [f"arn:aws:s3:::{bucket}/quarantine/*"],
        "list-processed": [f"arn:aws:s3:::{bucket}"],
        "secret": [
            env.get("AUTH_TOKEN_SECRET_ARN") or f"arn:aws:secretsmanager:*:*:secret:imgstore-{stage}-auth-token-*"
        ],
        "signing-secret": [
            env.get("SIGNING_SECRET_ARN") or f"arn:aws:secretsmanager:*:*:secret:imgstore-{stage}-signing-*"
        ],
        "delivery-keys": [
            env.get("DELIVERY_KEYS_ARN") or f"arn:aws:secretsmanager:*:*:secret:imgstore-{stage}-delivery-keys-*"
        ],
    }[kind]


def policy(stage: str, function: str, env: dict[str, str]) -> dict:
    """The policy document for one function of a stage."""
    logs = f"arn:aws:logs:*:*:log-group:/aws/lambda/{function_name(stage, function)}:*"
    statements = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": logs,
        }
    ]
    if function in ASYNC_FUNCTIONS:
        statements.append(
            {
                "Sid": FAILED_EVENTS_SID,
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": f"arn:aws:sqs:*:*:{failed_events_queue(stage)}",
            }
        )
    for number, (actions, kinds) in enumerate(FUNCTIONS[function], 1):
        statement: dict[str, Any] = {
            "Sid": f"Code{number}",
            "Effect": "Allow",
            "Action": actions,
            "Resource": [r for kind in kinds for r in _resources(kind, stage, env)],
        }
        if kinds == ["list-processed"]:
            statement["Condition"] = {"StringLike": {"s3:prefix": ["processed/*"]}}
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def policy_path(stage: str, function: str) -> Path:
    return ROOT / ".chalice" / f"policy-{stage}-{function}.json"


def render(stage: str) -> dict[Path, str]:
    env = stage_environment(stage)
    return {policy_path(stage, f): json.dumps(policy(stage, f, env), indent=2) + "\n" for f in FUNCTIONS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--check", action="store_true", help="only report files that differ")
    args = parser.parse_args(argv)
    stale = []
    for path, text in render(args.stage).items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text)
    verb = "differ" if args.check else "written"
    for path in stale:
        print(f"{verb}: {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
