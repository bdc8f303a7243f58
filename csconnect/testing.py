"""The kit every plugin author gets: a workspace, in-test plugin registration, and a standard suite.

    from csconnect.testing import ConnectorSuite

    class TestMyConnector(ConnectorSuite):
        connector = MyConnector
        settings = {"api_key": "test-key"}

        def mock_api(self, respx_mock): ...          # serve the initial data
        def add_new_data(self, api): ...             # serve one more change; return {stream: new records}
        def mock_unauthorized(self, respx_mock): ... # make check()'s request answer 401
        def mock_malformed(self, respx_mock): ...    # serve one broken record among good ones

Every test of the suite runs against respx (no network) in a temporary folder. For tests that run
csconnect as a user does (a subprocess, a real socket), `LocalServer` serves a request handler on
127.0.0.1.
"""
from __future__ import annotations

import contextlib
import os
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Iterator

import pytest

from .config import Config, ConnectionConfig, _environment, resolve_options
from .connector import Connector
from .errors import AuthError, CsconnectError
from .hookspecs import hookimpl
from .model import CONNECTOR_TABLES, TABLES, validate_row
from .packs import MetricPack
from .plugins import Registry, build_registry, get_registry, set_registry
from .store import Store, now_iso
from .sync import SyncReport, renormalize, run_sync


class LocalServer:
    """`handler` served on http://127.0.0.1:<free port> from a background thread until `stop()`.

        with LocalServer(MyApiHandler, name="fake-api", data=fixtures) as server:
            settings = {"base_url": server.base_url}

    Keyword arguments become attributes of the HTTP server, which the handler reads as
    `self.server.<name>`; `server_class` may add behaviour (a ThreadingHTTPServer subclass).
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, name: str = "csconnect-test-server",
                 server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer, **attributes: Any):
        self.handler, self.name, self.server_class, self.attributes = handler, name, server_class, attributes
        self.httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "LocalServer":
        httpd = self.server_class(("127.0.0.1", 0), self.handler)
        httpd.daemon_threads = True
        for key, value in self.attributes.items():
            setattr(httpd, key, value)
        self.httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self.httpd = self._thread = None

    @property
    def port(self) -> int:
        assert self.httpd is not None, "the server is not running"
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def plugin_for(*classes: type) -> Any:
    """A plugin object registering the given Connector, MetricPack and AlertSink classes."""
    from .alert_sinks import AlertSink
    connectors = [c for c in classes if issubclass(c, Connector)]
    packs = [c for c in classes if issubclass(c, MetricPack)]
    sinks = [c for c in classes if issubclass(c, AlertSink)]
    name = "test-plugin-" + "-".join(c.name for c in classes)

    @hookimpl
    def register_connectors(register: Any) -> None:
        for c in connectors:
            register(c)

    @hookimpl
    def register_metric_packs(register: Any) -> None:
        for p in packs:
            register(p)

    @hookimpl
    def register_alert_sinks(register: Any) -> None:
        for s in sinks:
            register(s)

    return types.SimpleNamespace(__name__=name, register_connectors=register_connectors,
                                 register_metric_packs=register_metric_packs,
                                 register_alert_sinks=register_alert_sinks)


@contextlib.contextmanager
def registered(*plugins: Any, entry_points: bool = False) -> Iterator[Registry]:
    """Make a fresh registry of these plugin objects the process-wide one for the block."""
    try:
        previous = get_registry()
    except CsconnectError:
        previous = None
    registry = build_registry(plugins, entry_points=entry_points)
    set_registry(registry)
    try:
        yield registry
    finally:
        set_registry(previous)


@pytest.fixture
def plugin_registry() -> Iterator[Any]:
    """Fixture: call it with plugin objects to get a fresh registry holding only them."""
    with contextlib.ExitStack() as stack:
        yield lambda *plugins: stack.enter_context(registered(*plugins))


class Workspace:
    """A project in a folder: config, registry and store, built without a csconnect.toml."""

    def __init__(self, path: str | os.PathLike[str], *classes: type,
                 connections: dict[str, dict[str, Any]] | None = None, registry: Registry | None = None,
                 **top: Any):
        self.path = Path(path)
        self.registry = registry or build_registry([plugin_for(*classes)], entry_points=False)
        self.config = Config(None, self.path, self.path / "csconnect.db", env=_environment(self.path, None))
        for key, value in top.items():
            setattr(self.config, key, value)
        for name, given in (connections or {}).items():
            given = dict(given)
            connector = given.pop("connector", name)
            cls = self.registry.connector(connector)
            settings = resolve_options(self.config, f"connections.{name}", cls.all_options(), given, connector,
                                       warn_literal=False)
            self.config.connections[name] = ConnectionConfig(name, connector, settings)
        self.store = Store(self.config.database)
        self.waits: list[float] = []

    def sync(self, *connections: str, **kw: Any) -> SyncReport:
        kw.setdefault("sleep", self.waits.append)
        return run_sync(self.store, self.config, self.registry, connections=connections or None, **kw)

    def normalize(self, *connections: str) -> list[Any]:
        return renormalize(self.store, self.config, self.registry, connections or None)

    def rows(self, table: str, where: str = "", params: Any = ()) -> list[dict[str, Any]]:
        if not self.store.db[table].exists():
            return []
        sql = f"SELECT * FROM [{table}]" + (f" WHERE {where}" if where else "") + " ORDER BY rowid"
        return self.store.query(sql, params)

    def rejects(self) -> list[dict[str, Any]]:
        return self.rows("_csconnect_rejects")

    def add_rows(self, table: str, rows: list[dict[str, Any]], connection: str = "test") -> list[str]:
        """Write canonical rows as a sync would: validated, common columns filled, upserted; returns their ids."""
        from .sync import Normalizer

        class _Stream:
            name = "rows"

        fake = _Stream()
        fake.connection = connection  # type: ignore[attr-defined]
        normalizer = Normalizer(fake)  # type: ignore[arg-type]
        synced_at = now_iso(precise=True)
        tuples = [normalizer.row(table, dict(r), synced_at) for r in rows]
        self.store.write_page(run_id=None, connection=connection, stream="rows", raw_table=None, raw_rows=(),
                              rows={table: tuples}, rejects=(), state=None, records=len(rows))
        return [f"{connection}:{r['source_id']}" for r in rows]

    def link(self) -> Any:
        """Resolve identity (sets account_id on every canonical row)."""
        from .identity import link
        return link(self.store, self.config, self.registry)

    def run_metrics(self, *packs: str, as_of: Any = None) -> list[Any]:
        from .metrics import run_metrics
        return run_metrics(self.store, self.config, self.registry, packs or None, as_of)

    def values(self, metric: str, segment_by: str = "all", grain: str = "month") -> dict[str, Any]:
        """{period_start (or segment when broken down): value} of one metric."""
        rows = self.store.query("SELECT period_start, segment, value FROM metric_values WHERE metric = ? AND "
                                "segment_by = ? AND grain = ? ORDER BY period_start, segment",
                                [metric, segment_by, grain])
        key = "period_start" if segment_by == "all" else "segment"
        return {r[key] if segment_by == "all" else (r["period_start"], r["segment"]): r["value"] for r in rows}

    def state(self, connection: str, stream: str) -> dict[str, Any] | None:
        return self.store.get_state(connection, stream)

    def set_state(self, connection: str, stream: str, state: dict[str, Any]) -> None:
        self.store.set_state(connection, stream, state)

    def snapshot(self, ignore: tuple[str, ...] = ("synced_at",)) -> dict[str, list[tuple[Any, ...]]]:
        """Every raw and canonical table's rows, sorted, without volatile columns: compare two runs."""
        out = {}
        for name in self.store.db.table_names():
            if name in CONNECTOR_TABLES or name.startswith("raw_"):
                cols = [c for c in self.store.db[name].columns_dict if c not in ignore + ("updated_at",)]
                rows = self.store.conn.execute(f"SELECT {', '.join(f'[{c}]' for c in cols)} FROM [{name}]")
                out[name] = sorted(rows, key=repr)
        return out

    def close(self) -> None:
        self.store.close()


class ConnectorSuite:
    """The standard tests a connector switches on by subclassing (see the module docstring)."""

    connector: ClassVar[type[Connector]]
    settings: ClassVar[dict[str, Any]] = {}
    connection: ClassVar[str] = "test"
    # Records an incremental re-read may repeat on purpose (look-back windows), per stream.
    incremental_overlap: ClassVar[dict[str, int]] = {}

    # -- what the author provides ------------------------------------------------
    def mock_api(self, respx_mock: Any) -> Any:
        raise NotImplementedError("mock_api(respx_mock) must serve the connector's initial data")

    def add_new_data(self, api: Any) -> dict[str, int]:
        pytest.skip("add_new_data(api) not provided")

    def mock_unauthorized(self, respx_mock: Any) -> None:
        pytest.skip("mock_unauthorized(respx_mock) not provided")

    def mock_malformed(self, respx_mock: Any) -> None:
        pytest.skip("mock_malformed(respx_mock) not provided")

    # -- helpers -----------------------------------------------------------------
    def workspace(self, tmp_path: Path) -> Workspace:
        return Workspace(tmp_path, self.connector,
                         connections={self.connection: dict(self.settings, connector=self.connector.name)})

    # -- the suite -----------------------------------------------------------------
    def test_streams_declare_primary_keys_and_tables(self, tmp_path: Path) -> None:
        ws = self.workspace(tmp_path)
        connector = self.connector(self.connection, ws.config.connections[self.connection].settings,
                                   root=tmp_path)
        streams = connector.get_streams()
        assert streams, f"{self.connector.name} declares no streams"
        for stream in streams:
            assert stream.primary_key, f"stream {stream.name} declares no primary key"
            assert all(t in CONNECTOR_TABLES for t in stream.tables), \
                f"stream {stream.name} declares tables outside the canonical model: {stream.tables}"
            if stream.incremental:
                assert stream.cursor_field, f"incremental stream {stream.name} declares no cursor_field"

    def test_sync_writes_valid_canonical_rows(self, tmp_path: Path, respx_mock: Any) -> None:
        self.mock_api(respx_mock)
        ws = self.workspace(tmp_path)
        report = ws.sync()
        assert report.ok, [r.error for r in report.results if r.error]
        assert not ws.rejects(), ws.rejects()
        written = 0
        for table in CONNECTOR_TABLES:
            for row in ws.rows(table):
                written += 1
                validate_row(table, {k: v for k, v in row.items() if k in TABLES[table].column_names})
                assert row["id"] == f"{self.connection}:{row['source_id']}"
        assert written, "the sync wrote no canonical rows"

    def test_resync_duplicates_nothing(self, tmp_path: Path, respx_mock: Any) -> None:
        self.mock_api(respx_mock)
        ws = self.workspace(tmp_path)
        assert ws.sync().ok
        first = ws.snapshot()
        assert ws.sync().ok
        assert ws.snapshot() == first, "a second sync changed or doubled rows"
        assert ws.sync(full_refresh=True).ok
        assert ws.snapshot() == first, "a full refresh changed or doubled rows"

    def test_second_sync_asks_only_for_new_data(self, tmp_path: Path, respx_mock: Any) -> None:
        incremental = [s.name for s in self.connector.streams if s.incremental]
        if not incremental:
            pytest.skip("no incremental streams")
        api = self.mock_api(respx_mock)
        ws = self.workspace(tmp_path)
        first = {r.stream: r for r in ws.sync().results}
        for name in incremental:
            assert ws.store.get_state(self.connection, name), f"stream {name} saved no state"
        expected = self.add_new_data(api)
        second = {r.stream: r for r in ws.sync().results}
        for name in incremental:
            got = second[name].records
            allowed = expected.get(name, 0) + self.incremental_overlap.get(name, 0)
            assert expected.get(name, 0) <= got <= allowed, (
                f"stream {name}: the second sync read {got} records; expected the {expected.get(name, 0)} "
                f"new one(s) (+{self.incremental_overlap.get(name, 0)} overlap), not the "
                f"{first[name].records} it already had")

    def test_normalize_rebuilds_the_same_rows(self, tmp_path: Path, respx_mock: Any) -> None:
        self.mock_api(respx_mock)
        ws = self.workspace(tmp_path)
        assert ws.sync().ok
        before = ws.snapshot()
        respx_mock.reset()
        ws.normalize()
        assert not respx_mock.calls, "normalize must not call the API"
        assert ws.snapshot() == before

    def test_check_turns_401_into_one_line(self, tmp_path: Path, respx_mock: Any) -> None:
        self.mock_unauthorized(respx_mock)
        ws = self.workspace(tmp_path)
        cls = ws.registry.connector(self.connector.name)
        connector = cls(self.connection, ws.config.connections[self.connection].settings, sleep=lambda s: None,
                        root=tmp_path)
        with pytest.raises(AuthError) as info:
            connector.check()
        text = str(info.value)
        assert "\n" not in text and "401" in text and text.startswith(self.connection), text
        for secret in connector.secret_values():
            assert secret not in text

    def test_malformed_record_lands_in_rejects(self, tmp_path: Path, respx_mock: Any) -> None:
        self.mock_malformed(respx_mock)
        ws = self.workspace(tmp_path)
        report = ws.sync()
        assert report.ok, [r.error for r in report.results if r.error]
        rejects = ws.rejects()
        assert rejects, "the malformed record did not land in _csconnect_rejects"
        assert all(r["reason"] and "\n" not in r["reason"] for r in rejects)
        assert any(ws.rows(t) for t in CONNECTOR_TABLES), "the good records did not land"
