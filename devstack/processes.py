"""The stack's child processes (`chalice local`, the event bridge).

Each runs in its own session, so Ctrl-C reaches only the runner, which stops
them in order; on Linux each also gets SIGTERM if the runner dies without
cleaning up (PR_SET_PDEATHSIG), so nothing is left holding a port. Their
output is forwarded line by line, labelled, to the runner's output.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import subprocess
import sys
import threading
from typing import Any, TextIO

_PR_SET_PDEATHSIG = 1
_prctl: Any
try:  # resolved here, before any fork: the child may only make the call
    _prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def die_with_parent() -> None:
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Output:
    """Whole lines from several threads, never interleaved."""

    def __init__(self, stream: TextIO = sys.stdout):
        self._stream = stream
        self._lock = threading.Lock()

    def line(self, text: str = "") -> None:
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()


class Child:
    """One child process; `ready` is set when it prints a line containing `ready_marker`."""

    def __init__(
        self,
        label: str,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: str,
        out: Output,
        ready_marker: str | None = None,
    ):
        self.label = label
        self.ready = threading.Event()
        self._out = out
        self._marker = ready_marker
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self._forwarder = threading.Thread(target=self._forward, name=f"{label}-output", daemon=True)
        self._forwarder.start()

    def _forward(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._out.line(f"{self.label:>6} | {line.rstrip()}")
            if self._marker and self._marker in line:
                self.ready.set()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float) -> int:
        """SIGTERM, then SIGKILL after `grace` seconds; the exit code."""
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._out.line(f"{self.label:>6} | did not stop within {grace:g} s; killed")
                self.proc.kill()
                self.proc.wait()
        self._forwarder.join(timeout=2)
        return self.proc.returncode
