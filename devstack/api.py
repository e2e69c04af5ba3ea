"""The API on this machine: `chalice local`, answering as a deployed stage does.

    python -m devstack.api [--stage local] [--host 127.0.0.1] [--port 8000]

It is `chalice local --no-autoreload` with one difference, the gateway's own
answers. On AWS, `scripts/deploy.py gateway` makes the errors API Gateway
answers without calling the app (a missing token, a denied request, an unknown
path) `{"error": ...}` with CORS headers. `chalice local` answers those as
`{"message": ...}` without CORS headers, echoes the Authorization header back
for an unknown path, drops the connection when that header holds a non-ASCII
byte, and answers methods it does not know (TRACE) with an HTML 501. Here:
- every gateway error is `{"error": <API Gateway's message>}` with the app's
  CORS headers, and nothing from the request in it;
- every method reaches the app, so an unserved one is the app's 405 with Allow;
- one log line per request: the app's JSON line (chalicelib/telemetry.py), and
  http.server's access line only for what the gateway answered by itself.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from chalice import local
from chalice.cli.factory import CLIFactory
from chalice.deploy.validate import validate_routes

ROOT = Path(__file__).resolve().parent.parent

# API Gateway's message for each error it answers itself ($context.error.messageString).
MESSAGES = {
    local.NotAuthorizedError: (401, "Unauthorized"),
    local.ForbiddenError: (403, "User is not authorized to access this resource"),
    local.InvalidAuthorizerError: (500, "Internal server error"),
}
MISSING_TOKEN = (403, "Missing Authentication Token")  # API Gateway's answer to an unknown path


def gateway_error(status: int, message: str, headers: dict) -> dict:
    """An error as the deployed stage's gateway responses shape it: the very
    settings `scripts/deploy.py gateway` puts on API Gateway, applied here."""
    import json

    from chalicelib import config
    from scripts.deploy import gateway_response

    origins = ",".join(config.load().cors_origins) or "*"  # the stage's CORS_ALLOW_ORIGINS, as deploy reads it
    request_origin = {k.lower(): v for k, v in headers.items()}.get("origin", "")
    reply = {"Content-Type": "application/json", "x-amzn-ErrorType": message.replace(" ", "")}
    for name, value in gateway_response(origins)["responseParameters"].items():
        header = name.removeprefix("gatewayresponse.header.")
        # 'literal' is sent as is; method.request.header.origin echoes the request's Origin.
        sent = value.strip("'") if value.startswith("'") else request_origin
        if sent:
            reply[header] = sent
    return {"statusCode": status, "headers": reply, "multiValueHeaders": {}, "body": json.dumps({"error": message})}


class Gateway(local.LocalGateway):
    answered_itself = False  # the last request never reached the app (so it logged no line)

    def handle_request(self, method: str, path: str, headers: dict, body: bytes | None) -> dict:
        self.answered_itself = True
        try:
            event = self.event_converter.create_lambda_event(method=method, path=path, headers=headers, body=body)
        except ValueError:  # no such route: chalice local would echo the Authorization header
            return gateway_error(*MISSING_TOKEN, headers)
        try:
            reply = super().handle_request(method, path, headers, body)
        except local.LocalGatewayException as exc:
            status, message = MESSAGES.get(type(exc), (exc.CODE, "Internal server error"))
            return gateway_error(status, message, headers)
        # A preflight the app declares no OPTIONS view for is chalice's own answer.
        self.answered_itself = method == "OPTIONS" and not self._has_user_defined_options_method(event)
        return reply


class Handler(local.ChaliceRequestHandler):
    local_gateway: Gateway

    def __init__(self, request, client_address, server, app_object, config) -> None:
        self.local_gateway = Gateway(app_object, config)
        local.BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def log_request(self, code="-", size="-") -> None:
        """The access line, for a request the app did not log itself."""
        if self.local_gateway.answered_itself:
            super().log_request(code, size)

    def __getattr__(self, name: str):
        # Any other method (TRACE, QUERY, ...) would get http.server's HTML 501; the app answers it (405).
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)


def server(stage: str, host: str, port: int) -> local.LocalDevServer:
    """The server `chalice local --stage STAGE` would make, with the Handler above."""
    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    validate_routes(app.routes)
    local.CustomLocalChalice.__bases__ = (local.LocalChalice, app.__class__)
    app.__class__ = local.CustomLocalChalice
    return local.LocalDevServer(app, config, host, port, handler_cls=Handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.api", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="local")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")  # as chalice local does
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials ..." on each first call
    server(args.stage, args.host, args.port).serve_forever()


if __name__ == "__main__":
    main()
