"""docs/cli.md is what the generator prints from the app: the reference cannot drift."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "cli_reference", DOCS / "generate_cli_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_is_up_to_date() -> None:
    expected = _generator().render()
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == expected, (
        "docs/cli.md is stale: run python docs/generate_cli_reference.py > docs/cli.md"
    )


def test_the_reference_covers_every_command_and_option() -> None:
    import typer

    from kombo_cli.app import app

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        assert f"## `kombo {name}`" in text
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-"):
                    assert f"`{opt}`" in text, (name, opt)
    assert "| 7 | some files failed |" in text


ROOT = DOCS.parent
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(document: Path) -> set[str]:
    """The anchors GitHub gives a document's headings."""
    anchors = set()
    text = re.sub(r"```.*?```", "", document.read_text(encoding="utf-8"), flags=re.DOTALL)
    for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE):
        text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
        anchors.add(text.replace(" ", "-"))
    return anchors


def test_links_between_the_readme_and_the_docs_lead_somewhere() -> None:
    documents = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]
    checked = 0
    for document in documents:
        text = re.sub(r"```.*?```", "", document.read_text(encoding="utf-8"), flags=re.DOTALL)
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue  # https://, mailto: and the like
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            assert linked.exists(), f"{document.name} links to {target}: no such file"
            if anchor:
                assert anchor in _anchors(linked), f"{document.name} links to {target}: no heading"
            checked += 1
    assert checked >= 30


def test_nothing_points_at_readme_sections_that_moved_to_docs() -> None:
    # The README keeps a short Settings section (docs/cli.md points at it); the reference
    # that was in it lives in docs/ now.
    for path in (ROOT / "pyproject.toml", *DOCS.glob("*.md"), *DOCS.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for section in ("Performance", "Batches", "Reliability", "Stored settings", "Output"):
            assert f"README, {section}" not in text, (path.name, section)
            assert f"README's {section}" not in text, (path.name, section)
