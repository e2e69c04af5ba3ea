"""IAM for the policy tests: which IAM action and resource each AWS operation
needs, and whether a policy document allows it.

Only what imgstore's policies use is evaluated: Allow statements, `*`/`?`
wildcards in actions and resources, and StringLike conditions. Anything else
raises, so a policy can never pass by being misread.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's


@dataclass(frozen=True)
class Need:
    """One IAM authorisation an operation needs."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = field(default=())  # condition keys, e.g. s3:prefix

    def to_json(self) -> list:
        return [self.action, self.resource, [list(c) for c in self.context]]

    @classmethod
    def from_json(cls, value: list) -> "Need":
        return cls(value[0], value[1], tuple(tuple(c) for c in value[2]))


def _table(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


_TRANSACT = {"Put": "PutItem", "Delete": "DeleteItem", "Update": "UpdateItem",
             "ConditionCheck": "ConditionCheckItem"}


def needs(service: str, operation: str, params: dict[str, Any]) -> list[Need]:
    """What IAM must allow for `operation` with `params` (presigned ones included:
    the URL is signed by the function's role, so the role must hold the action).
    An operation this table does not know maps to an `unknown:` action, which no
    policy allows, so it is never silently skipped."""
    p = params
    if service == "dynamodb":
        if operation in ("GetItem", "PutItem", "DeleteItem", "UpdateItem"):
            return [Need(f"dynamodb:{operation}", _table(p["TableName"]))]
        if operation in ("Query", "Scan"):
            resource = _table(p["TableName"]) + (f"/index/{p['IndexName']}" if p.get("IndexName") else "")
            return [Need(f"dynamodb:{operation}", resource)]
        if operation == "BatchGetItem":
            return [Need("dynamodb:BatchGetItem", _table(t)) for t in p["RequestItems"]]
        if operation == "TransactWriteItems":
            return [Need(f"dynamodb:{_TRANSACT[kind]}", _table(body["TableName"]))
                    for item in p["TransactItems"] for kind, body in item.items()]
    if service == "s3":
        if operation in ("GetObject", "HeadObject"):
            return [Need("s3:GetObject", _object(p["Bucket"], p["Key"]))]
        if operation in ("PutObject", "PresignedPost", "CreateMultipartUpload", "CompleteMultipartUpload"):
            return [Need("s3:PutObject", _object(p["Bucket"], p["Key"]))]
        if operation == "DeleteObject":
            # A conditional delete (If-Match an ETag) needs s3:GetObject as well.
            read = [Need("s3:GetObject", _object(p["Bucket"], p["Key"]))] if p.get("IfMatch") else []
            return [Need("s3:DeleteObject", _object(p["Bucket"], p["Key"])), *read]
        if operation == "DeleteObjects":
            return [Need("s3:DeleteObject", _object(p["Bucket"], o["Key"])) for o in p["Delete"]["Objects"]]
        if operation == "CopyObject":
            source = p["CopySource"]
            if isinstance(source, str):
                bucket, _, key = source.lstrip("/").partition("/")
            else:
                bucket, key = source["Bucket"], source["Key"]
            return [Need("s3:GetObject", _object(bucket, key)), Need("s3:PutObject", _object(p["Bucket"], p["Key"]))]
        if operation == "UploadPartCopy":
            return needs(service, "CopyObject", p)
        if operation == "AbortMultipartUpload":
            return [Need("s3:AbortMultipartUpload", _object(p["Bucket"], p["Key"]))]
        if operation in ("ListObjectsV2", "ListObjects"):
            return [Need("s3:ListBucket", f"arn:aws:s3:::{p['Bucket']}", (("s3:prefix", p.get("Prefix", "")),))]
    if service == "dynamodb" and operation == "BatchWriteItem":
        return [Need("dynamodb:BatchWriteItem", _table(t)) for t in p["RequestItems"]]
    if service == "events" and operation == "PutEvents":
        buses = dict.fromkeys(e.get("EventBusName", "default") for e in p["Entries"])
        return [Need("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{b}") for b in buses]
    if service == "sqs" and operation in ("SendMessage", "SendMessageBatch", "GetQueueUrl"):
        name = p["QueueName"] if operation == "GetQueueUrl" else p["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        action = "GetQueueUrl" if operation == "GetQueueUrl" else "SendMessage"
        return [Need(f"sqs:{action}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")]
    if service == "kms" and operation in ("Encrypt", "Decrypt"):
        return [Need(f"kms:{operation}", p["KeyId"])]
    if service == "secretsmanager" and operation == "GetSecretValue":
        return [Need("secretsmanager:GetSecretValue", p["SecretId"])]
    return [Need(f"unknown:{service}.{operation}", "*")]


def _like(pattern: str, value: str) -> bool:
    # IAM wildcards are * and ?; fnmatch's [..] classes never occur in our ARNs.
    return fnmatch.fnmatchcase(value, pattern)


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        if operator != "StringLike":
            raise NotImplementedError(f"condition operator {operator} is not evaluated here")
        for key, patterns in tests.items():
            if key not in context or not any(_like(p, context[key]) for p in _listed(patterns)):
                return False
    return True


def matching(statement: dict[str, Any], need: Need) -> list[tuple[str, str]]:
    """The (action, resource) pairs of an Allow statement that grant `need`."""
    unsupported = set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition"}
    if unsupported or statement["Effect"] != "Allow":
        raise NotImplementedError(f"statement {statement.get('Sid')} uses {sorted(unsupported) or 'Deny'}")
    if not _conditions_hold(statement.get("Condition", {}), dict(need.context)):
        return []
    actions = [a for a in _listed(statement["Action"]) if _like(a.lower(), need.action.lower())]
    resources = [r for r in _listed(statement["Resource"]) if _like(r, need.resource)]
    return [(a, r) for a in actions for r in resources]


def grants(policy: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Every (statement id, action, resource) a policy grants."""
    return {(s["Sid"], a, r) for s in policy["Statement"]
            for a in _listed(s["Action"]) for r in _listed(s["Resource"])}


def used_grants(policy: dict[str, Any], need: Need) -> set[tuple[str, str, str]]:
    """The grants that allow `need`; empty when the policy does not allow it."""
    return {(s["Sid"], a, r) for s in policy["Statement"] for a, r in matching(s, need)}
