"""moto in server mode: S3, DynamoDB and SQS on one loopback port.

Like moto's ThreadedMotoServer, with three differences:
- the socket is bound here, in the caller's thread, so a port in use is a
  PortInUse error at once (ThreadedMotoServer binds in its own thread and
  then waits forever);
- requests are applied one at a time, as AWS applies each atomically.
  moto's backends are not thread-safe: under concurrent clients DynamoDB
  transactions fail with HTTP 500 ("dictionary changed size during
  iteration") and two conditional writes could both pass. SQS long polls are
  the exception, or one would stall everything for up to 20 s;
- S3 answers carry CORS headers as AWS sends them (S3Cors below);
- two of moto's habits that do not scale are fixed first (moto_fixes.py).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from urllib.parse import unquote

from . import moto_fixes
from .ports import bind

# Without this moto answers every CORS preflight, so a bucket missing its CORS
# rule would work here and fail in production. Read when moto is imported.
os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"


class OneAtATime:
    """WSGI middleware: one request at a time, long polls aside."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET") == "AmazonSQS.ReceiveMessage":
            return self.app(environ, start_response)
        with self.lock:
            body = self.app(environ, start_response)
            try:  # the whole body, while the state it was read from cannot change
                return [b"".join(body)]
            finally:
                getattr(body, "close", lambda: None)()


_VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"


def _origin_allowed(origin: str, patterns: list[str]) -> bool:
    """S3's rule: an allowed origin may hold one * wildcard."""
    return any(re.fullmatch(".*".join(map(re.escape, p.split("*", 1))), origin) for p in patterns)


def cors_headers(rules, origin: str | None, method: str) -> dict[str, str] | None:
    """What S3 adds to an actual (not preflight) request from `origin` under `rules`
    (the bucket's CORS rules: the first that allows the origin and the method
    wins); None when no rule allows it."""
    if not origin:
        return None
    for rule in rules:
        methods = [m.upper() for m in rule.allowed_methods or []]
        if method not in methods or not _origin_allowed(origin, rule.allowed_origins or []):
            continue
        wildcard = "*" in (rule.allowed_origins or [])
        headers = {
            "Access-Control-Allow-Origin": "*" if wildcard else origin,
            "Access-Control-Allow-Methods": ", ".join(methods),
        }
        if not wildcard:
            headers["Access-Control-Allow-Credentials"] = "true"
        if rule.exposed_headers:
            headers["Access-Control-Expose-Headers"] = ", ".join(rule.exposed_headers)
        if rule.max_age_seconds is not None:
            headers["Access-Control-Max-Age"] = str(rule.max_age_seconds)
        return headers
    return None


class S3Cors:
    """WSGI middleware: S3's CORS on every answer from a bucket with CORS rules.

    moto 5.2 adds CORS headers to some S3 answers and not to others: a
    presigned POST's 204 has none, so a browser rejects a stored upload. And it
    never sends Vary. Here every non-preflight answer from such a bucket gets
    the headers of the first matching rule (none for an origin no rule allows),
    and `Vary: Origin, ...` always, as S3 does. Preflights stay moto's (it
    answers them from the rules, 403 for a refused origin) plus the Vary.
    """

    def __init__(self, app):
        self.app = app

    @staticmethod
    def _rules(environ) -> list | None:
        if environ.get("HTTP_X_AMZ_TARGET"):
            return None  # DynamoDB or SQS (JSON protocol)
        bucket = unquote(environ.get("PATH_INFO", "/")).lstrip("/").split("/", 1)[0]
        if not bucket:
            return None
        from moto.s3.models import s3_backends

        where = s3_backends.bucket_accounts.get(bucket)
        if where is None:
            return None
        partition, account = where
        found = s3_backends[account][partition].buckets.get(bucket)
        return list(found.cors) if found is not None and found.cors else None

    def __call__(self, environ, start_response):
        rules = self._rules(environ)
        if not rules:
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        added = None if method == "OPTIONS" else cors_headers(rules, environ.get("HTTP_ORIGIN"), method)

        def respond(status, headers, exc_info=None):
            if method != "OPTIONS":
                headers = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
                headers += list((added or {}).items())
            headers = [(k, v) for k, v in headers if k.lower() != "vary"] + [("Vary", _VARY)]
            return start_response(status, headers, exc_info)

        return self.app(environ, respond)


class MotoServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5000,
        quiet: bool = True,
        setting: str = "AWS_PORT",
        fix_moto: bool = True,  # False only to measure the difference (bench/local_stack.py)
    ):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        if fix_moto:
            moto_fixes.apply()
        if quiet:  # one access-log line per S3/DynamoDB/SQS call drowns everything else
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app = OneAtATime(S3Cors(DomainDispatcherApplication(create_backend_app)))
        sock = bind(host, port, "AWS stand-in (moto)", setting)
        try:
            self._server = make_server(
                host, port, app, threaded=True, request_handler=MotoRequestHandler, fd=sock.fileno()
            )
        finally:
            sock.close()  # the server holds its own duplicate of the descriptor
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> MotoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
