"""Fuzz the API against its contract (GET /openapi.json) with Schemathesis, on a
local stack of its own.

    python -m devstack.fuzz [--auth-mode none|token|both] [--max-examples 200] [--seed N]

`make fuzz` runs it unseeded in both modes (longer, finds new things);
`make test` runs a short seeded run (tests/integration/test_contract_fuzz.py).
Every check Schemathesis has runs (`--checks all`; response time aside: nothing
here is timed), in every phase (`--phases`, the coverage phase included), over
every operation, with valid and invalid data, and through the contract's links:
an upload, then get, patch, reprocess, file and delete of that image, and a list
page to the next.
What the contract cannot say is in devstack/fuzz_hooks.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .background import BackgroundStack

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).with_name("schemathesis.toml")
FUZZ_USER = "fuzzer"
# Every phase, the coverage phase (each schema's boundaries and each way to break it) included.
PHASES = "examples,coverage,fuzzing,stateful"


def command(
    api_url: str,
    contract: Path,
    *,
    max_examples: int,
    seed: int | None = None,
    har: Path | None = None,
    token: str | None = None,
) -> list[str]:
    """The `st run` command line for the API at `api_url` and its served `contract`, saved to a file:
    loaded from its URL, Schemathesis would leave GET /openapi.json itself out of the run."""
    argv = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        str(contract),
        "--url",
        api_url,
        "--checks",
        "all",
        "--phases",
        PHASES,
        "--max-examples",
        str(max_examples),
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--no-color",
    ]
    argv += ["--seed", str(seed)] if seed is not None else []
    argv += ["--report", "har", "--report-har-path", str(har)] if har else []
    argv += ["--header", f"Authorization: Bearer {token}"] if token else []
    return argv


def token_for(stack: BackgroundStack) -> str | None:
    """A bearer token for FUZZ_USER when the stack runs AUTH_MODE=token."""
    if stack.info.get("auth_mode") != "token":
        return None
    from chalicelib.auth import tokens

    return tokens.issue_token(FUZZ_USER, stack.info["token_secret"], ttl_seconds=6 * 3600)


def run(
    stack: BackgroundStack,
    *,
    max_examples: int,
    seed: int | None = None,
    har: Path | None = None,
    capture: bool = False,
) -> subprocess.CompletedProcess:
    import urllib.request

    env = {**os.environ, "SCHEMATHESIS_HOOKS": "devstack.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    # Schemathesis keeps a cache in its working directory: not in the repository.
    with tempfile.TemporaryDirectory(prefix="imgstore-fuzz-") as workdir:
        contract = Path(workdir) / "openapi.json"
        with urllib.request.urlopen(f"{stack.api_url}/openapi.json", timeout=30) as served:
            contract.write_bytes(served.read())
        argv = command(stack.api_url, contract, max_examples=max_examples, seed=seed, har=har, token=token_for(stack))
        return subprocess.run(argv, cwd=workdir, env=env, capture_output=capture, text=True, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--auth-mode", choices=("none", "token", "both"), default="both")
    parser.add_argument("--max-examples", type=int, default=200, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, help="repeat a run (default: a new one each time)")
    args = parser.parse_args(argv)
    modes = ("none", "token") if args.auth_mode == "both" else (args.auth_mode,)
    failed = []
    for mode in modes:
        log = Path(tempfile.mkdtemp(prefix="imgstore-fuzz-")) / "stack.log"
        print(f"== AUTH_MODE={mode}: a local stack of its own (log: {log})", flush=True)
        with BackgroundStack(log, auth_mode=mode) as stack:
            if run(stack, max_examples=args.max_examples, seed=args.seed).returncode != 0:
                failed.append(mode)
    print("fuzz: " + (f"failures in AUTH_MODE={', '.join(failed)}" if failed else "no failures in " + ", ".join(modes)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
