"""The csconnect command line: parse, call the library, print. Built in a function."""
from __future__ import annotations

import logging
import sys
import traceback
from functools import cached_property
from pathlib import Path

import click

from .. import __version__
from ..errors import CsconnectError
from ..redact import RedactingFilter, redact

log = logging.getLogger("csconnect")


class App:
    """What commands share: the config file, plugin registry and store, all loaded lazily."""

    def __init__(self, config_path: str | None = None, debug: bool = False, verbose: bool = False):
        self.config_path = config_path
        self.debug = debug
        self.verbose = verbose
        self._store = None

    @cached_property
    def registry(self):
        from ..plugins import get_registry
        return get_registry()

    @cached_property
    def config(self):
        """The whole configuration, every connection's options (and secrets) resolved."""
        from ..config import load_config
        return load_config(self.config_path, registry=self.registry)

    @cached_property
    def data_config(self):
        """The configuration without resolving connections: for commands that only read the database,
        so that `metrics run`, `kpi` or `accounts` work without the sources' secrets set."""
        if "config" in self.__dict__:
            return self.config
        from ..config import load_config
        return load_config(self.config_path, registry=None)

    def store(self):
        from ..store import Store
        if self._store is None:
            self._store = Store(self.data_config.database)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


pass_app = click.make_pass_decorator(App)


def setup_logging(debug: bool, verbose: bool) -> None:
    root = logging.getLogger("csconnect")
    for handler in list(root.handlers):
        if getattr(handler, "_csconnect", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._csconnect = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s" if debug else "%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING)
    root.propagate = False
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def build_cli() -> click.Group:
    """A fresh command tree: core commands, then every plugin's commands."""

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="csconnect")
    @click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="CSCONNECT_CONFIG",
                  help="Path to csconnect.toml (default: ./csconnect.toml).")
    @click.option("--debug", is_flag=True, help="Show debug logs and full tracebacks.")
    @click.option("-v", "--verbose", is_flag=True, help="Show progress details in the log.")
    @click.pass_context
    def cli(ctx: click.Context, config_path: str | None, debug: bool, verbose: bool) -> None:
        """csconnect: customer-success metrics from your own data, on your own machine."""
        setup_logging(debug, verbose)
        app = App(config_path, debug, verbose)
        ctx.obj = app
        ctx.call_on_close(app.close)

    from . import accounts_cmds, alerts_cmds, metrics_cmds, new_cmds, project, report_cmds, scorecard_cmds, sync_cmds
    for module in (project, sync_cmds, accounts_cmds, metrics_cmds, alerts_cmds, scorecard_cmds, report_cmds,
                   new_cmds):
        module.register(cli)
    _add_plugin_commands(cli)
    return cli


def _add_plugin_commands(cli: click.Group) -> None:
    try:
        from ..plugins import get_registry
        get_registry().add_commands(cli)
    except CsconnectError as exc:  # a broken plugin never takes the CLI down
        click.echo(f"warning: {redact(exc)}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors, exit codes 0 ok / 1 failed / 2 usage."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli = build_cli()
        rv = cli.main(args=args, prog_name="csconnect", standalone_mode=False)
        sys.exit(rv if isinstance(rv, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CsconnectError as exc:
        if debug:
            click.echo(redact("".join(traceback.format_exc())), err=True)
        click.echo(f"error: {redact(exc)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted: what was committed is kept; run the same command again to resume", err=True)
        sys.exit(130)
    except Exception as exc:  # never a bare traceback unless --debug
        if debug:
            click.echo(redact("".join(traceback.format_exc())), err=True)
        click.echo(f"error: unexpected {type(exc).__name__}: {redact(exc)} "
                   "(run again with --debug for the traceback, and please report it)", err=True)
        sys.exit(1)


def project_path(path: str) -> Path:
    return Path(path).expanduser()
