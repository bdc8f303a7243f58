"""Commands about the installation and the project: plugins, install, connectors, init, check, schema."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from ..config import CONFIG_NAME
from ..connector import Connector, Option
from ..errors import CsconnectError, UsageError
from ..model import describe
from ..redact import redact
from . import App, pass_app
from .output import echo_err, format_option, join, render


def register(cli: click.Group) -> None:
    for command in (plugins, install, connectors, init, check, schema):
        cli.add_command(command)


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Also list csconnect's built-in plugins (the webhook sink).")
@format_option
@pass_app
def plugins(app: App, show_all: bool, fmt: str) -> None:
    """Installed plugins: distribution, version, connectors, metric packs and alert sinks."""
    reg = app.registry
    infos = sorted(reg.plugins.values(), key=lambda p: p.name)
    infos += list(reg.builtins.values()) if show_all else []
    rows = [{"plugin": p.name, "distribution": p.distribution, "version": p.version,
             "connectors": sorted(p.connectors), "packs": sorted(p.packs), "sinks": sorted(p.sinks),
             "status": "error" if p.error else "ok", "error": p.error}
            for p in infos]
    if fmt == "table":
        for r in rows:
            r["connectors"], r["packs"], r["sinks"] = join(r["connectors"]), join(r["packs"]), join(r["sinks"])
        render(rows, fmt, ["plugin", "distribution", "version", "connectors", "packs", "sinks", "status"],
               empty="no plugins installed; see `csconnect install --help`")
    else:
        render(rows, fmt)
    for problem in reg.problems():
        echo_err(f"problem: {redact(problem)}")
    if reg.conflicts:
        raise click.exceptions.Exit(1)


@click.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade to the newest version.")
@click.option("-e", "--editable", is_flag=True, help="Install a local folder in editable mode.")
def install(packages: tuple[str, ...], upgrade: bool, editable: bool) -> None:
    """pip-install plugins (e.g. csconnect-stripe) into this environment."""
    cmd = [sys.executable, "-m", "pip", "install"] + (["--upgrade"] if upgrade else [])
    for p in packages:
        cmd += ["-e", p] if editable else [p]
    code = subprocess.call(cmd)
    if code:
        raise CsconnectError(f"pip install {' '.join(packages)} failed (exit {code}); see pip's output above")


def _type_name(opt: Option) -> str:
    return opt.type.__name__ if isinstance(opt.type, type) else str(opt.type)


@click.command()
@click.argument("name", required=False)
@format_option
@pass_app
def connectors(app: App, name: str | None, fmt: str) -> None:
    """Installed connectors; with NAME, its options and streams."""
    reg = app.registry
    if name is None:
        rows = [{"connector": n, "title": r.cls.title, "category": r.cls.category,
                 "distribution": r.plugin.distribution,
                 "streams": join(s.name for s in r.cls.streams)}  # type: ignore[attr-defined]
                for n, r in sorted(reg.connectors.items())]
        render(rows, fmt, empty="no connectors installed")
        return
    cls = reg.connector(name)
    opts = [{"option": o.name, "type": _type_name(o), "default": None if o.required else o.default,
             "required": o.required, "secret": o.secret, "env": o.env, "help": o.help}
            for o in cls.all_options()]
    streams = [{"stream": s.name, "primary_key": s.primary_key, "incremental": s.incremental,
                "cursor": s.cursor_field, "tables": join(s.tables), "keeps_raw": s.store_raw}
               for s in cls.streams]
    if fmt != "table":
        render([{"connector": name, "title": cls.title, "category": cls.category,
                 "options": opts, "streams": streams}], fmt)
        return
    click.echo(f"{name}: {cls.title} ({cls.category})")
    render(opts, title="options")
    render(streams, title="streams")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_template(connector_classes: list[type[Connector]]) -> str:
    """A commented csconnect.toml for the given connectors."""
    lines = [
        "# csconnect configuration. Secrets come from the environment or from .env beside this file:",
        "# write api_key = \"${STRIPE_API_KEY}\", never the key itself.",
        "",
        'database = "csconnect.db"',
        'reporting_currency = "USD"',
        "",
        "# Units of the reporting currency per unit of each other currency you bill in.",
        "[fx_rates]",
        "# EUR = 1.08",
        "",
    ]
    for cls in connector_classes:
        lines.append(f"# {cls.title or cls.name} ({cls.category}). Uncomment to connect; "
                     f"`csconnect connectors {cls.name}` lists every option.")
        lines.append(f"# [connections.{cls.name}]")
        lines.append(f'# connector = "{cls.name}"')
        for o in cls.all_options():
            if o.secret:
                env = o.env or f"{cls.name.upper()}_{o.name.upper()}"
                lines.append(f'# {o.name} = "${{{env}}}"' + (f"  # {o.help}" if o.help else ""))
            elif o.required:
                placeholder = {int: "0", float: "0.0", bool: "false", list: "[]", dict: "{}"}.get(o.type, '""')
                lines.append(f"# {o.name} = {placeholder}  # required" + (f": {o.help}" if o.help else ""))
            elif o.default is not None and o.name not in ("timeout", "max_attempts", "allow_insecure"):
                lines.append(f"# {o.name} = {_toml_value(o.default)}" + (f"  # {o.help}" if o.help else ""))
        lines.append("")
    return "\n".join(lines)


@click.command()
@click.option("--force", is_flag=True, help=f"Overwrite an existing {CONFIG_NAME}.")
@click.option("--path", "target", default=CONFIG_NAME, show_default=True, type=click.Path(dir_okay=False))
@pass_app
def init(app: App, force: bool, target: str) -> None:
    """Write a commented csconnect.toml for the installed connectors."""
    path = Path(target)
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; use --force to overwrite it")
    classes = [r.cls for _, r in sorted(app.registry.connectors.items())]
    # owner-only (0600): the file is where people paste keys, whatever the template advises
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(config_template(classes))  # type: ignore[arg-type]
    click.echo(f"wrote {path} with {len(classes)} connector(s); edit it, then run `csconnect check`")


@click.command()
@click.argument("connections", nargs=-1)
@pass_app
def check(app: App, connections: tuple[str, ...]) -> None:
    """Verify each connection's credentials with one cheap request (and, without names, each [packs.*] table)."""
    from ..metrics import check_pack_params
    from ..sync import plan
    failed = 0
    for name in [] if connections else sorted(app.config.packs):
        if name not in app.registry.packs:
            continue
        try:
            check_pack_params(app.config, app.registry.pack(name))
            click.echo(f"packs.{name}: ok")
        except CsconnectError as exc:
            failed += 1
            click.echo(redact(str(exc)), err=True)
    if not connections and app.config.targets:
        from ..scorecard import metric_catalogue, parse_targets
        try:
            n = len(parse_targets(app.config, metric_catalogue(None, app.registry)))
            click.echo(f"targets: ok ({n} KPI target{'s' if n != 1 else ''})")
        except CsconnectError as exc:
            failed += 1
            click.echo(redact(str(exc)), err=True)
    for connector, _ in plan(app.config, app.registry, connections or None):
        try:
            detail = connector.check()
            click.echo(f"{connector.connection}: ok" + (f" ({detail})" if detail else ""))
        except CsconnectError as exc:
            failed += 1
            text = str(exc)
            click.echo(redact(text if text.startswith(connector.connection) else f"{connector.connection}: {text}"),
                       err=True)
        finally:
            connector.close()
    if failed:
        raise click.exceptions.Exit(1)


@click.command()
@click.argument("tables", nargs=-1)
@format_option
def schema(tables: tuple[str, ...], fmt: str) -> None:
    """The canonical model: tables, columns, types and allowed values."""
    from ..model import TABLES
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise UsageError(f"no canonical table {', '.join(unknown)} (tables: {', '.join(TABLES)})")
    model = describe(tables or None)
    if fmt != "table":
        render(model, fmt)
        return
    for t in model:
        rows = [{"column": c["name"], "type": c["type"], "required": "yes" if c["required"] else "",
                 "values": join(c["enum"]) if c["enum"] else "", "note": c["doc"]} for c in t["columns"]]
        render(rows, title=f"{t['table']} — {t['grain']}")
