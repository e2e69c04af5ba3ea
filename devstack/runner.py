"""`make run`: the whole of imgstore on this machine, in the foreground.

Starts, in order:
  1. moto (S3, DynamoDB, SQS) on --aws-port;
  2. the stage's bucket, table and S3 events queue, by scripts/bootstrap.py,
     the code that creates them on AWS; then the saved data, if any;
  3. the S3 event bridge (devstack/bridge.py), which runs the app's S3 handlers;
  4. the API on --api-port: `chalice local` (devstack/api.py), its gateway
     errors shaped as on a deployed stage.
Then it prints where everything is and examples to paste. Ctrl-C or SIGTERM
stops it all in reverse order (saving the data first), leaving no process
and no port behind. A child that dies stops the rest.

    python -m devstack [--host 127.0.0.1] [--api-port 8000] [--aws-port 5000]
                       [--data-dir .local-data | --no-persist] [--fresh] [--auth-mode token]

The web app is the API's `/`; its origin is added to the bucket's CORS rules,
as `make deploy` does on AWS, so the page can upload with a presigned POST.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from . import bridge, guide, outbox_bridge, snapshot
from .ports import PortInUse, bind
from .processes import Child, Output

if TYPE_CHECKING:
    from .server import MotoServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bootstrap import bootstrap, stage_environment  # noqa: E402

REGION = "us-east-1"
STARTUP_TIMEOUT = 90  # seconds; the first start compiles bytecode for everything
# Whatever the developer's shell holds, nothing here may reach a real account.
_UNSAFE = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


class StartupFailed(Exception):
    pass


def local_aws_environment(aws_url: str) -> dict[str, str]:
    """What points boto3 (and the AWS CLI) at moto, with credentials moto accepts."""
    return {
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def _url_host(host: str) -> str:
    """The address clients use: a wildcard bind is reached on loopback."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def app_origins(host: str, port: int) -> list[str]:
    """The origins a browser may load the web app from: the API's, and on
    loopback both of its usual names."""
    shown = _url_host(host)
    names = [shown]
    if shown in ("127.0.0.1", "localhost"):
        names = ["127.0.0.1", "localhost"]
    elif shown == "[::1]":
        names = ["[::1]", "localhost"]
    return [f"http://{name}:{port}" for name in names]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


class LocalStack:
    def __init__(self, args: argparse.Namespace, out: Output):
        self.args = args
        self.out = out
        self.env = stage_environment(args.stage)
        if not self.env.get("S3_EVENTS_QUEUE"):
            raise StartupFailed(
                f"stage '{args.stage}' sets no S3_EVENTS_QUEUE in .chalice/config.json; "
                "the local stack needs one to run the S3 handlers"
            )
        self.data_dir = None if args.no_persist else Path(args.data_dir) / args.stage
        self.children: list[Child] = []
        self.moto: MotoServer | None = None
        self.token_secret: str | None = None
        self.info: dict[str, Any] = {}

    def start(self, stop: threading.Event) -> dict[str, Any]:
        """Everything, in order; returns where it all is once ready."""
        args, env = self.args, self.env
        # Claim the API port first: a clear message now beats chalice's traceback later.
        probe = bind(args.host, args.api_port, "API (chalice local)", "API_PORT")
        api_port = probe.getsockname()[1]
        probe.close()
        api_url = f"http://{_url_host(args.host)}:{api_port}"
        aws_url = self._start_aws()
        queue_url, dlq_url = self._create_resources(app_origins(args.host, api_port))
        self._start_children(queue_url, api_port)
        self._wait_ready(api_url, stop)
        self.info = {
            "stage": args.stage,
            "app_url": f"{api_url}/",
            "api_url": api_url,
            "aws_url": aws_url,
            "region": REGION,
            "bucket": env["IMAGES_BUCKET"],
            "table": env["IMAGES_TABLE"],
            "queue_url": queue_url,
            "dead_letter_queue_url": dlq_url,
            "pid": os.getpid(),
            "auth_mode": args.auth_mode,
        }
        if self.token_secret:
            self.info["token_secret"] = self.token_secret  # for tools that mint tokens (devstack/fuzz.py)
        return self.info

    def _start_aws(self) -> str:
        """moto, and this process's boto3 pointed at it (the children inherit it)."""
        from .server import MotoServer

        self.moto = MotoServer(self.args.host, self.args.aws_port, quiet=not self.args.verbose).start()
        aws_url = f"http://{_url_host(self.args.host)}:{self.moto.port}"
        os.environ.update(local_aws_environment(aws_url))
        for name in _UNSAFE:
            os.environ.pop(name, None)
        return aws_url

    def _create_resources(self, app_origins: list[str]) -> tuple[str, str]:
        """The stage's resources as on AWS, then the saved data; the events queue's
        and its dead-letter queue's URLs. The bucket's CORS rules also allow the
        web app's own origins."""
        env, session = self.env, boto3.session.Session()
        listed = [o.strip() for o in env.get("CORS_ALLOW_ORIGINS", "").split(",") if o.strip()]
        origins = listed if "*" in listed else list(dict.fromkeys(listed + app_origins))
        created = bootstrap({**env, "CORS_ALLOW_ORIGINS": ",".join(origins)}, session)
        self.out.line(f" setup | {', '.join(f'{k} {v}' for k, v in created.items())}")
        if self.data_dir and self.args.fresh:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.data_dir and snapshot.exists(self.data_dir):
            objects, items = snapshot.restore(
                session.client("s3"),
                session.client("dynamodb"),
                env["IMAGES_BUCKET"],
                env["IMAGES_TABLE"],
                self.data_dir,
            )
            self.out.line(f" setup | restored {objects} objects and {items} items from {self.data_dir}")
        sqs = session.client("sqs")
        queue = env["S3_EVENTS_QUEUE"]
        return (sqs.get_queue_url(QueueName=queue)["QueueUrl"], sqs.get_queue_url(QueueName=f"{queue}-dlq")["QueueUrl"])

    def _start_children(self, queue_url: str, api_port: int) -> None:
        args = self.args
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.auth_environment()}
        python = sys.executable
        self.children.append(
            Child(
                "events",
                [
                    python,
                    "-m",
                    "devstack.bridge",
                    "--stage",
                    args.stage,
                    "--queue-url",
                    queue_url,
                    "--workers",
                    str(args.workers),
                ],
                env=env,
                cwd=str(ROOT),
                out=self.out,
                ready_marker=bridge.READY,
            )
        )
        self.children.append(
            Child(
                "outbox",
                [python, "-m", "devstack.outbox_bridge", "--stage", args.stage],
                env=env,
                cwd=str(ROOT),
                out=self.out,
                ready_marker=outbox_bridge.READY,
            )
        )
        self.children.append(
            Child(
                "api",
                [
                    python,
                    "-m",
                    "devstack.api",  # chalice local, answering gateway errors as a deployed stage does
                    "--stage",
                    args.stage,
                    "--host",
                    args.host,
                    "--port",
                    str(api_port),
                ],
                env=env,
                cwd=str(ROOT),
                out=self.out,
            )
        )

    def auth_environment(self) -> dict[str, str]:
        """AUTH_MODE=token (--auth-mode token): bearer tokens signed with
        AUTH_TOKEN_SECRET, taken from the environment or made up for this run."""
        if self.args.auth_mode != "token":
            return {}
        if not self.token_secret:
            self.token_secret = os.environ.get("AUTH_TOKEN_SECRET") or secrets.token_urlsafe(32)
        return {"AUTH_MODE": "token", "AUTH_TOKEN_SECRET": self.token_secret}

    def _wait_ready(self, api_url: str, stop: threading.Event) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        api_up = False
        while not (api_up and all(c.ready.is_set() for c in self.children if c.label in ("events", "outbox"))):
            if stop.is_set():
                raise StartupFailed("interrupted while starting")
            dead = [c for c in self.children if not c.alive]
            if dead:
                raise StartupFailed(
                    f"{dead[0].label} exited with code {dead[0].proc.returncode} while starting; its output is above"
                )
            if time.monotonic() > deadline:
                raise StartupFailed(f"not ready after {STARTUP_TIMEOUT} s")
            api_up = api_up or _healthy(api_url)
            time.sleep(0.1)

    def dead_child(self) -> Child | None:
        return next((c for c in self.children if not c.alive), None)

    def stop(self) -> None:
        """Reverse order: no new events, no requests, then save, then moto."""
        for child in reversed(self.children):
            child.stop(grace=20 if child.label in ("events", "outbox") else 5)
        if self.moto is None:
            return
        if self.data_dir and self.info:
            try:
                session = boto3.session.Session()
                objects, items = snapshot.save(
                    session.client("s3"),
                    session.client("dynamodb"),
                    self.env["IMAGES_BUCKET"],
                    self.env["IMAGES_TABLE"],
                    self.data_dir,
                )
                self.out.line(f" setup | saved {objects} objects and {items} items to {self.data_dir}")
            except Exception as exc:  # never keep the ports because saving failed
                self.out.line(f" setup | could not save the data: {exc}")
        self.moto.stop()


def _events_banner(env: dict[str, str]) -> dict[str, str] | None:
    from chalicelib.events import schedule

    if not env.get("WEBHOOK_QUEUE"):
        return None
    return {
        "bus": env.get("EVENT_BUS", ""),
        "queue": env["WEBHOOK_QUEUE"],
        "schedule": schedule.describe(schedule.from_environment(env)),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack", description="Run imgstore locally.")
    parser.add_argument("--host", default="127.0.0.1", help="bind address of the API and moto")
    parser.add_argument("--api-port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--aws-port", type=int, default=5000, help="moto's port; 0 picks a free port")
    parser.add_argument("--stage", default="local", help="the Chalice stage whose settings to use")
    parser.add_argument(
        "--data-dir", default=str(ROOT / ".local-data"), help="where the data is saved on stop and restored on start"
    )
    parser.add_argument("--no-persist", action="store_true", help="start empty and save nothing")
    parser.add_argument("--fresh", action="store_true", help="discard the saved data first")
    parser.add_argument("--workers", type=int, default=4, help="S3 events handled at once")
    parser.add_argument("--ready-file", help="write the stack's addresses here (JSON) once ready")
    parser.add_argument("--quiet", action="store_true", help="print no banner")
    parser.add_argument("--verbose", action="store_true", help="log every request moto serves")
    parser.add_argument(
        "--auth-mode", choices=("none", "token"), default="none", help="token: bearer tokens, as a deployed stage"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Output(sys.stdout)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        out.line(
            f"warning: binding to {args.host}: moto has no authentication, so anyone who can "
            "reach this machine can read and change the local data"
        )
    ready_file = Path(args.ready_file) if args.ready_file else None
    stack = None
    code = 0
    try:
        stack = LocalStack(args, out)
        info = stack.start(stop)
        if not args.quiet:
            where = (
                stack.data_dir.relative_to(ROOT)
                if stack.data_dir and stack.data_dir.is_relative_to(ROOT)
                else stack.data_dir
            )
            note = (
                "not kept: moto holds everything in memory"
                if stack.data_dir is None
                else f"saved to {where}/ on stop, restored on start (make run FRESH=1 starts empty)"
            )
            out.line(
                guide.banner(
                    stage=args.stage,
                    api_url=info["api_url"],
                    aws_url=info["aws_url"],
                    bucket=info["bucket"],
                    table=info["table"],
                    queue=stack.env["S3_EVENTS_QUEUE"],
                    region=REGION,
                    data_note=note,
                    token_secret=str(info["token_secret"]) if info.get("token_secret") else None,
                    events=_events_banner(stack.env),
                )
            )
        if ready_file:  # whole or not at all: a reader polls for it
            partial = ready_file.with_name(ready_file.name + ".partial")
            partial.write_text(json.dumps(info))
            partial.replace(ready_file)
        while not stop.wait(0.5):
            dead = stack.dead_child()
            if dead:
                out.line(f"{dead.label} exited with code {dead.proc.returncode}; stopping everything")
                code = 1
                break
    except (PortInUse, StartupFailed) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        code = 2
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if ready_file:
            with contextlib.suppress(FileNotFoundError):
                ready_file.unlink()
        if stack is not None and stack.moto is not None:
            out.line("stopping...")
            stack.stop()
            out.line("stopped")
    return code
