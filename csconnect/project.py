"""A csconnect project as a library: config, plugins and store, and the pipeline steps.

    from csconnect import Project

    with Project("csconnect.toml") as project:
        project.sync()
        project.link()
        project.run_metrics(as_of="2026-06-30")
        print(project.kpi(["mrr", "nrr"], last=3))

The command line is a thin layer over this class; plugins that add commands use it too.
"""
from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from .config import Config, load_config
from .identity import LinkSummary, link
from .metrics import PackResult, kpi_rows, run_metrics
from .plugins import Registry, get_registry
from .store import Store
from .sync import StreamResult, SyncReport, renormalize, run_sync


class Project:
    """One csconnect.toml, its database and the installed plugins."""

    def __init__(self, config: str | os.PathLike[str] | Config | None = None, *,
                 registry: Registry | None = None):
        self.registry = registry or get_registry()
        self.config = config if isinstance(config, Config) else load_config(config, registry=self.registry)
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.config.database)
        return self._store

    @property
    def database(self) -> Path:
        return self.config.database

    def sync(self, connections: Iterable[str] | None = None, **kw: Any) -> SyncReport:
        """Sync connections (all by default); see csconnect.sync.run_sync for the options."""
        return run_sync(self.store, self.config, self.registry, connections=connections, **kw)

    def normalize(self, connections: Iterable[str] | None = None) -> list[StreamResult]:
        return renormalize(self.store, self.config, self.registry, connections)

    def link(self) -> LinkSummary:
        return link(self.store, self.config, self.registry)

    def run_metrics(self, packs: Iterable[str] | None = None,
                    as_of: str | date | datetime | None = None, progress: Any = None) -> list[PackResult]:
        return run_metrics(self.store, self.config, self.registry, packs, as_of, progress)

    def kpi(self, metrics: Sequence[str] = (), grain: str = "month", by: str | None = None,
            last: int | None = None) -> list[dict[str, Any]]:
        return kpi_rows(self.store, metrics, grain, by, last)

    def report(self, path: str | os.PathLike[str] = "report.html", *, segment: str | None = None,
               months: int = 24) -> Path:
        """Write the dashboard (one self-contained HTML file) and return its absolute path."""
        from .report import build_report
        return build_report(self.store, self.config, path, segment=segment, months=months)

    def count(self, table: str) -> int:
        return self.store.count(table)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
