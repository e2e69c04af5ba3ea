"""The local stack over real HTTP: one stack per test process (so per xdist
worker), started on free ports exactly as `make run` starts it (the `stack`
fixture is in tests/stacks.py, shared with the browser tests)."""
from __future__ import annotations

import time
import uuid
from typing import Any, Iterable

import pytest

from tests.conftest import image_bytes

POLL_TIMEOUT = 45  # seconds an image may take to settle; a 2-core CI box runs two stacks at once


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts the local stack (skipped by `make test-fast`)")


@pytest.fixture(scope="session")
def http():
    import requests

    with requests.Session() as session:
        yield session


class Api:
    """The API at the stack's URL, plus the polling the tests need."""

    def __init__(self, http, base: str):
        self.http = http
        self.base = base

    def __call__(self, method: str, path: str, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, self.base + path, **kwargs)

    def record(self, image_id: str) -> dict[str, Any] | None:
        reply = self("GET", f"/images/{image_id}")
        if reply.status_code == 404:
            return None
        assert reply.status_code == 200, reply.text
        return reply.json()

    def wait_for(self, image_ids: Iterable[str], settled=("ready", "rejected"), timeout=POLL_TIMEOUT) -> dict:
        """Poll until every image has a status in `settled`; their records by id."""
        waiting, done = set(image_ids), {}
        deadline = time.monotonic() + timeout
        while waiting:
            for image_id in sorted(waiting):
                record = self.record(image_id)
                if record is not None and record["status"] in settled:
                    done[image_id] = record
                    waiting.discard(image_id)
            if waiting:
                assert time.monotonic() < deadline, f"still not {settled} after {timeout} s: {sorted(waiting)}"
                time.sleep(0.2)
        return done

    def wait_gone(self, image_id: str, timeout=POLL_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.record(image_id) is not None:
            assert time.monotonic() < deadline, f"{image_id} still there after {timeout} s"
            time.sleep(0.2)


@pytest.fixture(scope="session")
def api(stack, http) -> Api:
    return Api(http, stack.api_url)


@pytest.fixture(scope="session")
def s3(stack):
    return stack.client("s3")


@pytest.fixture(scope="session")
def ddb(stack):
    return stack.client("dynamodb")


@pytest.fixture
def owner() -> str:
    """A user of one's own, so lists hold only this test's images."""
    return f"it-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def photo() -> bytes:
    return image_bytes("JPEG", (1200, 900), color=(40, 120, 200))
