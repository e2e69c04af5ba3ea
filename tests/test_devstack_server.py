"""devstack's moto server under concurrent clients, as the local stack uses it."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config

from devstack.server import MotoServer


@pytest.fixture
def server():
    running = MotoServer("127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{running.port}"
    running.stop()


def client(url, service):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))


def test_concurrent_dynamodb_transactions_all_succeed(server):
    """moto's backends are not thread-safe: without one request at a time, concurrent
    transactions fail with HTTP 500 ('dictionary changed size during iteration')."""
    ddb = client(server, "dynamodb")
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])

    def writes(worker: int) -> None:
        mine = client(server, "dynamodb")
        for n in range(12):
            mine.transact_write_items(TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": f"{worker}-{n}-{i}"}},
                         "ConditionExpression": "attribute_not_exists(pk)"}} for i in range(3)])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writes, range(8)))
    assert ddb.scan(TableName="t", Select="COUNT")["Count"] == 8 * 12 * 3


def test_a_long_poll_does_not_hold_up_other_requests(server):
    sqs, s3 = client(server, "sqs"), client(server, "s3")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    poll = threading.Thread(target=lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2))
    poll.start()
    time.sleep(0.3)
    started = time.monotonic()
    s3.create_bucket(Bucket="not-blocked")
    assert time.monotonic() - started < 1.5
    poll.join()
