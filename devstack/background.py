"""The whole local stack as one background process, for code that needs a
running imgstore: the integration tests, `make load`, the Postman check.

It runs exactly what `make run` runs (python -m devstack), on free ports,
without saved data unless given a data_dir, and stops it the way Ctrl-C does.

    with BackgroundStack(Path("stack.log")) as stack:
        requests.get(f"{stack.api_url}/health")
        stack.client("s3").list_objects_v2(Bucket=stack.bucket)
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .processes import die_with_parent

ROOT = Path(__file__).resolve().parent.parent


class BackgroundStack:
    def __init__(
        self,
        log: Path,
        *,
        host: str = "127.0.0.1",
        workers: int = 4,
        timeout: float = 90,
        data_dir: Path | None = None,
        fresh: bool = False,
        auth_mode: str = "none",
    ):
        self.log = log
        self.data_dir = data_dir
        self.fresh = fresh
        self.auth_mode = auth_mode
        self.host = host
        self.workers = workers
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.info: dict[str, Any] = {}
        self._ready_file = Path(tempfile.mkdtemp(prefix="imgstore-stack-")) / "ready.json"

    def __enter__(self) -> BackgroundStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> BackgroundStack:
        argv = [
            sys.executable,
            "-m",
            "devstack",
            "--host",
            self.host,
            "--api-port",
            "0",
            "--aws-port",
            "0",
            "--quiet",
            "--workers",
            str(self.workers),
            "--ready-file",
            str(self._ready_file),
        ]
        argv += ["--data-dir", str(self.data_dir)] if self.data_dir else ["--no-persist"]
        argv += ["--fresh"] if self.fresh else []
        argv += ["--auth-mode", self.auth_mode]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + self.timeout
        while not self._ready_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the stack exited with code {self.proc.returncode} while starting:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the stack was not ready after {self.timeout:g} s:\n{self.log_tail()}")
            time.sleep(0.1)
        self.info = json.loads(self._ready_file.read_text())
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int | None:
        """Stop it as Ctrl-C (SIGINT) or SIGTERM would; the runner's exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no output)"

    # -- where things are ------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # app_url, api_url, aws_url, bucket, table, queue_url, dead_letter_queue_url, region, pid,
        # auth_mode, token_secret (auth_mode token)
        info = self.__dict__.get("info") or {}
        if name in info:
            return info[name]
        raise AttributeError(name)

    def client(self, service: str):
        """A boto3 client for the stack's moto, SigV4 as on AWS."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            service,
            endpoint_url=self.aws_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(signature_version="s3v4"),
        )
