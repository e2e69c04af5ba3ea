"""The local stage's events queue (scripts/bootstrap.py) and the local data
snapshot (devstack/snapshot.py), against moto in-process."""
from __future__ import annotations

import json

import pytest

from devstack import snapshot
from scripts.bootstrap import QUEUE_EVENTS, QUEUE_MAX_RECEIVES, bootstrap, stage_environment

LOCAL = stage_environment("local")


@pytest.fixture
def local_aws(aws):
    """The local stage's resources in moto (the `aws` fixture made the dev stage's)."""
    import boto3

    bootstrap(LOCAL)
    return boto3.client("s3"), boto3.client("sqs"), boto3.client("dynamodb")


def receive_all(sqs, url) -> list[dict]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_the_local_stage_names_its_own_resources_and_queue():
    assert LOCAL["S3_EVENTS_QUEUE"]
    assert LOCAL["IMAGES_BUCKET"] != stage_environment("dev")["IMAGES_BUCKET"]
    assert "S3_EVENTS_QUEUE" not in stage_environment("dev")
    assert "S3_EVENTS_QUEUE" not in stage_environment("prod")


def test_the_queue_receives_the_buckets_events_and_sets_failures_aside(local_aws):
    s3, sqs, _ = local_aws
    url = sqs.get_queue_url(QueueName=LOCAL["S3_EVENTS_QUEUE"])["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{LOCAL['S3_EVENTS_QUEUE']}-dlq")
    assert int(redrive["maxReceiveCount"]) == QUEUE_MAX_RECEIVES
    policy = json.loads(attrs["Policy"])["Statement"][0]
    assert policy["Condition"]["ArnEquals"]["aws:SourceArn"] == f"arn:aws:s3:::{LOCAL['IMAGES_BUCKET']}"

    assert [m.get("Event") for m in receive_all(sqs, url)] == ["s3:TestEvent"]
    s3.put_object(Bucket=LOCAL["IMAGES_BUCKET"], Key="uploads/a/x y.jpg", Body=b"1")
    s3.delete_object(Bucket=LOCAL["IMAGES_BUCKET"], Key="uploads/a/x y.jpg")
    events = [m["Records"][0] for m in receive_all(sqs, url)]
    assert [(e["eventName"], e["s3"]["object"]["key"]) for e in events] == [
        ("ObjectCreated:Put", "uploads%2Fa%2Fx+y.jpg"), ("ObjectRemoved:Delete", "uploads%2Fa%2Fx+y.jpg")]


def test_the_local_bucket_expires_the_quarantine_as_the_deployed_one_does(local_aws):
    s3, _, _ = local_aws
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=LOCAL["IMAGES_BUCKET"])["Rules"]}
    assert rules["expire-quarantine"]["Filter"] == {"Prefix": "quarantine/"}
    assert rules["expire-quarantine"]["Expiration"] == {"Days": 30}


def test_bootstrap_again_changes_nothing_and_keeps_other_notifications(local_aws):
    s3, sqs, _ = local_aws
    bucket = LOCAL["IMAGES_BUCKET"]
    other = sqs.create_queue(QueueName="someone-elses")["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    entries = config["QueueConfigurations"] + [{"Id": "theirs", "QueueArn": other_arn,
                                                "Events": ["s3:ObjectCreated:Copy"]}]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": entries})

    assert bootstrap(LOCAL) == {"bucket": "exists", "table": "exists", "queue": "exists", "events": "exists"}
    after = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    assert {e["Id"]: e["Events"] for e in after} == {LOCAL["S3_EVENTS_QUEUE"]: QUEUE_EVENTS,
                                                     "theirs": ["s3:ObjectCreated:Copy"]}


def test_a_snapshot_brings_back_objects_and_items(local_aws, tmp_path):
    s3, _, ddb = local_aws
    bucket, table = LOCAL["IMAGES_BUCKET"], LOCAL["IMAGES_TABLE"]
    keys = {"uploads/alice/holiday 2024/café+1.jpg": b"\xff\xd8\xffjpeg", "processed/abc/thumb.jpg": b"thumb"}
    for key, body in keys.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/jpeg", Metadata={"k": "v"})
    item = {"pk": {"S": "IMG#1"}, "sk": {"S": "IMAGE"}, "n": {"N": "3"}, "blob": {"B": b"\x00\x01"},
            "tags": {"L": [{"S": "été"}]}}
    ddb.put_item(TableName=table, Item=item)

    assert snapshot.save(s3, ddb, bucket, table, tmp_path / "snap") == (2, 1)
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})

    assert snapshot.exists(tmp_path / "snap")
    assert snapshot.restore(s3, ddb, bucket, table, tmp_path / "snap") == (2, 1)
    for key, body in keys.items():
        obj = s3.get_object(Bucket=bucket, Key=key)
        assert obj["Body"].read() == body and obj["ContentType"] == "image/jpeg" and obj["Metadata"] == {"k": "v"}
    assert ddb.get_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})["Item"] == item


def test_saving_again_replaces_the_previous_snapshot_whole(local_aws, tmp_path):
    s3, _, ddb = local_aws
    bucket, table = LOCAL["IMAGES_BUCKET"], LOCAL["IMAGES_TABLE"]
    s3.put_object(Bucket=bucket, Key="uploads/a/1.jpg", Body=b"1")
    snapshot.save(s3, ddb, bucket, table, tmp_path / "snap")
    s3.delete_object(Bucket=bucket, Key="uploads/a/1.jpg")
    assert snapshot.save(s3, ddb, bucket, table, tmp_path / "snap") == (0, 0)
    assert list((tmp_path / "snap" / "objects").iterdir()) == []
    assert not (tmp_path / "snap.saving").exists()
