"""moto in server mode: S3, DynamoDB and SQS on one loopback port.

Like moto's ThreadedMotoServer, with two differences:
- the socket is bound here, in the caller's thread, so a port in use is a
  PortInUse error at once (ThreadedMotoServer binds in its own thread and
  then waits forever);
- requests are applied one at a time, as AWS applies each atomically.
  moto's backends are not thread-safe: under concurrent clients DynamoDB
  transactions fail with HTTP 500 ("dictionary changed size during
  iteration") and two conditional writes could both pass. SQS long polls are
  the exception, or one would stall everything for up to 20 s.
"""

from __future__ import annotations

import logging
import os
import threading

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


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 5000, quiet: bool = True, setting: str = "AWS_PORT"):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        if quiet:  # one access-log line per S3/DynamoDB/SQS call drowns everything else
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app = OneAtATime(DomainDispatcherApplication(create_backend_app))
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
