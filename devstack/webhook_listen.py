"""A webhook receiver for this machine: prints each delivery and whether it verifies.

    make webhook-listen SECRET=whsec_... [PORT=9000]
    python -m devstack.webhook_listen --secret whsec_... [--port 9000] [--answer 200]

It listens on 127.0.0.1 only and verifies every delivery with the Standard
Webhooks reference library (`standardwebhooks`, as a receiver would), never
with imgstore's own code. Several `--secret`s verify a rotation (each
signature against each secret). `--answer 500` (or 410, ...) makes it refuse,
to watch the retries. The tests use `Listener` the same way.
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """One delivery as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified_with: list[int] = field(default_factory=list)  # the indexes of the secrets that verify it
    answered: int = 200

    @property
    def verified(self) -> bool:
        return bool(self.verified_with)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def id(self) -> str:
        return self.headers.get("webhook-id", "")


class Listener:
    """A loopback HTTP receiver. `answers` are the statuses to give, in turn (then `default`)."""

    def __init__(self, secrets: list[str], port: int = 0, answers: list[int] | None = None, default: int = 200):
        self.secrets = list(secrets)
        self.answers = list(answers or [])
        self.default = default
        self.received: list[Received] = []
        self.arrived = threading.Condition()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                got = Received(self.path, headers, body)
                for index, secret in enumerate(listener.secrets):
                    try:
                        Webhook(secret).verify(body.decode(), headers)
                        got.verified_with.append(index)
                    except (WebhookVerificationError, ValueError, UnicodeDecodeError):
                        pass
                with listener.arrived:
                    got.answered = listener.answers.pop(0) if listener.answers else listener.default
                    listener.received.append(got)
                    listener.arrived.notify_all()
                self.send_response(got.answered)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The deliveries so far, once there are at least `count` (or the timeout passed)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


def describe(got: Received) -> str:
    try:
        payload = got.payload
        what = f"{payload.get('type')} {payload.get('data', {}).get('image_id', '')}".strip()
    except ValueError:
        what = "(not JSON)"
    verdict = "signature OK" if got.verified else "SIGNATURE DOES NOT VERIFY"
    return f"{got.id} {what}: {verdict}, answered {got.answered}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print each webhook delivery and whether its signature verifies.")
    parser.add_argument("--secret", action="append", required=True, help="whsec_... (repeat during a rotation)")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--answer", type=int, default=200, help="the status to answer (500 to watch retries)")
    args = parser.parse_args(argv)
    with Listener(args.secret, args.port, default=args.answer) as listener:
        print(f"listening on {listener.url} (answering {args.answer}); Ctrl-C stops", flush=True)
        seen = 0
        try:
            while True:
                got = listener.wait_for(seen + 1, timeout=1.0)
                for delivery in got[seen:]:
                    print(describe(delivery), flush=True)
                    print(f"  {delivery.body.decode(errors='replace')}", flush=True)
                seen = len(got)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
