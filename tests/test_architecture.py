"""The layering the docs promise, read from the imports: the domain knows neither
Chalice, HTTP nor AWS; use-cases never reach the edge; adapters never call
use-cases; the two sides of the record's lifecycle do not reach into each other;
only the composition root builds adapters; and every route goes through the registrar."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "chalicelib"

# Everything Lambda's handlers load below the edge.
BELOW_THE_EDGE = [
    "chalicelib.domain.records", "chalicelib.domain.keys", "chalicelib.domain.errors", "chalicelib.domain.states",
    "chalicelib.domain.formats", "chalicelib.domain.upload_limits", "chalicelib.adapters.store",
    "chalicelib.adapters.blobs", "chalicelib.adapters.presigning", "chalicelib.adapters.secrets",
    "chalicelib.usecases.lifecycle", "chalicelib.usecases.api", "chalicelib.usecases.s3_events",
    "chalicelib.usecases.pagination", "chalicelib.bootstrap", "chalicelib.imaging", "chalicelib.auth",
    "chalicelib.delivery", "chalicelib.events",
]


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved within chalicelib."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def modules_of(package: str) -> list[Path]:
    return sorted((LIB / package).rglob("*.py"))


def reaches(path: Path, packages: set[str]) -> set[str]:
    """The imports of `path` that land in any of `packages` (dotted, under chalicelib)."""
    return {m for m in imported_modules(path) if any(m == p or m.startswith(p + ".") for p in packages)}


def test_below_the_edge_loads_without_chalice():
    code = (f"import sys; import {', '.join(BELOW_THE_EDGE)}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'chalice'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("layer, forbidden", [
    ("domain", {"chalicelib.usecases", "chalicelib.adapters", "chalicelib.edge", "chalicelib.auth",
                "chalicelib.bootstrap", "chalicelib.imaging", "boto3", "botocore"}),
    ("adapters", {"chalicelib.usecases", "chalicelib.edge", "chalicelib.bootstrap", "chalicelib.auth"}),
    ("usecases", {"chalicelib.edge", "chalicelib.bootstrap", "boto3", "botocore"}),
    ("imaging", {"chalicelib.usecases", "chalicelib.adapters", "chalicelib.edge", "chalicelib.bootstrap", "boto3"}),
])
def test_no_import_runs_back_up_a_layer(layer, forbidden):
    for path in modules_of(layer):
        assert reaches(path, forbidden) == set(), path.relative_to(ROOT)


def test_the_api_and_the_s3_events_share_the_lifecycle_not_each_other():
    api, events = LIB / "usecases" / "api.py", LIB / "usecases" / "s3_events.py"
    assert "chalicelib.usecases.s3_events" not in imported_modules(api)
    assert "chalicelib.usecases.api" not in imported_modules(events)
    assert "chalicelib.usecases.lifecycle" in imported_modules(api)
    assert "chalicelib.usecases.lifecycle" in imported_modules(events)


def test_only_the_composition_root_builds_adapters():
    adapters = {"ImageStore", "BlobStore"}
    built = {}
    for path in [*LIB.rglob("*.py"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in adapters:
                built.setdefault(str(path.relative_to(ROOT)), set()).add(node.func.id)
    # The web app's page reads the bucket's URL origin for its CSP, nothing else.
    assert built == {"chalicelib/bootstrap.py": adapters, "chalicelib/edge/webapp.py": {"BlobStore"}}


def test_only_the_edge_imports_chalice():
    for path in LIB.rglob("*.py"):
        chalice = {m for m in imported_modules(path) if m == "chalice" or m.startswith("chalice.")}
        if path.parent.name != "edge" and path.relative_to(LIB) != Path("auth/gateway.py"):
            assert chalice == set(), f"{path.relative_to(ROOT)} imports {chalice}"


def test_every_route_and_preflight_was_declared_through_the_registrar():
    from app import app
    from chalicelib.edge.http import WRAPPED

    entries = [(path, method, entry) for path, methods in app.routes.items() for method, entry in methods.items()]
    assert len(entries) > 20
    unwrapped = [(p, m) for p, m, e in entries if not getattr(e.view_function, WRAPPED, False)]
    assert unwrapped == []
    # Every path answers its browser preflight.
    assert [p for p, methods in app.routes.items() if "OPTIONS" not in methods] == []


REFUSED_QUERY = "unknown query parameter(s): x; allowed: none"


def test_a_route_declared_last_still_maps_domain_errors_and_gets_its_preflight(aws):
    """Order does not matter: the registrar wires each route when it is declared."""
    from chalice import Chalice
    from chalice.test import Client

    from chalicelib.domain.errors import NotFound
    from chalicelib.edge import cors, http

    app = Chalice(app_name="order")
    app.register_middleware(http.json_errors(app.routes), "http")
    route = http.Routes(app, cors.preflight)

    @route("/first", ["GET"])
    def first(call):
        return {"ok": True}

    @route("/last/{name}", ["GET"])
    def last(call, name):
        raise NotFound(f"no {name} here")

    with Client(app) as client:
        reply = client.http.get("/last/thing")
        assert (reply.status_code, reply.json_body) == (404, {"error": "no thing here"})
        refused = client.http.get("/first?x=1")
        assert (refused.status_code, refused.json_body) == (400, {"error": REFUSED_QUERY})
        preflight = client.http.request("OPTIONS", "/last/thing", headers={"Origin": "https://a.example",
                                                                            "Access-Control-Request-Method": "GET"})
        assert preflight.status_code == 204  # the dev stage allows any origin
        assert preflight.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"
