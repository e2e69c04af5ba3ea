"""What `chalice package --stage prod --pkg-format terraform` builds, offline
but for PyPI, for the python3.13 Lambda runtime (Amazon Linux 2023, glibc 2.34).

Chalice takes the runtime from the Python it runs on, and leaves out, with only
a warning, any dependency that has no wheel for it, and still "succeeds"; so
every native module is imported from the zips in a clean python3.13
interpreter, and every wheel and shared library is checked against the
runtime's glibc. The Terraform output is the one offline view of what
`chalice deploy` wires: the S3 notifications, per-function policies and the
API's authorizers.
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
RUNTIME = "python3.13"  # Lambda's; Chalice packages for the Python it runs on
LAYER_SITE = f"python/lib/{RUNTIME}/site-packages"
GLIBC = (2, 34)  # Amazon Linux 2023, under python3.12 and later
NATIVE_PACKAGES = {"PIL", "_pillow_heif"}  # every package the layer's extension modules belong to
# The glibc that the legacy manylinux tags promise (PEP 600 gives the rest in the name).
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


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


def _pins() -> dict[str, str]:
    """requirements.txt's pins, by normalised name."""
    found = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", (ROOT / "requirements.txt").read_text(), re.M)
    return {name.lower().replace("_", "-"): version for name, version in found}


def test_every_runtime_requirement_is_in_the_package_at_its_pinned_version(package):
    pinned = _pins()
    assert {"pillow", "pillow-heif"} <= set(pinned)
    with zipfile.ZipFile(package / "layer-deployment.zip") as layer:
        found = {m.group(1).lower().replace("_", "-"): m.group(2)
                 for name in layer.namelist()
                 if (m := re.match(rf"{LAYER_SITE}/([^/]+)-([^-/]+)\.dist-info/METADATA$", name))}
    for name, version in pinned.items():
        assert found.get(name.lower().replace("_", "-")) == version, (name, sorted(found))


def glibc_needed(platform_tags: list[str]) -> tuple[int, int] | None:
    """The oldest glibc a wheel runs on: the least its platform tags ask (a wheel installs
    where any of its tags does); None for a pure-Python wheel. Anything but x86_64
    manylinux (musllinux, aarch64, macOS, Windows) can never load there: ValueError."""
    needs = []
    for tag in platform_tags:
        if tag == "any":
            continue
        legacy = re.fullmatch(r"(manylinux1|manylinux2010|manylinux2014)_x86_64", tag)
        perennial = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", tag)
        if legacy:
            needs.append(_LEGACY_MANYLINUX[legacy.group(1)])
        elif perennial:
            needs.append((int(perennial.group(1)), int(perennial.group(2))))
        else:
            raise ValueError(f"{tag}: not a platform the x86_64 Lambda runtime loads")
    return min(needs) if needs else None


@pytest.mark.parametrize("tags, needed", [
    (["any"], None),
    (["manylinux2014_x86_64"], (2, 17)),
    (["manylinux_2_27_x86_64", "manylinux_2_28_x86_64"], (2, 27)),
    (["manylinux_2_34_x86_64"], (2, 34)),
    (["manylinux_2_35_x86_64"], (2, 35)),
])
def test_the_glibc_a_wheel_needs_is_read_from_its_tags(tags, needed):
    assert glibc_needed(tags) == needed


@pytest.mark.parametrize("tag", ["musllinux_1_2_x86_64", "manylinux_2_28_aarch64", "macosx_11_0_arm64"])
def test_a_wheel_for_another_platform_is_refused(tag):
    with pytest.raises(ValueError):
        glibc_needed([tag])


def test_the_package_is_built_for_the_python313_runtime():
    # Chalice writes the runtime of the Python running it: make's .venv must be 3.13.
    assert f"python{sys.version_info.major}.{sys.version_info.minor}" == RUNTIME


def test_every_packaged_wheel_runs_on_the_runtimes_glibc(package):
    with zipfile.ZipFile(package / "layer-deployment.zip") as layer:
        wheels = {n: layer.read(n).decode() for n in layer.namelist() if n.endswith(".dist-info/WHEEL")}
    needs = {name.split("/")[-2]: glibc_needed(re.findall(r"^Tag: \S+-\S+-(\S+)$", text, re.M))
             for name, text in wheels.items()}
    assert any(needs.values()), "no native wheel packaged at all"
    too_new = {wheel: need for wheel, need in needs.items() if need and need > GLIBC}
    assert not too_new, f"these wheels need a glibc newer than {GLIBC}: {too_new}"


def test_no_shared_library_asks_for_a_newer_glibc_than_the_runtimes(package):
    # The tags are the wheel's promise; the versioned symbols are what the loader checks.
    newest = {}
    with zipfile.ZipFile(package / "layer-deployment.zip") as layer:
        for name in layer.namelist():
            if re.search(r"\.so(\.|$)", name):
                found = {tuple(map(int, v)) for v in re.findall(rb"GLIBC_(\d+)\.(\d+)", layer.read(name))}
                newest[name] = max(found, default=(0, 0))
    assert len(newest) > len(NATIVE_PACKAGES)
    assert max(newest.values()) >= (2, 17), "no versioned glibc symbol found: the scan reads nothing"
    assert {n: v for n, v in newest.items() if v > GLIBC} == {}


def _native_modules(layer: zipfile.ZipFile) -> list[str]:
    """The dotted names of the layer's extension modules (.libs/ holds the libraries they bundle)."""
    return sorted(n[len(LAYER_SITE) + 1:].split(".")[0].replace("/", ".")
                  for n in layer.namelist() if n.endswith(".so") and ".libs/" not in n)


def test_only_known_native_modules_are_packaged_and_all_for_cpython313(package):
    with zipfile.ZipFile(package / "layer-deployment.zip") as layer:
        modules = _native_modules(layer)
        files = [n for n in layer.namelist() if n.endswith(".so") and ".libs/" not in n]
    assert {m.split(".")[0] for m in modules} == NATIVE_PACKAGES, "a new native dependency: check it here"
    assert [n for n in files if not re.search(r"\.(cpython-313-x86_64-linux-gnu|abi3)\.so$", n)] == []
    with zipfile.ZipFile(package / "deployment.zip") as code:
        assert not [n for n in code.namelist() if n.endswith(".so")]


def test_every_native_module_imports_from_the_zips_in_a_clean_python313(package, unpacked):
    with zipfile.ZipFile(package / "layer-deployment.zip") as layer:
        modules = _native_modules(layer)
    out = _run_clean(unpacked, f"""
import importlib
for name in {modules!r}:
    module = importlib.import_module(name)
    assert module.__file__.startswith(sys.path[1]), module.__file__
print(sys.version_info[:2], len({modules!r}))
""")
    assert out.split() == ["(3,", "13)", str(len(modules))]


def test_the_packaged_imaging_code_runs_from_the_zips_in_a_clean_interpreter(unpacked):
    # A photo, and the kinds the python3.11 pins could not read: a BigTIFF, an AVIF with alpha.
    out = _run_clean(unpacked, """
import io, PIL, pillow_heif
from PIL import Image, features
from chalicelib import config, imaging
assert PIL.__file__.startswith(sys.path[1]), PIL.__file__
settings = config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"})
pillow_heif.register_heif_opener()  # to write the HEIC; imaging registers its own to read
def saved(image, fmt, **params):
    out = io.BytesIO(); image.save(out, fmt, **params); return out.getvalue()
image = Image.new("RGB", (1200, 800), (10, 120, 200))
translucent = Image.new("RGBA", (300, 200), (200, 30, 30, 128))
results = [imaging.process(saved(image, "JPEG"), settings), imaging.process(saved(image, "HEIF", quality=50), settings),
           imaging.process(saved(image, "TIFF", big_tiff=True), settings),
           imaging.process(saved(translucent, "AVIF"), settings)]
# A still WebP is decoded by the libwebp inside the packaged Pillow, at the variant's size (shrink_on_load).
from chalicelib.imaging import shrink_on_load
scaled = shrink_on_load.scaled(saved(image, "WEBP", lossless=True), (600, 400))
print(PIL.__version__, pillow_heif.__version__, *[r.format + ":" + str(r.variants[-1].width) for r in results],
      results[-1].details["has_alpha"], *[features.check(f) for f in ("jpg", "webp", "avif", "libtiff", "zlib")],
      scaled.size, scaled.getpixel((300, 200)))
""")
    pins = _pins()
    assert out.split() == [pins["pillow"], pins["pillow-heif"], "JPEG:1200", "HEIF:1200", "TIFF:1200", "AVIF:300",
                           "True", "True", "True", "True", "True", "True", "(600,", "400)", "(10,", "120,", "200)"]


def test_the_pure_python_runtime_dependencies_import_from_the_layer(unpacked):
    out = _run_clean(unpacked, """
import jwt
from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics
from chalicelib import auth
from chalicelib.edge import cors, telemetry
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
        assert settings["runtime"] == RUNTIME
        assert settings["layers"] == ["${aws_lambda_layer_version.managed-layer.arn}"]
    assert len({f["role"] for f in functions.values()}) == len(functions)
    assert terraform["resource"]["aws_lambda_layer_version"]["managed-layer"]["compatible_runtimes"] == [RUNTIME]


def test_data_routes_use_the_token_authorizer_and_preflights_do_not(terraform):
    assert terraform["resource"]["aws_api_gateway_rest_api"]["rest_api"]["body"] == "${local.chalice_api_swagger}"
    swagger = json.loads(terraform["locals"]["chalice_api_swagger"])
    assert "token_authorizer" in swagger["securityDefinitions"]
    for path, methods in swagger["paths"].items():
        for method, operation in methods.items():
            secured = "security" in operation
            public = path in ("/health", "/openapi.json", "/", "/app/{name}", "/client-config",  # no token needed
                              "/r/{image_id}/{version}/{rendition}/{signature}")  # the signature is the credential
            assert secured == (method != "options" and not public), (method, path)


def test_the_contract_ships_and_the_stage_names_its_signing_secret(package, unpacked, terraform):
    assert json.loads((unpacked / "task" / "chalicelib" / "edge" / "openapi.json").read_text())["openapi"].startswith("3.1")
    for name, function in terraform["resource"]["aws_lambda_function"].items():
        env = function["environment"]["variables"]
        assert env["SIGNING_SECRET_ARN"].startswith("arn:aws:secretsmanager:"), name
    api = json.loads(policies.policy_path("prod", "api_handler").read_text())
    signing = [s for s in api["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]]
    env = terraform_env(terraform)
    assert [s["Resource"] for s in signing] == [[env["SIGNING_SECRET_ARN"], env["DELIVERY_KEYS_ARN"]]]
    renderer = json.loads(policies.policy_path("prod", "renderer").read_text())
    keys = [s["Resource"] for s in renderer["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]]
    assert keys == [[env["DELIVERY_KEYS_ARN"]]]  # the renderer reads the delivery keys and no other secret


def terraform_env(terraform) -> dict:
    return terraform["resource"]["aws_lambda_function"]["api_handler"]["environment"]["variables"]


def test_package_size_is_reported(package, record_property):
    sizes = {p.name: p.stat().st_size for p in package.glob("*.zip")}
    record_property("package_bytes", sizes)
    print(f"package sizes: {sizes}")
    assert sizes["deployment.zip"] < 1_000_000 < sizes["layer-deployment.zip"] < 50_000_000


def test_the_deploy_page_states_this_runtime_and_its_glibc():
    text = (ROOT / "docs" / "deploy.md").read_text()
    runtime = text.split("\n## The runtime\n", 1)[1].split("\n## ", 1)[0]
    rule = text.split("\n## The deployment package\n", 1)[1].split("\n## ", 1)[0]
    assert f"**{RUNTIME}** runtime" in runtime and f"glibc {GLIBC[0]}.{GLIBC[1]}" in runtime
    assert f"glibc {GLIBC[0]}.{GLIBC[1]} or older" in rule
    pins = _pins()
    assert f"Pillow {pins['pillow']}" in rule and f"pillow-heif {pins['pillow-heif']}" in rule
