"""The per-function IAM policies: how they are written, how they are judged,
and the handler paths whose permissions they grant.

The judgement itself runs over the whole suite (tests/iam_recorder.py): every
AWS call a Lambda handler makes is recorded and must be allowed, and every
grant must have been needed.
"""
from __future__ import annotations

import json

import pytest

from scripts import policies
from tests import iam
from tests.conftest import BUCKET, TABLE, deliver
from tests.iam_recorder import compare

T = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_committed_policies_are_what_the_script_writes(stage):
    rendered = policies.render(stage)
    assert {p.name for p in rendered} == {f"policy-{stage}-{f}.json" for f in policies.FUNCTIONS}
    for path, text in rendered.items():
        assert path.read_text() == text, f"run: python scripts/policies.py --stage {stage}"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_function_has_its_own_policy_file_in_the_config(stage):
    config = json.loads((policies.ROOT / ".chalice" / "config.json").read_text())
    settings = config["stages"][stage]
    files = {f: v.get("iam_policy_file") for f, v in settings["lambda_functions"].items()}
    assert files == {f: f"policy-{stage}-{f}.json" for f in policies.FUNCTIONS}
    assert "iam_policy_file" not in settings and config["autogen_policy"] is False


def test_no_policy_grants_a_wildcard_action_or_a_whole_bucket_or_table():
    for path in policies.ROOT.glob(".chalice/policy-*-*.json"):
        for statement in json.loads(path.read_text())["Statement"]:
            assert all("*" not in a for a in statement["Action"]), path.name
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for resource in resources:
                assert resource != "*"
                if resource.startswith("arn:aws:s3:::") and "/" not in resource:
                    assert statement["Action"] == ["s3:ListBucket"] and "Condition" in statement


def test_operations_map_to_the_actions_iam_checks():
    assert iam.needs("s3", "HeadObject", {"Bucket": "b", "Key": "uploads/a"}) == [
        iam.Need("s3:GetObject", "arn:aws:s3:::b/uploads/a")]
    assert iam.needs("s3", "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}}) == [
        iam.Need("s3:DeleteObject", "arn:aws:s3:::b/x"), iam.Need("s3:DeleteObject", "arn:aws:s3:::b/y")]
    transact = {"TransactItems": [{"Put": {"TableName": TABLE}}, {"Delete": {"TableName": TABLE}}]}
    assert [n.action for n in iam.needs("dynamodb", "TransactWriteItems", transact)] == [
        "dynamodb:PutItem", "dynamodb:DeleteItem"]
    assert iam.needs("dynamodb", "Query", {"TableName": TABLE, "IndexName": "lists2"}) == [
        iam.Need("dynamodb:Query", f"{T}/index/lists2")]
    assert iam.needs("s3", "CopyObject", {"Bucket": "b", "Key": "k2", "CopySource": {"Bucket": "b", "Key": "k1"}}) == [
        iam.Need("s3:GetObject", "arn:aws:s3:::b/k1"), iam.Need("s3:PutObject", "arn:aws:s3:::b/k2")]
    assert iam.needs("sqs", "SendMessage", {})[0].action == "unknown:sqs.SendMessage"


def test_the_evaluator_allows_only_what_a_statement_says():
    policy = json.loads(policies.policy_path("dev", "on_delete").read_text())
    allowed = iam.Need("s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/processed/abc/thumb.jpg")
    assert iam.used_grants(policy, allowed)
    assert not iam.used_grants(policy, iam.Need("s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/uploads/a/b.jpg"))
    assert not iam.used_grants(policy, iam.Need("s3:PutObject", f"arn:aws:s3:::{BUCKET}/processed/abc/thumb.jpg"))
    listing = iam.Need("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", (("s3:prefix", "processed/abc/"),))
    assert iam.used_grants(policy, listing)
    assert not iam.used_grants(policy, iam.Need("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", (("s3:prefix", "uploads/"),)))
    assert not iam.used_grants(policy, iam.Need("s3:ListBucket", f"arn:aws:s3:::{BUCKET}"))
    with pytest.raises(NotImplementedError):
        iam.matching({"Sid": "x", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}, allowed)


def test_the_comparison_reports_calls_not_allowed_and_grants_not_needed():
    stray = iam.Need("s3:PutObject", f"arn:aws:s3:::{BUCKET}/processed/abc/thumb.jpg")
    problems = compare({"api_handler": {stray}, "mystery": {stray}}, minimal=True)
    assert "mystery: made AWS calls but has no policy file policy-dev-mystery.json" in problems
    assert f"api_handler: NOT ALLOWED s3:PutObject on {stray.resource}" in problems
    assert f"on_delete: UNUSED s3:DeleteObject on arn:aws:s3:::{BUCKET}/processed/* (Code4)" in problems
    assert not any("Logs" in p for p in problems)
    assert not [p for p in compare({"api_handler": {stray}}, minimal=False) if "UNUSED" in p]


# -- the handler paths the on_upload and on_delete policies exist for ----------------------

def _put(s3, key: str, body: bytes, content_type: str = "image/jpeg") -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type)


def _record(client, key: str):
    from chalicelib.adapters.store import ImageStore
    from chalicelib.domain import keys

    return ImageStore(TABLE).get(keys.image_id_for_object(BUCKET, key))


def _variant_keys(s3, image_id: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"processed/{image_id}/").get("Contents", [])]


def test_a_non_image_dropped_in_the_bucket_is_rejected_and_quarantined(client, s3):
    key = "uploads/alice/notes.jpg"
    _put(s3, key, b"just some text, not a JPEG at all")
    deliver(client, key)
    assert _record(client, key).status == "rejected"
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=key)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=f"quarantine/{key}")["KeyCount"] == 1


def test_no_function_may_read_the_quarantine():
    for function in policies.FUNCTIONS:
        policy = json.loads(policies.policy_path("dev", function).read_text())
        for action in ("s3:GetObject", "s3:ListBucket"):
            need = iam.Need(action, f"arn:aws:s3:::{BUCKET}/quarantine/uploads/alice/x.jpg")
            assert not iam.used_grants(policy, need), function


def test_overwriting_a_good_image_with_a_bad_one_removes_its_variants(client, s3, jpeg):
    key = "uploads/alice/holiday photo.jpg"
    _put(s3, key, jpeg)
    deliver(client, key)
    record = _record(client, key)
    assert record.status == "ready" and len(_variant_keys(s3, record.image_id)) == 3
    _put(s3, key, b"GIF89a but truncated")
    deliver(client, key)
    assert _record(client, key).status == "rejected"
    assert _variant_keys(s3, record.image_id) == []


def test_deleting_an_object_removes_its_record_and_variants(client, s3, jpeg):
    key = "uploads/bob/cat+dog.jpg"
    _put(s3, key, jpeg)
    deliver(client, key)
    image_id = _record(client, key).image_id
    assert _variant_keys(s3, image_id)
    s3.delete_object(Bucket=BUCKET, Key=key)
    deliver(client, key, "ObjectRemoved:Delete")
    assert _record(client, key) is None and _variant_keys(s3, image_id) == []
