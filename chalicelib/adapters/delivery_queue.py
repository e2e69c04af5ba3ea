"""SQS adapter: the webhook delivery queue and its dead-letter queue.

A message is one delivery of one event to one webhook (`Message`): the body
to send as is, the attempt it is for, and when that attempt is due. The
queue is given by URL, or by name (looked up once per container).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from . import aws

MAX_BATCH = 10  # SendMessageBatch's limit


@dataclass(frozen=True)
class Message:
    webhook_id: str
    event_id: str
    type: str
    body: str  # the payload exactly as signed and sent
    attempt: int = 1  # which attempt this message is for (1-based)
    due_at: float = 0.0  # Unix seconds; received earlier, it waits again
    last_error: str | None = None  # on the dead-letter queue: why it ended there

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def decode(cls, raw: str) -> Message:
        data = json.loads(raw)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class DeliveryQueue:
    def __init__(self, queue: str, dead_letters: str | None = None):
        self.queue = queue
        self.dead_letters = dead_letters
        self._urls: dict[str, str] = {}

    def _url(self, name_or_url: str) -> str:
        if name_or_url.startswith(("http://", "https://")):
            return name_or_url
        if name_or_url not in self._urls:
            self._urls[name_or_url] = aws.client("sqs").get_queue_url(QueueName=name_or_url)["QueueUrl"]
        return self._urls[name_or_url]

    def send(self, message: Message, delay: int = 0) -> None:
        aws.client("sqs").send_message(QueueUrl=self._url(self.queue), MessageBody=message.encode(), DelaySeconds=delay)

    def send_many(self, messages: Sequence[Message]) -> None:
        """Queue every message now; raises if SQS keeps refusing some (the caller retries them all)."""
        sqs = aws.client("sqs")
        for start in range(0, len(messages), MAX_BATCH):
            pending = {str(i): m for i, m in enumerate(messages[start : start + MAX_BATCH])}
            for attempt in range(4):
                reply = sqs.send_message_batch(
                    QueueUrl=self._url(self.queue),
                    Entries=[{"Id": i, "MessageBody": m.encode()} for i, m in pending.items()],
                )
                pending = {f["Id"]: pending[f["Id"]] for f in reply.get("Failed", [])}
                if not pending:
                    break
                time.sleep(0.1 * 2**attempt)
            if pending:
                raise RuntimeError(f"SQS refused {len(pending)} webhook deliveries")

    def dead_letter(self, message: Message) -> None:
        if not self.dead_letters:
            raise RuntimeError("no webhook dead-letter queue is configured (WEBHOOK_DLQ)")
        aws.client("sqs").send_message(QueueUrl=self._url(self.dead_letters), MessageBody=message.encode())
