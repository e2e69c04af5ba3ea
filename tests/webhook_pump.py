"""Lambda's part for the events, in-process: the table's stream handed to
`on_table_change`, and the delivery queue to `deliver_webhook`, through the
Chalice test client (so the IAM recorder sees those functions' calls)."""
from __future__ import annotations

import json

from devstack.streams import StreamReader, stream_arn, stream_client
from tests.conftest import ENV, TABLE


class Pump:
    def __init__(self, client):
        import boto3

        self.client = client
        self.sqs = boto3.client("sqs")
        self.queue = self.sqs.get_queue_url(QueueName=ENV["WEBHOOK_QUEUE"])["QueueUrl"]
        self.reader = StreamReader(stream_client(), stream_arn(boto3.client("dynamodb"), TABLE), start="LATEST")
        self.outcomes: list[str] = []

    def stream(self) -> int:
        """Hand every new stream record to the consumer, as its event source mapping would."""
        handed = 0
        while batch := self.reader.read(100):
            answer = self.client.lambda_.invoke("on_table_change", {"Records": batch}).payload
            failures = answer["batchItemFailures"]
            assert failures == [], failures
            handed += len(batch)
        return handed

    def deliveries(self, rounds: int = 20) -> list[str]:
        """Run the sender on every message the queue holds now (and on the retries they queue)."""
        done = []
        for _ in range(rounds):
            messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for m in messages:
                event = self.client.events.generate_sqs_event(message_bodies=[m["Body"]], queue_name=ENV["WEBHOOK_QUEUE"])
                done += self.client.lambda_.invoke("deliver_webhook", event).payload
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])
        self.outcomes += done
        return done

    def all(self) -> list[str]:
        self.stream()
        return self.deliveries()


def body_of(message: dict) -> dict:
    return json.loads(message["Body"])
