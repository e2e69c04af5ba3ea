"""Schemathesis against the running local stack: the API keeps its contract
(chalicelib/edge/openapi.json) under fuzzing. Seeded and bounded, for `make test`;
`make fuzz` runs longer, unseeded, in both AUTH_MODEs (devstack/fuzz.py)."""
from __future__ import annotations

import json
import re
from collections import defaultdict
from urllib.parse import parse_qs, urlparse

import pytest

from chalicelib.edge import openapi
from devstack import fuzz
from devstack.background import BackgroundStack

SEED = 20261129
MAX_EXAMPLES = 15

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    """A stack of its own: the fuzz fills a table that other tests would then share."""
    with BackgroundStack(tmp_path_factory.mktemp("fuzz") / "stack.log") as stack:
        yield stack


def test_the_api_keeps_its_contract_under_fuzzing(own_stack, tmp_path):
    har = tmp_path / "fuzz.har"
    done = fuzz.run(own_stack, max_examples=MAX_EXAMPLES, seed=SEED, har=har, capture=True)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-30000:]
    operations = len(list(openapi.operations(openapi.raw())))
    assert re.search(rf"Tested: {operations}\b", report) and "No issues found" in report, report[-5000:]  # every operation

    entries = json.loads(har.read_text())["log"]["entries"]
    calls = [(e["request"]["method"], urlparse(e["request"]["url"]).path, e["response"]["status"]) for e in entries]
    statuses = defaultdict(set)
    for method, path, status in calls:
        statuses[(method, re.sub(r"^/images/[^/]+", "/images/{id}", path))].add(status)
    # Valid data was accepted and invalid data refused, on every route that takes data.
    for route in [("POST", "/images"), ("POST", "/uploads"), ("GET", "/images"), ("PATCH", "/images/{id}")]:
        assert {s for s in statuses[route] if s < 300} and 400 in statuses[route], (route, statuses[route])
    # The links ran: an image uploaded, then fetched, changed and deleted by its id.
    followed = defaultdict(set)
    for method, path, status in calls:
        match = re.fullmatch(r"/images/([0-9a-f]{32})", path)
        if match and status < 300:
            followed[match.group(1)].add(method)
    assert any({"GET", "PATCH", "DELETE"} <= methods for methods in followed.values()), dict(followed)
    # The NextPage link ran: a page's next_token, sent back, was a page (and a forged one a 400).
    paged = {e["response"]["status"] for e in entries if e["request"]["method"] == "GET"
             and urlparse(e["request"]["url"]).path == "/images"
             and "next_token" in parse_qs(urlparse(e["request"]["url"]).query)}
    assert {200, 400} <= paged, paged


def test_the_fuzz_runs_every_check_in_every_phase(tmp_path):
    argv = fuzz.command("http://127.0.0.1:1", tmp_path / "openapi.json", max_examples=1)
    assert argv[argv.index("--checks") + 1] == "all"
    assert set(argv[argv.index("--phases") + 1].split(",")) == {"examples", "coverage", "fuzzing", "stateful"}
