"""Stable presigned URLs: where in its time window a URL is signed, botocore's clock
held at that moment while we sign, and how long a browser may keep what it serves."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from ..config import URL_REVISION_SPREAD

# -- stable URLs ----------------------------------------------------------------
# A URL signed at the start of a time window is the same string all through the
# window, so browsers and CDNs can cache what it serves. botocore signs at "now"
# and offers no parameter for the time (boto/botocore#2230), so its clock is
# wrapped once: a context variable, set only around our own signing call, says
# what "now" is. Other threads and other callers still get the real time.
_SIGNING_TIME: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("signing_time", default=None)
_clock_lock = threading.Lock()
_clock_installed = False


def _held(real):
    def get_current_datetime(remove_tzinfo: bool = True):
        fixed = _SIGNING_TIME.get()
        if fixed is None:
            return real(remove_tzinfo=remove_tzinfo)
        return fixed.replace(tzinfo=None) if remove_tzinfo else fixed

    return get_current_datetime


def _install_signing_clock() -> None:
    global _clock_installed
    import botocore.auth

    with _clock_lock:
        if _clock_installed:
            return
        botocore.auth.get_current_datetime = _held(botocore.auth.get_current_datetime)
        if botocore.auth.HAS_CRT:  # with awscrt installed, botocore signs S3 with the CRT's signers
            import botocore.crt.auth

            botocore.crt.auth.get_current_datetime = _held(botocore.crt.auth.get_current_datetime)
        _clock_installed = True


@contextmanager
def signing_at(unix_seconds: int) -> Iterator[None]:
    """Within this block, and in this context only, botocore signs at `unix_seconds`."""
    _install_signing_clock()
    token = _SIGNING_TIME.set(datetime.fromtimestamp(unix_seconds, UTC))
    try:
        yield
    finally:
        _SIGNING_TIME.reset(token)


@dataclass(frozen=True)
class Window:
    """Where `now` falls among fixed windows of `seconds` (aligned on the Unix epoch).
    `changed` is when what the URLs serve last changed (Unix seconds; 0 when unknown),
    `revision` a number that changes with it (the record's version)."""

    seconds: int
    now: float
    changed: float = 0.0
    revision: int = 0

    @property
    def start(self) -> int:
        return int(self.now) - int(self.now) % self.seconds

    @property
    def end(self) -> int:
        return self.start + self.seconds

    @property
    def signed_at(self) -> int:
        """The window's start, or the change if that came later in the window (never
        after now): the URLs stay the same until the window ends or the content changes,
        and a cache holding the old content is never asked with the new URL."""
        return max(self.start, min(int(self.changed), int(self.now)))

    def url_lifetime(self, ttl: int) -> int:
        """X-Amz-Expires for a URL signed at `signed_at` that must stay valid `ttl`
        seconds after it was handed out, however late in the window that was; plus
        up to URL_REVISION_SPREAD - 1 seconds that tell two revisions of one second apart
        (SigV4 signs whole seconds, and a reprocess can finish within the one its
        stale mark was made in)."""
        return self.end + ttl - self.signed_at + self.revision % URL_REVISION_SPREAD


def cache_control(window: int, ttl: int) -> str:
    """For a variant object: a browser may keep it while the URL that fetched
    it is certainly still valid (at least `ttl` after the window it was signed in)."""
    return f"private, max-age={min(window, ttl)}"
