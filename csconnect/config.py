"""csconnect.toml: loading, `${ENV}` interpolation, `.env`, and one-line errors.

Every problem names the file and the key: `csconnect.toml: connections.stripe.api_kee:
unknown option (stripe takes: api_key, base_url, …)`.
"""
from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from dotenv import dotenv_values

from .connector import NAME_RE, Option
from .errors import ConfigError
from .redact import add_secret

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger("csconnect.config")
CONFIG_NAME = "csconnect.toml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

# Top-level keys and what they hold. Sections owned by features register here.
TOP_LEVEL: dict[str, type] = {
    "database": str,
    "reporting_currency": str,
    "fx_rates": dict,
    "connections": dict,
    "packs": dict,
    "identity": dict,
    "sync": dict,
    "alerts": dict,      # alert rules and sinks (csconnect/alerts.py)
    "targets": dict,     # KPI targets for the scorecard (csconnect/scorecard.py)
}
SYNC_KEYS: dict[str, type] = {"concurrency": int, "link_after_sync": bool}
IDENTITY_KEYS: dict[str, type] = {"overrides": dict, "overrides_csv": str, "free_mail_domains": list,
                                  "precedence": dict}


@dataclass
class ConnectionConfig:
    name: str
    connector: str
    settings: dict[str, Any]


@dataclass
class Config:
    path: Path | None
    root: Path
    database: Path
    reporting_currency: str = "USD"
    fx_rates: dict[str, float] = field(default_factory=dict)
    connections: dict[str, ConnectionConfig] = field(default_factory=dict)
    packs: dict[str, dict[str, Any]] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    sync: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.path.name if self.path else CONFIG_NAME

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.label}: {key}: {message}")


def find_config(path: str | os.PathLike[str] | None = None) -> Path | None:
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"{p}: no such file; create one with `csconnect init`")
        return p
    p = Path.cwd() / CONFIG_NAME
    return p if p.exists() else None


def load_config(path: str | os.PathLike[str] | None = None, *, registry: Any = None,
                environ: Mapping[str, str] | None = None, require: bool = False) -> Config:
    """Read and validate csconnect.toml (or defaults when there is none and not `require`)."""
    file = find_config(path)
    if file is None:
        if require:
            raise ConfigError(f"no {CONFIG_NAME} in {Path.cwd()}; create one with `csconnect init`")
        root = Path.cwd()
        return Config(None, root, root / "csconnect.db", env=_environment(root, environ))
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file.name}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file.name}: cannot read it: {exc}") from None
    root = file.resolve().parent
    cfg = Config(file, root, root / "csconnect.db", env=_environment(root, environ))
    _check_keys(cfg, "", data, TOP_LEVEL)
    for top, kind in TOP_LEVEL.items():   # `fx_rates = false` is a one-line error, not a crash below
        if top in data:
            _typed(cfg, top, data[top], kind)
    cfg.database = root / _typed(cfg, "database", data.get("database", "csconnect.db"), str)
    cur = _typed(cfg, "reporting_currency", data.get("reporting_currency", "USD"), str).upper()
    if not _CURRENCY.match(cur):
        raise cfg.error("reporting_currency", f"{cur!r} is not an ISO 4217 code such as USD or EUR")
    cfg.reporting_currency = cur
    for code, rate in data.get("fx_rates", {}).items():
        key = f"fx_rates.{code}"
        if not _CURRENCY.match(code.upper()):
            raise cfg.error(key, "not an ISO 4217 currency code")
        value = _typed(cfg, key, rate, float)
        if value <= 0:
            raise cfg.error(key, "a rate must be a positive number (units of reporting currency per unit)")
        cfg.fx_rates[code.upper()] = value
    cfg.sync = dict(data.get("sync", {}))
    _check_keys(cfg, "sync.", cfg.sync, SYNC_KEYS)
    for k, v in cfg.sync.items():
        _typed(cfg, f"sync.{k}", v, SYNC_KEYS[k])
    cfg.identity = dict(data.get("identity", {}))
    _check_keys(cfg, "identity.", cfg.identity, IDENTITY_KEYS)
    for k, v in cfg.identity.items():
        _typed(cfg, f"identity.{k}", v, IDENTITY_KEYS[k])
    cfg.alerts = dict(_typed(cfg, "alerts", data.get("alerts", {}), dict))
    if cfg.alerts:
        from .alerts import parse_alerts
        parse_alerts(cfg)   # rules and sinks checked now: one line naming alerts.rules[N].key
    cfg.targets = dict(_typed(cfg, "targets", data.get("targets", {}), dict))
    cfg.packs = {k: dict(_typed(cfg, f"packs.{k}", v, dict)) for k, v in data.get("packs", {}).items()}
    for name, table in data.get("connections", {}).items():
        cfg.connections[name] = _connection(cfg, name, table, registry)
    return cfg


def _environment(root: Path, environ: Mapping[str, str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    dotenv = root / ".env"
    if dotenv.exists():
        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    return env


def _check_keys(cfg: Config, prefix: str, data: Mapping[str, Any], known: Mapping[str, Any]) -> None:
    for key in data:
        if key not in known:
            hint = ", ".join(known)
            raise cfg.error(prefix + key, f"unknown key (known keys here: {hint})")


_TYPE_WORDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
               list: "a list", dict: "a table"}


def _typed(cfg: Config, key: str, value: Any, kind: type) -> Any:
    """Check one value's type; ints are accepted for floats."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        ok = False
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise cfg.error(key, f"must be {_TYPE_WORDS.get(kind, kind.__name__)}, got {value!r}")
    return value


def interpolate(cfg: Config, key: str, value: str) -> str:
    """Replace ${NAME} and ${NAME:-default} from the environment (.env included)."""

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in cfg.env and cfg.env[name] != "":
            return cfg.env[name]
        if default is not None:
            return default
        raise cfg.error(key, f"needs the environment variable {name}, which is not set "
                             f"(export it, or put {name}=… in .env beside {cfg.label})")

    return _ENV_REF.sub(sub, value)


def resolve_options(cfg: Config, key: str, options: tuple[Option, ...], given: Mapping[str, Any],
                    owner: str, warn_literal: bool = True) -> dict[str, Any]:
    """Validate `given` against typed options: unknown keys, types, choices, secrets, defaults."""
    by_name = {o.name: o for o in options}
    for k in given:
        if k not in by_name:
            takes = ", ".join(by_name) or "no options"
            raise cfg.error(f"{key}.{k}", f"unknown option ({owner} takes: {takes})")
    out: dict[str, Any] = {}
    for opt in options:
        okey = f"{key}.{opt.name}"
        if opt.name in given:
            value = given[opt.name]
            literal = isinstance(value, str) and not _ENV_REF.search(value)
            if isinstance(value, str):
                value = interpolate(cfg, okey, value)
            if opt.secret and literal and value and warn_literal:
                log.warning("%s: %s is written in the file; put it in the environment and write "
                            "%s = \"${%s}\" instead", cfg.label, okey, opt.name,
                            opt.env or opt.name.upper())
                _warn_if_readable(cfg, okey)
            value = _coerce_option(cfg, okey, opt, value)
        elif opt.env and cfg.env.get(opt.env):
            value = _coerce_option(cfg, okey, opt, cfg.env[opt.env])
        elif opt.required:
            where = f" or set the environment variable {opt.env}" if opt.env else ""
            raise cfg.error(okey, f"is required: add {opt.name} = … to [{key}]{where}")
        else:
            value = opt.default
        if opt.secret and value:
            add_secret(str(value))
        out[opt.name] = value
    return out


def _warn_if_readable(cfg: Config, key: str) -> None:
    """A file holding a literal secret that other users may read: say so, with the fix."""
    if cfg.path is None or os.name != "posix":
        return
    try:
        mode = cfg.path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        log.warning("%s: %s holds a secret and the file can be read by other users (mode %s); run "
                    "`chmod 600 %s`", cfg.path, key, oct(mode & 0o777)[2:], cfg.path)


def _coerce_option(cfg: Config, key: str, opt: Option, value: Any) -> Any:
    if isinstance(value, str) and opt.type in (int, float, bool):
        text = value.strip()
        try:
            if opt.type is bool:
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = text.lower() in ("true", "1", "yes")
            else:
                value = opt.type(text)
        except ValueError:
            raise cfg.error(key, f"must be {_TYPE_WORDS[opt.type]}, got {value!r}") from None
    value = _typed(cfg, key, value, opt.type)
    if opt.choices and value not in opt.choices:
        raise cfg.error(key, f"must be one of {', '.join(map(str, opt.choices))}, got {value!r}")
    if opt.min is not None and value is not None and value < opt.min:
        raise cfg.error(key, f"must be at least {opt.min:g}, got {value!r}")
    if opt.max is not None and value is not None and value > opt.max:
        raise cfg.error(key, f"must be at most {opt.max:g}, got {value!r}")
    return value


def _connection(cfg: Config, name: str, table: Any, registry: Any) -> ConnectionConfig:
    key = f"connections.{name}"
    if not NAME_RE.match(name):
        raise cfg.error(key, "a connection name must be lower-case letters, digits and _ (e.g. stripe_eu)")
    table = _typed(cfg, key, table, dict)
    connector = table.get("connector", name)
    if not isinstance(connector, str):
        raise cfg.error(f"{key}.connector", f"must be text, got {connector!r}")
    given = {k: v for k, v in table.items() if k != "connector"}
    if registry is None:
        return ConnectionConfig(name, connector, given)
    try:
        cls = registry.connector(connector)
    except Exception as exc:
        raise cfg.error(f"{key}.connector", str(exc)) from None
    settings = resolve_options(cfg, key, cls.all_options(), given, connector)
    return ConnectionConfig(name, connector, settings)
