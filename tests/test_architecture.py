"""The layering the docs promise: the domain knows neither Chalice nor HTTP,
and the two sides of the record's lifecycle do not reach into each other."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "chalicelib"

DOMAIN = [
    "chalicelib.domain.records", "chalicelib.domain.keys", "chalicelib.adapters.store", "chalicelib.adapters.blobs", "chalicelib.usecases.pagination",
    "chalicelib.usecases.lifecycle", "chalicelib.usecases.api", "chalicelib.usecases.s3_events", "chalicelib.imaging", "chalicelib.domain.errors",
    "chalicelib.domain.upload_limits", "chalicelib.auth",
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


def test_the_domain_loads_without_chalice():
    code = f"import sys; import {', '.join(DOMAIN)}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'chalice'))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_api_and_the_event_handlers_share_the_lifecycle_not_each_other():
    assert "chalicelib.usecases.api" not in imported_modules(LIB / "ingest.py")
    assert "chalicelib.usecases.s3_events" not in imported_modules(LIB / "service.py")
    assert "chalicelib.usecases.lifecycle" in imported_modules(LIB / "ingest.py")
    assert "chalicelib.usecases.lifecycle" in imported_modules(LIB / "service.py")


def test_adapters_never_call_use_cases():
    use_cases = {"chalicelib.usecases.api", "chalicelib.usecases.s3_events", "chalicelib.usecases.lifecycle"}
    for adapter in ("store.py", "blobs.py"):
        assert imported_modules(LIB / adapter) & use_cases == set(), adapter


def test_only_the_edge_imports_chalice():
    edge = {"http.py", "cors.py", "telemetry.py", "gateway.py"}
    for path in LIB.rglob("*.py"):
        chalice = {m for m in imported_modules(path) if m == "chalice" or m.startswith("chalice.")}
        if path.name not in edge:
            assert chalice == set(), f"{path.relative_to(ROOT)} imports {chalice}"
