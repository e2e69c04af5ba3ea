"""Every operator script runs as the docs show it: `python scripts/NAME.py`."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p for p in (ROOT / "scripts").glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_runs_as_a_file(script):
    result = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-1500:]
    assert "usage" in result.stdout.lower()


def test_no_script_shadows_a_standard_library_module():
    # Run as a file, scripts/ heads sys.path: a scripts/token.py would stand in for `token`.
    assert {p.stem for p in SCRIPTS} & set(sys.stdlib_module_names) == set()
