"""The events bridge: what Lambda's event source mappings do for the events.

`chalice local` runs neither `@app.on_dynamodb_record` nor `@app.on_sqs_message`.
This process plays both mappings against moto:

- it reads the table's stream (moto's DynamoDB Streams) from the moment it
  starts, so data restored at start-up is not announced again, and hands each
  batch to `on_table_change`, which publishes to moto's EventBridge bus and
  queues webhook deliveries. A batch-item failure hands the stream over again
  from the failed record, a crash the whole batch, as Lambda does;
- it long-polls the webhook delivery queue and hands each message to
  `deliver_webhook`, which POSTs it. A message is deleted once the handler
  returned; one it raised on comes back after a few seconds, and after
  WEBHOOK_MAX_RECEIVES the queue moves it to the dead-letter queue.

    python -m devstack.outbox_bridge --stage local
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from pathlib import Path
from typing import Any

from devstack.bridge import as_lambda_logs
from devstack.streams import StreamReader, stream_arn, stream_client
from scripts.bootstrap import stage_environment

ROOT = Path(__file__).resolve().parent.parent
READY = "outbox bridge ready"
RETRY_SECONDS = 2  # before a failed stream batch or webhook message is tried again
log = logging.getLogger("devstack.outbox")


def load_handlers(stage: str, project_dir: Path = ROOT) -> dict[str, Any]:
    """The two handlers, as `chalice local` would load the app, with a Lambda context each."""
    from chalice.cli.factory import CLIFactory
    from chalice.local import LambdaContext

    config = CLIFactory(str(project_dir), environ=os.environ).create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    handlers = {}
    for name in ("on_table_change", "deliver_webhook"):
        scoped = config.scope(stage, name)
        function = f"{app.app_name}-{stage}-{name}"
        handler = app.handler_map[name]

        def invoke(event, handler=handler, function=function, scoped=scoped):
            context = LambdaContext(function, scoped.lambda_memory_size, max_runtime_ms=scoped.lambda_timeout * 1000)
            return handler(event, context)

        handlers[name] = invoke
    return handlers


class OutboxBridge:
    def __init__(self, handlers: dict[str, Any], env: dict[str, str]):
        import boto3

        self.handlers = handlers
        self.sqs = boto3.client("sqs")
        self.queue_name = env["WEBHOOK_QUEUE"]
        self.queue_url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.reader = StreamReader(stream_client(), stream_arn(boto3.client("dynamodb"), env["IMAGES_TABLE"]), "LATEST")
        self.counts = {"stream_batches": 0, "stream_retries": 0, "deliveries": 0, "delivery_errors": 0}

    def stream_once(self) -> bool:
        """One batch of the stream to the consumer; False when there was nothing to hand."""
        batch = self.reader.read(100)
        if not batch:
            return False
        self.counts["stream_batches"] += 1
        try:
            failures = self.handlers["on_table_change"]({"Records": batch})["batchItemFailures"]
        except Exception:
            log.exception("on_table_change failed; the whole batch again in %d s", RETRY_SECONDS)
            failures = [{"itemIdentifier": batch[0]["dynamodb"]["SequenceNumber"]}]
        if failures:
            self.counts["stream_retries"] += 1
            self.reader.rewind(failures[0]["itemIdentifier"])
            return False
        return True

    def deliver_once(self, wait: int = 5) -> int:
        """Long-poll the delivery queue once and hand each message to the sender."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, AttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            record = {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": self.queue_arn,
                "awsRegion": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            }
            try:
                outcomes = self.handlers["deliver_webhook"]({"Records": [record]})
            except Exception:
                self.counts["delivery_errors"] += 1
                log.exception("deliver_webhook failed; the message comes back in %d s", RETRY_SECONDS)
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=RETRY_SECONDS
                )
                continue
            self.counts["deliveries"] += 1
            log.info("deliver_webhook: %s", ", ".join(map(str, outcomes)))
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def run(self, stop: threading.Event) -> None:
        def streaming() -> None:
            while not stop.is_set():
                try:
                    if not self.stream_once():
                        stop.wait(0.3)
                except Exception:
                    log.exception("could not read the stream; trying again")
                    stop.wait(RETRY_SECONDS)

        def delivering() -> None:
            while not stop.is_set():
                try:
                    self.deliver_once()
                except Exception:
                    log.exception("could not poll the webhook queue; trying again")
                    stop.wait(RETRY_SECONDS)

        threads = [
            threading.Thread(target=streaming, name="stream", daemon=True),
            threading.Thread(target=delivering, name="webhooks", daemon=True),
        ]
        for thread in threads:
            thread.start()
        stop.wait()
        threads[0].join(timeout=10)  # the stream batch in hand is finished; a long poll is not waited for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the app's stream consumer and webhook sender, as Lambda would.")
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    stop = as_lambda_logs()
    env = {**stage_environment(args.stage), **os.environ}
    bridge = OutboxBridge(load_handlers(args.stage), env)
    log.info(
        "%s: stream of %s -> on_table_change; queue %s -> deliver_webhook",
        READY,
        env["IMAGES_TABLE"],
        env["WEBHOOK_QUEUE"],
    )
    bridge.run(stop)
    log.info("outbox bridge stopped: %s", ", ".join(f"{v} {k}" for k, v in bridge.counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
