"""What `chalice package --stage prod --pkg-format terraform` builds, offline
but for PyPI (Chalice downloads manylinux2014 wheels for the python3.11 runtime).

Chalice leaves out, with only a warning, any dependency that has no wheel for
the runtime, and still "succeeds"; so the packaged code is imported from the
zips in a clean interpreter. The Terraform output is the one offline view of
what `chalice deploy` wires: the S3 notifications, per-function policies and
the API's authorizers.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scripts import policies

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
LAYER_SITE = "python/lib/python3.11/site-packages"
NATIVE_PACKAGES = {"PIL", "_pillow_heif"}  # every extension module the package may hold
GLIBC_MINOR_MAX = 26  # python3.11 runs on Amazon Linux 2: glibc 2.26


def _inputs_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted([ROOT / "app.py", ROOT / "requirements.txt", *ROOT.glob(".chalice/*.json"),
                        *ROOT.glob("chalicelib/**/*.py")]):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def package() -> Path:
    """The prod package, built once per input change even across xdist workers."""
    BUILD.mkdir(exist_ok=True)
    out = BUILD / f"package-prod-{_inputs_digest()}"
    with open(BUILD / "package.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in BUILD.glob("package-prod-*"):
            if stale != out:
                shutil.rmtree(stale, ignore_errors=True)
        if not (out / "chalice.tf.json").exists():
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("AUTH_", "IMAGES_", "CORS_", "USER_POOL", "AWS_"))}
            env["AWS_DEFAULT_REGION"] = "us-east-1"
            result = subprocess.run(
                [str(Path(sys.executable).parent / "chalice"), "package", "--stage", "prod",
                 "--pkg-format", "terraform", str(out)],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "Could not install dependencies" not in result.stdout + result.stderr, result.stderr
    return out


@pytest.fixture(scope="session")
def unpacked(package, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lambda")
    with zipfile.ZipFile(package / "deployment.zip") as code:
        code.extractall(root / "task")
    with zipfile.ZipFile(package / "layer-deployment.zip") as layer:
        layer.extractall(root / "opt")
    return root


@pytest.fixture(scope="session")
def terraform(package) -> dict:
    return json.loads((package / "chalice.tf.json").read_text())


def _run_clean(unpacked: Path, code: str) -> str:
    """Run `code` with only the standard library and the two zips on sys.path,
    as Lambda lays them out (/var/task, then the layer's site-packages)."""
    prologue = (f"import sys; sys.path[:0] = [{str(unpacked / 'task')!r}, {str(unpacked / 'opt' / LAYER_SITE)!r}]; "
                "assert not any('site-packages' in p and 'opt' not in p for p in sys.path), sys.path; ")
    result = subprocess.run([sys.executable, "-I", "-S", "-c", prologue + code], capture_output=True, text=True,
                            cwd=unpacked, env={"PATH": "/usr/bin:/bin"}, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_runtime_requirement_is_in_the_package_at_its_pinned_version(package):
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", (ROOT / "requirements.txt").read_text(), re.M))
    with zipfile.ZipFile(package / "layer-deployment.zip") as layer:
        found = {m.group(1).lower().replace("_", "-"): m.group(2)
                 for name in layer.namelist()
                 if (m := re.match(rf"{LAYER_SITE}/([^/]+)-([^-/]+)\.dist-info/METADATA$", name))}
    for name, version in pinned.items():
        assert found.get(name.lower().replace("_", "-")) == version, (name, sorted(found))


def test_native_wheels_are_manylinux2014_or_older(package):
    with zipfile.ZipFile(package / "layer-deployment.zip") as layer:
        wheels = {n: layer.read(n).decode() for n in layer.namelist() if n.endswith(".dist-info/WHEEL")}
    platform_tags = [t for text in wheels.values() for t in re.findall(r"^Tag: \S+-\S+-(\S+)$", text, re.M)
                     if t != "any"]
    assert platform_tags, "no native wheel packaged at all"
    for tag in platform_tags:
        minor = int(re.match(r"manylinux_2_(\d+)_x86_64", tag).group(1)) if tag.startswith("manylinux_2_") else \
            {"manylinux2014_x86_64": 17, "manylinux1_x86_64": 5, "manylinux2010_x86_64": 12}[tag]
        assert minor <= GLIBC_MINOR_MAX, tag


def test_only_known_native_modules_are_packaged(package):
    with zipfile.ZipFile(package / "layer-deployment.zip") as layer:
        top = {Path(n[len(LAYER_SITE) + 1:]).parts[0].split(".")[0]
               for n in layer.namelist() if n.endswith(".so") and ".libs/" not in n}
    assert top == NATIVE_PACKAGES, "a new native dependency: import it in test_the_packaged_code_runs_..."
    with zipfile.ZipFile(package / "deployment.zip") as code:
        assert not [n for n in code.namelist() if n.endswith(".so")]


def test_the_packaged_imaging_code_runs_from_the_zips_in_a_clean_interpreter(unpacked):
    out = _run_clean(unpacked, """
import io, PIL, pillow_heif
from PIL import Image, features
from chalicelib import config, imaging
assert PIL.__file__.startswith(sys.path[1]), PIL.__file__
image = Image.new("RGB", (1200, 800), (10, 120, 200))
jpeg = io.BytesIO(); image.save(jpeg, "JPEG")
result = imaging.process(jpeg.getvalue(), config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"}))
pillow_heif.register_heif_opener()
heic = io.BytesIO(); image.save(heic, "HEIF", quality=50)
back = Image.open(io.BytesIO(heic.getvalue())); back.load()
webp = io.BytesIO(); image.save(webp, "WEBP")
print(PIL.__version__, pillow_heif.__version__, [v.width for v in result.variants], back.size,
      features.check("webp"), features.check("jpg"))
""")
    assert out.split() == ["11.3.0", "1.0.0", "[256,", "1024,", "1200]", "(1200,", "800)", "True", "True"]


def test_the_pure_python_runtime_dependencies_import_from_the_layer(unpacked):
    out = _run_clean(unpacked, """
import jwt
from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics
from chalicelib import auth, cors, telemetry
token = auth.issue_token("alice", "k" * 40)
print(auth.verify_token("Bearer " + token, "k" * 40)["sub"], Logger.__module__, Metrics.__name__)
""")
    assert out.split() == ["alice", "aws_lambda_powertools.logging.logger", "Metrics"]


def test_the_s3_trigger_covers_uploads_for_both_handlers(terraform):
    bucket = json.loads((ROOT / ".chalice" / "config.json").read_text())[
        "stages"]["prod"]["environment_variables"]["IMAGES_BUCKET"]
    [notification] = terraform["resource"]["aws_s3_bucket_notification"].values()
    assert notification["bucket"] == bucket
    wired = {(f["lambda_function_arn"], tuple(f["events"]), f["filter_prefix"], f.get("filter_suffix"))
             for f in notification["lambda_function"]}
    assert wired == {
        ("${aws_lambda_function.on_upload.arn}", ("s3:ObjectCreated:*",), "uploads/", None),
        ("${aws_lambda_function.on_delete.arn}", ("s3:ObjectRemoved:*",), "uploads/", None),
    }


def test_each_function_gets_its_own_role_with_its_own_policy(terraform):
    functions = terraform["resource"]["aws_lambda_function"]
    assert set(functions) == set(policies.FUNCTIONS)
    role_policies = {name: json.loads(p["policy"]) for name, p in terraform["resource"]["aws_iam_role_policy"].items()}
    for function, settings in functions.items():
        role = re.match(r"\$\{aws_iam_role\.(\w+)\.arn\}", settings["role"]).group(1)
        committed = json.loads(policies.policy_path("prod", function).read_text())
        assert role_policies[role] == committed, function
        assert settings["runtime"] == "python3.11"
        assert settings["layers"] == ["${aws_lambda_layer_version.managed-layer.arn}"]
    assert len({f["role"] for f in functions.values()}) == len(functions)


def test_data_routes_use_the_token_authorizer_and_preflights_do_not(terraform):
    assert terraform["resource"]["aws_api_gateway_rest_api"]["rest_api"]["body"] == "${local.chalice_api_swagger}"
    swagger = json.loads(terraform["locals"]["chalice_api_swagger"])
    assert "token_authorizer" in swagger["securityDefinitions"]
    for path, methods in swagger["paths"].items():
        for method, operation in methods.items():
            secured = "security" in operation
            assert secured == (method != "options" and path not in ("/health", "/openapi.json")), (method, path)


def test_the_contract_ships_and_the_stage_names_its_signing_secret(package, unpacked, terraform):
    assert json.loads((unpacked / "task" / "chalicelib" / "openapi.json").read_text())["openapi"].startswith("3.1")
    for name, function in terraform["resource"]["aws_lambda_function"].items():
        env = function["environment"]["variables"]
        assert env["SIGNING_SECRET_ARN"].startswith("arn:aws:secretsmanager:"), name
    api = json.loads(policies.policy_path("prod", "api_handler").read_text())
    signing = [s for s in api["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]]
    assert [s["Resource"] for s in signing] == [[terraform_env(terraform)["SIGNING_SECRET_ARN"]]]


def terraform_env(terraform) -> dict:
    return terraform["resource"]["aws_lambda_function"]["api_handler"]["environment"]["variables"]


def test_package_size_is_reported(package, record_property):
    sizes = {p.name: p.stat().st_size for p in package.glob("*.zip")}
    record_property("package_bytes", sizes)
    print(f"package sizes: {sizes}")
    assert sizes["deployment.zip"] < 1_000_000 < sizes["layer-deployment.zip"] < 50_000_000
