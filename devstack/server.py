"""moto in server mode: S3, DynamoDB and SQS on one loopback port.

Like moto's ThreadedMotoServer, but the socket is bound here, in the caller's
thread, so a port in use is a PortInUse error at once (ThreadedMotoServer
binds in its own thread and then waits forever); requests are served from a
daemon thread.
"""
from __future__ import annotations

import logging
import os
import threading

from .ports import bind

# Without this moto answers every CORS preflight, so a bucket missing its CORS
# rule would work here and fail in production. Read when moto is imported.
os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 5000, quiet: bool = True,
                 setting: str = "AWS_PORT"):
        from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                                   create_backend_app)
        from werkzeug.serving import make_server

        if quiet:  # one access-log line per S3/DynamoDB/SQS call drowns everything else
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app = DomainDispatcherApplication(create_backend_app)
        sock = bind(host, port, "AWS stand-in (moto)", setting)
        try:
            self._server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler,
                                       fd=sock.fileno())
        finally:
            sock.close()  # the server holds its own duplicate of the descriptor
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> "MotoServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
