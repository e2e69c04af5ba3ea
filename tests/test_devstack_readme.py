"""The README shows the examples `make run` prints, for the default ports."""
from pathlib import Path

from devstack import guide

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_shows_the_printed_examples_verbatim():
    text = README.read_text()
    examples = guide.examples("http://127.0.0.1:8000", "http://127.0.0.1:5000", "imgstore-local-images",
                              "imgstore-local-images", "us-east-1")
    for example in examples:
        assert f"# {example.comment}" in text
        for command in example.commands:
            assert f"\n{command}\n" in text, command
