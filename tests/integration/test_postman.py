"""The Postman collection, run by newman against the local stack, so it cannot rot."""
from __future__ import annotations

import re
import subprocess

import pytest

from devstack.background import ROOT

pytestmark = pytest.mark.slow
NEWMAN = ROOT / "node_modules" / ".bin" / "newman"


def test_the_postman_collection_passes(stack):
    assert NEWMAN.exists(), "newman is not installed: `make newman` installs it (`make test` does it first)"
    run = subprocess.run(
        [str(NEWMAN), "run", "imgstore.postman_collection.json", "-e", "local.postman_environment.json",
         "--env-var", f"baseUrl={stack.api_url}", "--env-var", f"awsUrl={stack.aws_url}",
         "--env-var", f"bucket={stack.bucket}", "--color", "off", "--reporters", "cli"],
        cwd=ROOT / "postman", capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    executed, failed = map(int, re.search(r"assertions │\s+(\d+) │\s+(\d+) │", run.stdout).groups())
    assert failed == 0 and executed >= 70, run.stdout[-3000:]  # the whole collection ran
