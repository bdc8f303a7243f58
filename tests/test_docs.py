"""Docs that cannot drift: every command and hook documented, the schema page generated."""
from __future__ import annotations

from pathlib import Path

from csconnect import hookspecs
from csconnect.cli import build_cli
from csconnect.model import markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_schema_page_is_generated_from_the_model():
    assert (DOCS / "schema.md").read_text(encoding="utf-8") == markdown(), \
        "docs/schema.md is stale: python -c \"from csconnect.model import markdown; print(markdown())\" > docs/schema.md"


def test_every_command_is_in_the_cli_reference():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    cli = build_cli()
    for name, cmd in cli.commands.items():
        assert f"csconnect {name}" in text, f"`csconnect {name}` is missing from docs/cli.md"
        for sub in getattr(cmd, "commands", {}):
            assert f"{name} {sub}" in text, f"`csconnect {name} {sub}` is missing from docs/cli.md"


def test_every_hook_has_a_docs_section():
    text = (DOCS / "writing-a-connector.md").read_text(encoding="utf-8")
    for name in dir(hookspecs):
        if name.startswith("register_"):
            assert f"### {name}" in text, f"hook {name} has no section in docs/writing-a-connector.md"
