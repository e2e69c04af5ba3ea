"""Running local stacks for the tests that need one (integration and browser):
at most one of each kind per test process, so per xdist worker, started on
free ports exactly as `make run` starts them. A pytest plugin (conftest.py)."""

from __future__ import annotations

import pytest

from devstack.background import BackgroundStack


def _running(tmp_path_factory, **options):
    log = tmp_path_factory.mktemp("stack") / "stack.log"
    running = BackgroundStack(log, **options).start()
    yield running
    code = running.stop()
    assert code == 0, f"the stack did not stop cleanly (exit {code}):\n{running.log_tail()}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """AUTH_MODE none: the owner is the request's user_id."""
    yield from _running(tmp_path_factory)


@pytest.fixture(scope="session")
def token_stack(tmp_path_factory):
    """AUTH_MODE token: its `token_secret` signs the bearer tokens it accepts."""
    yield from _running(tmp_path_factory, auth_mode="token")
