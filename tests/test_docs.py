"""The README is a short front door into docs/, and the docs' tables and
examples say what the code does."""

import re
from pathlib import Path

from chalicelib import config
from chalicelib.domain.records import ImageRecord
from devstack import guide

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 200


def _page(name: str) -> str:
    return (DOCS / name).read_text()


def _section(text: str, title: str) -> str:
    """The body of `## title`, up to the next heading of level 1 or 2."""
    return re.split(r"\n#{1,2} ", text.split(f"\n## {title}\n", 1)[1], maxsplit=1)[0]


def _readme_links() -> set[str]:
    return set(re.findall(r"\]\((docs/[^)#\s]+)(?:#[^)]*)?\)", README.read_text()))


# -- the README ----------------------------------------------------------------


def test_the_readme_is_at_most_200_lines():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"


def test_the_two_commands_open_the_readme():
    head = "\n".join(README.read_text().splitlines()[:10])
    assert "make run" in head and "make test" in head


def test_every_docs_link_in_the_readme_resolves():
    links = _readme_links()
    assert links, "the README links into docs/"
    assert sorted(link for link in links if not (ROOT / link).is_file()) == []


def test_every_docs_page_is_linked_from_the_readme():
    pages = {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    assert pages - _readme_links() == set()


def test_links_between_docs_pages_resolve():
    broken = []
    for page in DOCS.glob("*.md"):
        for target, anchor in re.findall(r"\]\(([\w.-]+\.md)(?:#([\w-]+))?\)", page.read_text()):
            path = DOCS / target
            if not path.is_file():
                broken.append(f"{page.name} -> {target}")
            elif anchor and anchor not in _anchors(path.read_text()):
                broken.append(f"{page.name} -> {target}#{anchor}")
        for anchor in re.findall(r"\]\(#([\w-]+)\)", page.read_text()):
            if anchor not in _anchors(page.read_text()):
                broken.append(f"{page.name} -> #{anchor}")
    assert broken == []


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lowercased, punctuation dropped, spaces to hyphens."""
    titles = re.findall(r"^#+ (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", t.strip().lower()).replace(" ", "-") for t in titles}


# -- the examples `make run` prints ---------------------------------------------


def _examples():
    return guide.examples(
        "http://127.0.0.1:8000", "http://127.0.0.1:5000", "imgstore-local-images", "imgstore-local-images", "us-east-1"
    )


def test_the_local_stack_page_shows_the_printed_examples_verbatim():
    text = _page("local-stack.md")
    for example in _examples():
        assert f"# {example.comment}" in text
        for command in example.commands:
            assert f"\n{command}\n" in text, command


def test_the_readme_first_upload_is_the_printed_one_verbatim():
    text = README.read_text()
    first = _examples()[0]
    assert f"# {first.comment}\n" in text
    for command in first.commands:
        assert f"\n{command}\n" in text, command
    # Every command the README shows in a bash block is one `make run` prints.
    printed = {c for e in _examples() for c in e.commands}
    shown = [
        line.strip()
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S)
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert shown and [c for c in shown if c not in printed] == []


# -- docs/configuration.md ----------------------------------------------------


def _config_table() -> dict[str, str]:
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", _page("configuration.md"), flags=re.M)
    return {name: default.strip() for name, default in rows}


def test_every_variable_config_reads_is_documented():
    read = set(re.findall(r'"([A-Z][A-Z_]+)"', (ROOT / "chalicelib" / "config.py").read_text()))
    assert read - set(_config_table()) == set()


def test_documented_numeric_defaults_are_the_real_ones():
    settings = config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"})
    numeric = {name: int(value) for name, value in _config_table().items() if value.isdigit()}
    assert numeric, "the table lists numeric defaults"
    for name, value in numeric.items():
        assert getattr(settings, name.lower()) == value, name


def test_documented_presets_are_the_real_ones():
    documented = _config_table()["VARIANT_PRESETS"]
    assert documented == ", ".join(f"{p.name} {p.box}" for p in config.DEFAULT_PRESETS)


def test_documented_record_expiry_is_the_real_one():
    settings = config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"})
    text = _page("configuration.md")
    assert f"`pending` record expires after {settings.pending_ttl_days} days" in text
    assert "`rejected` one\nafter `QUARANTINE_DAYS`" in text
    assert _config_table()["QUARANTINE_DAYS"] == str(settings.quarantine_days)


# -- docs/api.md -------------------------------------------------------------------


def _route_rows() -> dict[str, str]:
    rows = re.findall(
        r"^\| `(GET|HEAD|POST|PATCH|DELETE) ([^`?]+)[^`]*` \|[^|]*\|[^|]*\| ([^|]*)\|", _page("api.md"), flags=re.M
    )
    return {f"{method} {path}": errors for method, path, errors in rows}


def test_every_route_is_in_the_endpoint_table():
    from app import app

    served = {
        f"{m} {p.replace('{image_id}', '{id}')}" for p, entry in app.routes.items() for m in entry if m != "OPTIONS"
    }
    assert set(_route_rows()) == served


def test_the_endpoint_table_lists_exactly_the_statuses_of_the_contract():
    from chalicelib.edge import openapi

    rows = _route_rows()
    for path, method, operation in openapi.operations(openapi.raw()):
        route = f"{method.upper()} {path.replace('{image_id}', '{id}')}"
        errors = {code for code in operation["responses"] if code >= "400"}
        assert set(re.findall(r"\d{3}", rows[route])) == errors, route
    # The statuses issue 10 asked for by name.
    assert "403" in rows["GET /images"] and "409" in rows["POST /images/{id}/reprocess"]
    assert "409" not in rows["DELETE /images/{id}"]  # a user's delete wins over background work


def _field_names(table: str) -> set[str]:
    """The `names` in a table's first column, past its header."""
    cells = re.findall(r"^\| ([^|]+?) \|", table, flags=re.M)[1:]
    return {name for cell in cells for name in re.findall(r"`(\w+)`", cell)}


def test_the_record_table_lists_every_field_the_api_returns():
    documented = _field_names(_section(_page("api.md"), "The image record"))
    added_by_imaging = _field_names(_section(_page("imaging.md"), "What the record gains"))
    bare = ImageRecord(image_id="a" * 32, owner="alice", filename="a.jpg", original_key="k", source="api")
    assert documented == set(bare.to_api()) | added_by_imaging


def test_the_module_map_names_every_module_of_chalicelib():
    architecture = _section(README.read_text(), "Architecture")
    mapped = set(re.findall(r"^\| `([\w/.]+)` \|", architecture, flags=re.M))
    package = ROOT / "chalicelib"
    modules = {p.name for p in package.glob("*.py") if p.name != "__init__.py"}
    modules |= {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").is_file()}
    assert mapped == modules
