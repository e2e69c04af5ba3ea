"""pytest plugin: the IAM policy check over the whole test suite.

While the tests run, a botocore `provide-client-params` hook on every client
records each AWS operation (presigned URLs included: botocore emits the same
event when it signs one; presigned POSTs are recorded by wrapping
generate_presigned_post), works out the IAM action and resource it needs
(tests/iam.py), and attributes it to the Lambda function whose handler is on
the call stack: api_handler for any route, on_upload, on_delete,
token_authorizer. Calls made outside a handler (test set-up, unit tests of the
adapters) belong to no function and are not checked.

Each process, pytest-xdist worker or not, appends what it saw to its own file
in one directory that the controller hands to the workers. When the session
ends, the controller (or the only process) merges the files and compares
them with the stage's policies, .chalice/policy-dev-{function}.json:

- sufficient: every recorded need is allowed by its function's policy;
- minimal: every (action, resource) a policy grants was needed by some call,
  checked only when the whole suite ran and passed (a partial run cannot
  exercise everything). The `Logs` and `FailedEvents` statements are for
  Lambda itself (its logs; its on-failure destination) and are exempt.

A failure fails the run and prints what is missing or unused.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests import iam

ROOT = Path(__file__).resolve().parent.parent
APP_FILE = str(ROOT / "app.py")
STAGE = "dev"
OPTION = "--iam-check"


# A pool thread's stack holds no handler: the function that handed it the work does.
_handed_over = threading.local()


def _function_of_frames() -> str | None:
    """The Lambda function whose handler is on the current call stack, or that
    submitted the work this pool thread is doing."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == APP_FILE:
            found = _handler_function(frame.f_globals.get("app"), frame.f_code)
            if found:
                return found
        frame = frame.f_back
    return getattr(_handed_over, "function", None)


def _install_pool_handover() -> None:
    """Work submitted to a ThreadPoolExecutor (a sharded list's Queries) counts
    for the function that submitted it."""
    from concurrent.futures import ThreadPoolExecutor

    original = ThreadPoolExecutor.submit

    def submit(pool, fn, /, *args, **kwargs):
        function = _function_of_frames()

        def run(*a, **kw):
            _handed_over.function = function
            try:
                return fn(*a, **kw)
            finally:
                _handed_over.function = None

        return original(pool, run, *args, **kwargs)

    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]


def _handler_function(app, code) -> str | None:
    if app is None:
        return None
    sources = {s.name for s in app.event_sources} | {a.name for a in app.builtin_auth_handlers}
    sources |= {f.name for f in getattr(app, "pure_lambda_functions", [])}  # the renderer
    for name, handler in app.handler_map.items():
        func = getattr(handler, "func", handler)
        func = getattr(func, "_original_func", func)  # @app.lambda_function's wrapper (the renderer)
        while func is not None:  # a route's view sits inside the registrar's wrappers
            if getattr(func, "__code__", None) is code:
                return name if name in sources else "api_handler"
            func = getattr(func, "__wrapped__", None)
    return None


class Recorder:
    """Needs seen by this process, appended to `path` as JSON lines."""

    def __init__(self, path: Path):
        self.path = path
        self.seen: set[tuple] = set()
        self.lock = threading.Lock()

    def record(self, service: str, operation: str, params: dict) -> None:
        function = _function_of_frames()
        if function is None:
            return
        lines = []
        with self.lock:
            for need in iam.needs(service, operation, params):
                entry = (function, need)
                if entry not in self.seen:
                    self.seen.add(entry)
                    lines.append(json.dumps({"function": function, "need": need.to_json(),
                                             "operation": f"{service}.{operation}"}))
            if lines:
                with self.path.open("a") as out:
                    out.write("\n".join(lines) + "\n")

    def install(self) -> None:
        """Hook every botocore client created from now on."""
        import botocore.session

        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session, service_name, *args, **kwargs):
            client = original(session, service_name, *args, **kwargs)
            service = client.meta.service_model.service_name

            def on_params(params, model, context=None, **_):
                if (context or {}).get("is_presign_request") and model.name == "CreateBucket":
                    return  # a presigned POST: recorded below, with its key
                recorder.record(service, model.name, params)

            client.meta.events.register("provide-client-params", on_params)
            if hasattr(client, "generate_presigned_post"):
                signed_post = client.generate_presigned_post

                def generate_presigned_post(Bucket, Key, *a, **kw):
                    recorder.record(service, "PresignedPost", {"Bucket": Bucket, "Key": Key})
                    return signed_post(Bucket, Key, *a, **kw)

                client.generate_presigned_post = generate_presigned_post
            return client

        create_client.original = original
        botocore.session.Session.create_client = create_client
        _install_pool_handover()


# -- hooks ---------------------------------------------------------------------

def pytest_addoption(parser):
    parser.addoption(OPTION, choices=("auto", "strict", "off"), default="auto",
                     help="IAM policy check: auto (minimality only when the whole suite ran), "
                          "strict (always both ways), off")


def pytest_configure(config):
    if config.getoption(OPTION) == "off":
        return
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        directory = Path(worker["iam_ops_dir"])
        name = worker["workerid"]
    else:
        directory = Path(tempfile.mkdtemp(prefix="imgstore-iam-"))
        name = "main"
        config._iam_ops_dir = directory
    recorder = Recorder(directory / f"{name}.jsonl")
    recorder.install()
    config._iam_recorder = recorder


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist controller: every worker writes into the controller's directory."""
    directory = getattr(node.config, "_iam_ops_dir", None)
    if directory is not None:
        node.workerinput["iam_ops_dir"] = str(directory)


def _whole_suite(session) -> bool:
    config = session.config
    option = config.option
    tests_dir = (ROOT / "tests").resolve()
    args = [Path(str(a).split("::")[0]).resolve() for a in config.args]
    broad = all(a in (ROOT.resolve(), tests_dir) for a in args)
    filtered = (option.keyword or option.markexpr or getattr(option, "lf", False)
                or getattr(option, "deselect", None) or option.maxfail)
    return broad and not filtered and session.testsfailed == 0


def load_records(directory: Path) -> dict[str, set[iam.Need]]:
    found: dict[str, set[iam.Need]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            found.setdefault(row["function"], set()).add(iam.Need.from_json(row["need"]))
    return found


def policy_file(function: str) -> Path:
    return ROOT / ".chalice" / f"policy-{STAGE}-{function}.json"


def compare(recorded: dict[str, set[iam.Need]], minimal: bool) -> list[str]:
    """Problems found, one line each; empty when the policies fit the code."""
    problems = []
    functions = {path.name[len(f"policy-{STAGE}-"):-len(".json")]
                 for path in (ROOT / ".chalice").glob(f"policy-{STAGE}-*.json")}
    for function in sorted(set(recorded) - functions):
        problems.append(f"{function}: made AWS calls but has no policy file {policy_file(function).name}")
    for function in sorted(functions):
        policy = json.loads(policy_file(function).read_text())
        used: set[tuple[str, str, str]] = set()
        for need in sorted(recorded.get(function, ()), key=lambda n: (n.action, n.resource)):
            grants = iam.used_grants(policy, need)
            if not grants:
                problems.append(f"{function}: NOT ALLOWED {need.action} on {need.resource}"
                                + (f" with {dict(need.context)}" if need.context else ""))
            used |= grants
        if minimal:
            for sid, action, resource in sorted(iam.grants(policy) - used):
                if sid not in ("Logs", "FailedEvents"):
                    problems.append(f"{function}: UNUSED {action} on {resource} ({sid})")
    return problems


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    directory = getattr(config, "_iam_ops_dir", None)
    if directory is None or hasattr(config, "workerinput"):
        return
    recorded = load_records(directory)
    mode = config.getoption(OPTION)
    minimal = mode == "strict" or _whole_suite(session)
    problems = compare(recorded, minimal)
    config._iam_report = (recorded, minimal, problems)
    shutil.rmtree(directory, ignore_errors=True)
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    report = getattr(config, "_iam_report", None)
    if report is None:
        return
    recorded, minimal, problems = report
    counts = ", ".join(f"{f} {len(n)}" for f, n in sorted(recorded.items())) or "none"
    scope = "sufficient and minimal" if minimal else "sufficient (minimality needs the whole suite)"
    if problems:
        terminalreporter.section("IAM policy check FAILED", sep="=", red=True, bold=True)
        for line in problems:
            terminalreporter.line(line, red=True)
        terminalreporter.line(f"recorded needs: {counts}; fix the FUNCTIONS table in scripts/policies.py, "
                              f"then: python scripts/policies.py --stage dev (and prod)")
    else:
        terminalreporter.line(f"IAM policy check: {scope}; recorded needs per function: {counts}")


def pytest_unconfigure(config):
    recorder = getattr(config, "_iam_recorder", None)
    if recorder is None:
        return
    import botocore.session

    original = getattr(botocore.session.Session.create_client, "original", None)
    if original is not None:
        botocore.session.Session.create_client = original
