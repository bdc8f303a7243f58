"""Finding, loading and registering plugins (entry-point group `csconnect`).

Loading is lazy and happens once. `CSCONNECT_LOAD_PLUGINS` is an allow-list of
entry-point or distribution names (comma separated; set but empty = none).
`CSCONNECT_TRACE_PLUGINS=1` prints every hook call to stderr.
"""
from __future__ import annotations

import importlib
import os
import sys
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable

import pluggy

from . import hookspecs
from .alert_sinks import validate_sink_class
from .connector import Connector, validate_connector_class
from .errors import PluginError
from .packs import MetricPack, validate_pack_class

GROUP = "csconnect"
# Built-in behaviour registered like a plugin (after the installed ones, so a plugin's name wins).
DEFAULT_PLUGINS = ("csconnect.alert_sinks",)


@dataclass
class PluginInfo:
    name: str                      # entry-point (or registration) name
    distribution: str
    version: str
    connectors: list[str] = field(default_factory=list)
    packs: list[str] = field(default_factory=list)
    sinks: list[str] = field(default_factory=list)
    commands: bool = False
    error: str | None = None


@dataclass
class Registered:
    cls: type
    plugin: PluginInfo


class Registry:
    """What the installed plugins contribute: connectors, metric packs and alert sinks by name.

    `plugins` holds the installed plugins; `builtins` the core's own (DEFAULT_PLUGINS).
    """

    def __init__(self, pm: pluggy.PluginManager, infos: dict[str, PluginInfo],
                 builtins: dict[str, PluginInfo] | None = None):
        self.pm = pm
        self.plugins = infos
        self.builtins = builtins or {}
        self.connectors: dict[str, Registered] = {}
        self.packs: dict[str, Registered] = {}
        self.sinks: dict[str, Registered] = {}
        self.conflicts: dict[tuple[str, str], str] = {}
        self._collect("register_connectors", "connector", self.connectors, validate_connector_class)
        self._collect("register_metric_packs", "metric pack", self.packs, validate_pack_class)
        self._collect("register_alert_sinks", "alert sink", self.sinks, validate_sink_class)
        self._check_metric_names()

    def _check_metric_names(self) -> None:
        """Metric names are global: two packs declaring one name would overwrite each other's values."""
        owner: dict[str, Registered] = {}
        for name, reg in sorted(self.packs.items()):
            for metric in reg.cls.metrics:  # type: ignore[attr-defined]
                other = owner.setdefault(metric.name, reg)
                if other is not reg:
                    message = (f"metric {metric.name!r} is declared by two metric packs: {other.cls.name} "
                               f"({describe(other.plugin)}) and {name} ({describe(reg.plugin)}); "
                               "uninstall one of them")
                    for pack in (other.cls.name, name):  # type: ignore[attr-defined]
                        self.conflicts.setdefault(("metric pack", pack), message)

    def _collect(self, hook: str, kind: str, into: dict[str, Registered],
                 validate: Callable[[Any], None]) -> None:
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        for impl in sorted(impls, key=lambda i: i.plugin_name in self.builtins):   # built-ins last
            info = self.builtins.get(impl.plugin_name) or self.plugins.get(impl.plugin_name) \
                or self._info_for(impl.plugin_name)

            def register(cls: Any, _info: PluginInfo = info) -> None:
                try:
                    validate(cls)
                except ValueError as exc:
                    raise PluginError(f"plugin {_info.name} ({_info.distribution}): {exc}") from None
                name = cls.name
                if name in into and into[name].cls is not cls:
                    other = into[name].plugin
                    if _info.name in self.builtins:   # an installed plugin's class replaces a built-in
                        return
                    self.conflicts[(kind, name)] = (
                        f"{kind} {name!r} is registered by two plugins: {describe(other)} and "
                        f"{describe(_info)}; uninstall one of them (pip uninstall …)")
                    return
                into[name] = Registered(cls, _info)
                {"connector": _info.connectors, "metric pack": _info.packs}.get(kind, _info.sinks).append(name)

            try:
                impl.function(**({"register": register} if impl.argnames else {}))
            except Exception as exc:  # a broken plugin is reported, the rest keep working
                info.error = info.error or f"{hook} failed: {type(exc).__name__}: {exc}"

    def _info_for(self, plugin_name: str) -> PluginInfo:
        info = PluginInfo(plugin_name, plugin_name, "")
        self.plugins[plugin_name] = info
        return info

    def connector(self, name: str) -> type[Connector]:
        self._raise_conflict("connector", name)
        if name not in self.connectors:
            known = ", ".join(sorted(self.connectors)) or "none installed"
            raise PluginError(f"no connector named {name!r} is installed (installed: {known}); "
                              f"try `csconnect install csconnect-{name}`")
        return self.connectors[name].cls  # type: ignore[return-value]

    def pack(self, name: str) -> type[MetricPack]:
        self._raise_conflict("metric pack", name)
        if name not in self.packs:
            known = ", ".join(sorted(self.packs)) or "none installed"
            raise PluginError(f"no metric pack named {name!r} is installed (installed: {known})")
        return self.packs[name].cls  # type: ignore[return-value]

    def sink(self, name: str) -> type:
        """The alert sink class registered as `name` (the `type` of an [alerts.sinks.X] table)."""
        self._raise_conflict("alert sink", name)
        if name not in self.sinks:
            known = ", ".join(sorted(self.sinks)) or "none installed"
            raise PluginError(f"no alert sink named {name!r} is installed (installed: {known})")
        return self.sinks[name].cls

    def _raise_conflict(self, kind: str, name: str) -> None:
        if (kind, name) in self.conflicts:
            raise PluginError(self.conflicts[(kind, name)])

    def problems(self) -> list[str]:
        infos = [*self.plugins.values(), *self.builtins.values()]
        out = [f"plugin {p.name} ({p.distribution}): {p.error}" for p in infos if p.error]
        return out + list(self.conflicts.values())

    def add_commands(self, cli: Any) -> None:
        for impl in self.pm.hook.register_commands.get_hookimpls():
            info = self.plugins.get(impl.plugin_name) or self._info_for(impl.plugin_name)
            try:
                impl.function(**({"cli": cli} if impl.argnames else {}))
                info.commands = True
            except Exception as exc:
                info.error = info.error or f"register_commands failed: {type(exc).__name__}: {exc}"


def describe(info: PluginInfo) -> str:
    return f"{info.distribution} {info.version}".strip()


def _allowed() -> set[str] | None:
    raw = os.environ.get("CSCONNECT_LOAD_PLUGINS")
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    if os.environ.get("CSCONNECT_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
        pm.enable_tracing()
    return pm


def build_registry(plugins: Iterable[Any] = (), *, entry_points: bool = True) -> Registry:
    """A registry from installed entry points and/or plugin objects given directly (tests)."""
    pm = _new_manager()
    infos: dict[str, PluginInfo] = {}
    if entry_points:
        allowed = _allowed()
        for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
            dist = ep.dist.metadata["Name"] if ep.dist else ep.name
            version = ep.dist.version if ep.dist else ""
            if allowed is not None and ep.name not in allowed and dist not in allowed:
                continue
            info = PluginInfo(ep.name, dist, version)
            infos[ep.name] = info
            if pm.has_plugin(ep.name):
                info.error = f"another installed plugin is also named {ep.name!r}"
                continue
            try:
                pm.register(ep.load(), name=ep.name)
            except Exception as exc:  # report, keep the others working
                info.error = f"failed to load: {type(exc).__name__}: {exc}"
    builtins: dict[str, PluginInfo] = {}
    for module_name in DEFAULT_PLUGINS:
        from . import __version__
        module = importlib.import_module(module_name)
        builtins[module_name] = PluginInfo(module_name, "csconnect", __version__)
        pm.register(module, name=module_name)
    for i, obj in enumerate(plugins):
        name = getattr(obj, "__name__", None) or f"{type(obj).__name__}-{i}"
        infos.setdefault(name, PluginInfo(name, getattr(obj, "__module__", name) or name, ""))
        pm.register(obj, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin = getattr(exc, "plugin", None)
        pname = pm.get_name(plugin) if plugin is not None else None
        if pname and pname in infos:
            infos[pname].error = f"unknown hook: {exc}"
    return Registry(pm, infos, builtins)


_registry: Registry | None = None
_lock = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = build_registry()
        return _registry


def set_registry(registry: Registry | None) -> None:
    """Replace (or, with None, forget) the process-wide registry; for tests and embedding."""
    global _registry
    with _lock:
        _registry = registry
