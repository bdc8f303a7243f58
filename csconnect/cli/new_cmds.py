"""`csconnect new`: start a connector or metric-pack plugin from a template."""
from __future__ import annotations

from pathlib import Path

import click

from ..connector import CATEGORIES
from ..scaffold import scaffold, template_values


def register(cli: click.Group) -> None:
    cli.add_command(new)


@click.group()
def new() -> None:
    """Start a new plugin that passes its own tests: a connector or a metric pack."""


dir_option = click.option("--dir", "directory", default=".", show_default=True,
                          type=click.Path(file_okay=False), help="Folder to create the plugin's folder in.")


@new.command("connector")
@click.argument("name")
@dir_option
@click.option("--category", type=click.Choice(CATEGORIES), default="crm", show_default=True,
              help="What kind of source it reads.")
def new_connector(name: str, directory: str, category: str) -> None:
    """Write a connector plugin in csconnect-NAME/.

    It passes its own tests before you change a line. NAME is a lower-case identifier
    (letters, digits, single underscores), e.g. acme_crm.
    """
    _done(scaffold("connector", name, directory, category=category), "connector", name)


@new.command("pack")
@click.argument("name")
@dir_option
def new_pack(name: str, directory: str) -> None:
    """Write a metric-pack plugin in csconnect-pack-NAME/.

    It passes its own tests before you change a line. NAME is a lower-case identifier
    (letters, digits, single underscores), e.g. renewals.
    """
    _done(scaffold("pack", name, directory), "pack", name)


def _done(folder: Path, kind: str, name: str) -> None:
    values = template_values(kind, name)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    click.echo(f"created {folder} ({values['dist']}, module {values['module']}, {kind} {name}):")
    for f in files:
        click.echo(f"  {f}")
    click.echo(f"next:\n  cd {folder}\n  pip install -e '.[test]'\n  pytest\n"
               "then change the code to your source, and see docs/publishing-a-plugin.md to publish it")
