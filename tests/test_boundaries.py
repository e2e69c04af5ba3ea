"""What ships to Lambda and what its cold start pays for."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

API_PATH_WITHOUT_PILLOW = r"""
import base64, json, os, sys
os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
from moto import mock_aws
from chalice.test import Client
from scripts.bootstrap import bootstrap, stage_environment
import app
assert "PIL" not in sys.modules, "importing app.py loaded Pillow"
with mock_aws():
    bootstrap(stage_environment("dev"))
    with Client(app.app, stage_name="dev", project_dir=".") as c:
        jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 64).decode()
        made = c.http.post("/images", headers={"content-type": "application/json"},
                           body=json.dumps({"image_data": jpeg, "user_id": "u", "tags": ["t"]}))
        assert made.status_code == 201, made.body
        image_id = made.json_body["image_id"]
        for path, status in [("/images", 200), ("/images?tag=t", 200), (f"/images/{image_id}", 200),
                             (f"/images/{image_id}/file", 302)]:
            assert c.http.get(path).status_code == status, path
        c.http.patch(f"/images/{image_id}", headers={"content-type": "application/json"}, body='{"title": "x"}')
        assert c.http.delete(f"/images/{image_id}").status_code == 200
        up = c.http.post("/uploads", headers={"content-type": "application/json"},
                         body=json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": 10, "user_id": "u"}))
        assert up.status_code == 201
assert "chalicelib.edge.webapp" not in sys.modules, "the API's routes loaded the web app's module"
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("PIL", "pillow_heif"))))
"""


def test_the_api_code_path_never_imports_pillow():
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGES_")}
    result = subprocess.run([sys.executable, "-c", API_PATH_WITHOUT_PILLOW], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_importing_the_app_needs_no_configuration_and_no_network():
    code = ("import socket, sys\n"
            "def refuse(*a, **k): raise AssertionError('network at import time')\n"
            "socket.socket.connect = refuse\n"
            "import app\n"
            "print(len(app.app.routes))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGES_", "AWS_"))}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) >= 5


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_lambda_code_imports_no_dev_only_packages():
    shipped = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    for path in shipped:
        assert not _imports(path) & {"moto", "pytest", "scripts", "tests", "devstack"}, path


def test_only_the_imaging_module_imports_pillow():
    for path in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
        if "imaging" in path.parts or path.stem == "imaging":
            continue
        assert not _imports(path) & {"PIL", "pillow_heif"}, path
