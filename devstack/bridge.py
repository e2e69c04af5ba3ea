"""The S3 event bridge: what Lambda does for the app's @app.on_s3_event handlers.

`chalice local` serves routes only. Locally the bucket notifies a queue
instead (scripts/bootstrap.py, ensure_event_queue); the bridge long-polls it
and, for each record, calls every handler whose bucket, event names, prefix
and suffix match, with the S3 event payload as Lambda would deliver it. The
filters are read from the Chalice app, the same declarations `chalice deploy`
turns into S3 notification rules.

A message is deleted only after every handler it matched succeeded. A failed
one comes back after a short delay; after QUEUE_MAX_RECEIVES attempts the
queue moves it to its dead-letter queue, as Lambda gives up after two retries.

    python -m devstack.bridge --stage local --queue-url URL [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from scripts.bootstrap import QUEUE_MAX_RECEIVES

ROOT = Path(__file__).resolve().parent.parent
READY = "bridge ready"  # the line the runner waits for
RETRY_DELAYS = (2, 8)  # seconds before a failed event is tried again
log = logging.getLogger("devstack.bridge")


@dataclass(frozen=True)
class Subscription:
    """One @app.on_s3_event declaration: which records its handler receives."""

    name: str
    bucket: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""

    def matches(self, record: dict[str, Any]) -> bool:
        """As S3 decides: the bucket, the event name (exact or `Type:*`), and
        the prefix and suffix applied literally to the decoded key."""
        s3 = record.get("s3", {})
        if s3.get("bucket", {}).get("name") != self.bucket:
            return False
        event = f"s3:{record.get('eventName', '')}"
        if event not in self.events and f"{event.rsplit(':', 1)[0]}:*" not in self.events:
            return False
        key = unquote_plus(s3.get("object", {}).get("key", ""))
        return key.startswith(self.prefix) and key.endswith(self.suffix)


def subscriptions(app) -> list[Subscription]:
    from chalice.app import S3EventConfig

    return [
        Subscription(s.name, s.bucket, tuple(s.events), s.prefix or "", s.suffix or "")
        for s in app.event_sources
        if isinstance(s, S3EventConfig)
    ]


def s3_records(body: str) -> list[dict[str, Any]]:
    """The records of one S3 notification; none for s3:TestEvent (sent when
    the notification is set up) or anything that is not an S3 event."""
    try:
        payload = json.loads(body)
    except ValueError:
        log.warning("ignoring a message that is not JSON: %.200s", body)
        return []
    if not isinstance(payload, dict) or payload.get("Event") == "s3:TestEvent":
        return []
    return [r for r in payload.get("Records", []) if r.get("eventSource") == "aws:s3"]


@dataclass
class Handler:
    """A handler as Lambda runs it: the wrapped function and its context."""

    subscription: Subscription
    call: Callable[[dict, Any], Any]
    new_context: Callable[[], Any]
    timeout_s: int


class Bridge:
    def __init__(self, handlers: list[Handler], sqs, queue_url: str, workers: int = 4):
        self.handlers = handlers
        self.sqs = sqs
        self.queue_url = queue_url
        self.workers = workers
        self.counts = {"invocations": 0, "failed": 0, "unmatched": 0}
        self._lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def _invoke(self, handler: Handler, record: dict[str, Any]) -> None:
        name, key = handler.subscription.name, unquote_plus(record["s3"]["object"]["key"])
        started = time.monotonic()
        self._count("invocations")
        handler.call({"Records": [record]}, handler.new_context())  # one record per event, as S3 sends
        ms = (time.monotonic() - started) * 1000
        log.info("%s %s %s: ok in %.0f ms", name, record.get("eventName"), key, ms)
        if ms > handler.timeout_s * 1000:
            log.warning("%s took %.1f s; Lambda would have stopped it at %d s", name, ms / 1000, handler.timeout_s)

    def handle(self, message: dict[str, Any]) -> bool:
        """Run every matching handler for the message's records; True when all succeeded."""
        ok = True
        for record in s3_records(message["Body"]):
            matched = [h for h in self.handlers if h.subscription.matches(record)]
            if not matched:
                self._count("unmatched")  # e.g. writes under processed/: nothing subscribes there
            for handler in matched:
                try:
                    self._invoke(handler, record)
                except Exception:
                    ok = False
                    self._count("failed")
                    log.exception(
                        "%s failed on %s %s",
                        handler.subscription.name,
                        record.get("eventName"),
                        unquote_plus(record["s3"]["object"]["key"]),
                    )
        return ok

    def _settle(self, message: dict[str, Any], ok: bool) -> None:
        handle = message["ReceiptHandle"]
        if ok:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handle)
            return
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        if attempt >= QUEUE_MAX_RECEIVES:
            log.error("giving up after %d attempts; the event goes to the dead-letter queue", attempt)
            delay = 0
        else:
            delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
            log.info("will retry in %d s (attempt %d of %d)", delay, attempt + 1, QUEUE_MAX_RECEIVES)
        self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=delay)

    def _work(self, message: dict[str, Any], slots: threading.Semaphore) -> None:
        try:
            self._settle(message, self.handle(message))
        except Exception:  # the queue itself failed; the message comes back by itself
            log.exception("could not settle a message")
        finally:
            slots.release()

    def _poll(self, stop: threading.Event, slots: threading.Semaphore, pool: ThreadPoolExecutor) -> None:
        """Long-poll for as many messages as there are idle workers."""
        while not stop.is_set():
            if not slots.acquire(timeout=0.5):
                continue
            free = 1
            while free < min(self.workers, 10) and slots.acquire(blocking=False):
                free += 1
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=free,
                    WaitTimeSeconds=20,
                    AttributeNames=["ApproximateReceiveCount"],
                ).get("Messages", [])
            except Exception:
                log.exception("could not poll the queue; trying again")
                messages = []
                stop.wait(1)
            for message in messages:
                try:
                    if stop.is_set():
                        raise RuntimeError("stopping")
                    pool.submit(self._work, message, slots)
                except RuntimeError:  # stopping: hand the message back untouched
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                    slots.release()
            for _ in range(free - len(messages)):
                slots.release()

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set, then let the handlers already running finish."""
        slots = threading.Semaphore(self.workers)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="handler") as pool:
            # A daemon, so stopping never waits out a 20 s long poll.
            threading.Thread(target=self._poll, args=(stop, slots, pool), name="poller", daemon=True).start()
            while not stop.wait(0.5):
                pass


def load_handlers(stage: str, project_dir: Path = ROOT) -> tuple[Any, list[Handler]]:
    """Import the app as `chalice local` does (the stage's environment set
    first) and pair each S3 subscription with its handler and Lambda settings."""
    from chalice.cli.factory import CLIFactory
    from chalice.local import LambdaContext

    config = CLIFactory(str(project_dir), environ=os.environ).create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    handlers = []
    for sub in subscriptions(app):
        scoped = config.scope(stage, sub.name)
        function = f"{app.app_name}-{stage}-{sub.name}"
        memory, timeout = scoped.lambda_memory_size, scoped.lambda_timeout

        def new_context(function=function, memory=memory, timeout=timeout):
            return LambdaContext(function, memory, max_runtime_ms=timeout * 1000)

        handlers.append(Handler(sub, app.handler_map[sub.name], new_context, timeout))
    # The stream's consumer and the webhook sender are the outbox bridge's (devstack/outbox_bridge.py).
    bridged = {h.subscription.name for h in handlers} | {"on_table_change", "deliver_webhook"}
    others = [s.name for s in app.event_sources if s.name not in bridged]
    if others:
        log.warning("not run locally (no bridge runs them): %s", ", ".join(others))
    return app, handlers


def describe(handler: Handler) -> str:
    sub = handler.subscription
    return f"{sub.name} <- {','.join(sub.events)} on s3://{sub.bucket}/{sub.prefix}*{sub.suffix}"


def as_lambda_logs() -> threading.Event:
    """A bridge process's set-up: log lines to stdout, message only (as `chalice local`
    and Lambda do), and an event set by SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the app's S3 event handlers from the events queue.")
    parser.add_argument("--stage", default="local")
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--workers", type=int, default=4, help="events handled at once")
    args = parser.parse_args(argv)
    stop = as_lambda_logs()

    import boto3

    _, handlers = load_handlers(args.stage)
    bridge = Bridge(handlers, boto3.client("sqs"), args.queue_url, args.workers)
    for handler in handlers:
        log.info("%s", describe(handler))
    log.info("%s: %d handler(s), %d worker(s)", READY, len(handlers), args.workers)
    bridge.run(stop)
    log.info("bridge stopped: %s", ", ".join(f"{v} {k}" for k, v in bridge.counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
