"""devstack's moto server under concurrent clients, as the local stack uses it."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config

from devstack.server import MotoServer, OneAtATime


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


def test_a_long_poll_does_not_hold_up_other_requests():
    polling, release = threading.Event(), threading.Event()

    def moto(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET") == "AmazonSQS.ReceiveMessage":
            polling.set()
            release.wait(30)
        return [environ["PATH_INFO"].encode()]

    gate = OneAtATime(moto)
    poll_env = {"HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage", "PATH_INFO": "/poll"}
    poll = threading.Thread(target=gate, args=(poll_env, None))
    poll.start()
    try:
        assert polling.wait(10), "the long poll never reached moto"
        answered = []
        other = threading.Thread(target=lambda: answered.append(gate({"PATH_INFO": "/bucket"}, None)))
        other.start()
        other.join(10)
        # Answered while the poll still waits: the poll does not hold the lock.
        assert answered == [[b"/bucket"]] and poll.is_alive()
    finally:
        release.set()
        poll.join(10)


def _table_with(ddb, name: str, items: list[dict]) -> None:
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])
    for item in items:
        ddb.put_item(TableName=name, Item=item)


def _everything(ddb, name: str) -> list[dict]:
    return sorted(ddb.scan(TableName=name, ConsistentRead=True)["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


KEPT = [{"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}, "tags": {"SS": ["x"]}},
        {"pk": {"S": "a"}, "sk": {"S": "2"}, "n": {"N": "2"}},
        {"pk": {"S": "b"}, "sk": {"S": "1"}, "n": {"N": "3"}}]


def test_a_cancelled_transaction_leaves_every_item_as_it_was(server):
    """The stack's moto undoes a transaction item by item (devstack/moto_fixes.py),
    not from a copy of the whole table: a put, an update and a delete that ran
    before the failed condition are all undone, a new item removed."""
    ddb = client(server, "dynamodb")
    table = f"t-{uuid.uuid4().hex}"
    _table_with(ddb, table, KEPT)
    before = _everything(ddb, table)
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}, "sk": {"S": "1"}}}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "9"}}}},
            {"Update": {"TableName": table, "Key": {"pk": {"S": "a"}, "sk": {"S": "2"}},
                        "UpdateExpression": "SET n = :n ADD extra :one",
                        "ExpressionAttributeValues": {":n": {"N": "8"}, ":one": {"N": "1"}}}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
            {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "b"}, "sk": {"S": "2"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])
    assert _everything(ddb, table) == before


def test_a_refused_transaction_changes_nothing_and_a_good_one_everything(server):
    ddb = client(server, "dynamodb")
    table = f"t-{uuid.uuid4().hex}"
    _table_with(ddb, table, KEPT)
    before = _everything(ddb, table)
    with pytest.raises(ddb.exceptions.ClientError, match="ValidationException"):  # one item twice
        ddb.transact_write_items(TransactItems=[
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}}}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "7"}}}},
        ])
    assert _everything(ddb, table) == before

    ddb.transact_write_items(TransactItems=[
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}}}},
        {"Update": {"TableName": table, "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}},
                    "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "5"}}}},
        {"Put": {"TableName": table, "Item": {"pk": {"S": "c"}, "sk": {"S": "1"}}}},
    ])
    assert _everything(ddb, table) == [KEPT[1], {**KEPT[2], "n": {"N": "5"}}, {"pk": {"S": "c"}, "sk": {"S": "1"}}]
