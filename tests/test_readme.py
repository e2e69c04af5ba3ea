"""The README's configuration table says what config.py does."""
import re
from pathlib import Path

from chalicelib import config

ROOT = Path(__file__).resolve().parent.parent


def _table(section: str) -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", body, flags=re.M)
    return {name: default.strip() for name, default in rows}


def test_every_variable_config_reads_is_documented():
    read = set(re.findall(r'"([A-Z][A-Z_]+)"', (ROOT / "chalicelib" / "config.py").read_text()))
    assert read - set(_table("Configuration")) == set()


def test_documented_numeric_defaults_are_the_real_ones():
    settings = config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"})
    numeric = {name: int(value) for name, value in _table("Configuration").items() if value.isdigit()}
    assert numeric, "the table lists numeric defaults"
    for name, value in numeric.items():
        assert getattr(settings, name.lower()) == value, name


def test_documented_presets_are_the_real_ones():
    documented = _table("Configuration")["VARIANT_PRESETS"]
    assert documented == ", ".join(f"{p.name} {p.box}" for p in config.DEFAULT_PRESETS)
