"""docs/imaging.md says what the code does."""
from __future__ import annotations

import re

from chalicelib import config, imaging
from chalicelib.domain import formats
from tests.conftest import ROOT

from . import corpus
from .conftest import settings_with


def _section(title: str) -> str:
    text = (ROOT / "docs" / "imaging.md").read_text()
    return text.split(f"\n## {title}\n", 1)[1].split("\n#", 1)[0]


def _first_column(title: str) -> list[str]:
    return re.findall(r"^\| ([^|]+?) \|", _section(title), flags=re.M)[1:]  # past the header


def test_every_accepted_format_is_documented():
    documented = {name for cell in _first_column("Formats") for name in cell.split(", ")}
    assert documented == {f.name for f in formats.ACCEPTED}


def test_every_preset_format_is_documented():
    formats_cell = next(row for row in _section("Presets").splitlines() if row.startswith("| `format`"))
    assert set(re.findall(r"`(\w+)`", formats_cell)) - {"format"} == set(config.PRESET_FORMATS)


def test_the_record_fields_documented_are_the_ones_imaging_adds():
    documented = {name for cell in _first_column("What the record gains")
                  for name in re.findall(r"`(\w+)`", cell)}
    details = imaging.process(corpus.camera_jpeg(), settings_with()).details
    assert documented == set(details) | {"width", "height"}


def test_the_measured_table_is_in():
    table = _section("Speed and memory")
    assert "| 24 MP JPEG" in table and "nproc" in table
    # Figures say which command produced them, and when.
    assert re.search(r"What `make bench` printed on \d{4}-\d{2}-\d{2}", table)
