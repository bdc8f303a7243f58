"""The metrics runner: order, skipped packs, parameters, currency, KPI output."""
from __future__ import annotations

from datetime import date

import pytest

import plugin_fixtures as pf
from csconnect import Metric, MetricPack, Option
from csconnect.errors import ConfigError, MetricsError
from csconnect.identity import link
from csconnect.metrics import MetricContext, _order, kpi_rows, periods, run_metrics
from csconnect.plugins import build_registry
from csconnect.testing import plugin_for


@pytest.fixture
def synced(ws):
    ws.sync()
    link(ws.store, ws.config, ws.registry)
    return ws


def test_packs_run_in_dependency_order_and_write_values(synced):
    results = run_metrics(synced.store, synced.config, synced.registry, as_of="2026-03-15")
    assert [(r.pack, r.status) for r in results] == [("alpha", "ok"), ("beta", "ok")]
    values = synced.store.query("SELECT metric, period_start, period_end, value FROM metric_values ORDER BY metric")
    assert values == [
        {"metric": "account_count", "period_start": "2026-03-01", "period_end": "2026-03-15", "value": 12.0},
        {"metric": "account_count_doubled", "period_start": "2026-03-01", "period_end": "2026-03-15",
         "value": 24.0}]
    defs = synced.store.query("SELECT metric, pack, unit FROM metric_definitions ORDER BY metric")
    assert defs[0] == {"metric": "account_count", "pack": "alpha", "unit": "count"}


def test_order_puts_dependencies_first_whatever_the_names():
    class Zeta(MetricPack):
        name = "aaa"
        requires_packs = ("zzz",)

    class Last(MetricPack):
        name = "zzz"

    assert _order({"aaa": Zeta, "zzz": Last}) == ["zzz", "aaa"]


def test_a_pack_with_missing_inputs_is_skipped_with_a_reason(ws):
    results = run_metrics(ws.store, ws.config, ws.registry, as_of="2026-03-15")
    assert [(r.pack, r.status, r.reason) for r in results] == [
        ("alpha", "skipped", "needs rows in source_accounts (none synced yet)"),
        ("beta", "skipped", "needs pack alpha, which was skipped")]


def test_a_pack_needing_one_that_never_ran_says_what_to_run(synced):
    results = run_metrics(synced.store, synced.config, synced.registry, ["beta"], as_of="2026-03-15")
    assert results[0].reason == "needs pack alpha, which has not run (run `csconnect metrics run alpha beta`)"


def test_parameters_are_validated_with_one_line_errors(synced):
    synced.config.packs = {"alpha": {"multiplier": "three"}}
    with pytest.raises(ConfigError, match=r"packs.alpha.multiplier: must be a whole number, got 'three'"):
        run_metrics(synced.store, synced.config, synced.registry, as_of="2026-03-15")
    synced.config.packs = {"alpha": {"multiplier": 3}}
    run_metrics(synced.store, synced.config, synced.registry, ["alpha"], as_of="2026-03-15")
    assert kpi_rows(synced.store, ["account_count"])[0]["value"] == 36


class Money(MetricPack):
    name = "money"
    requires = ("invoices",)
    metrics = (Metric("billed", "Billed", "currency", "up", "Σ invoice totals in the reporting currency"),)

    def run(self, ctx: MetricContext) -> None:
        fx = ctx.fx_table(r["currency"] for r in ctx.query("SELECT DISTINCT currency FROM invoices"))
        for period in ctx.periods("month", "2026-01-01"):
            total = ctx.query(f"SELECT sum(i.total * fx.rate) AS t FROM invoices i JOIN {fx} fx USING (currency) "
                              "WHERE i.created_at >= ? AND i.created_at < ?", [period.start_ts, period.end_ts])
            ctx.rollup("billed", period, [("acme", total[0]["t"] or 0, None)], ratio=False)


def test_amounts_are_converted_to_the_reporting_currency(ws):
    registry = build_registry([plugin_for(Money)], entry_points=False)
    for i, (cur, total) in enumerate([("USD", 10000), ("EUR", 10000), ("eur", 500)]):
        ws.store.conn.execute("INSERT INTO invoices (id, source, source_id, status, currency, total, created_at, "
                              "synced_at) VALUES (?, 's', ?, 'paid', ?, ?, '2026-01-10T00:00:00Z', 'x')",
                              (f"s:{i}", str(i), cur.upper(), total))
    ws.config.fx_rates = {"EUR": 1.1}
    [result] = run_metrics(ws.store, ws.config, registry, as_of="2026-01-31")
    assert result.status == "ok"
    assert kpi_rows(ws.store, ["billed"])[0]["value"] == pytest.approx(10000 + 11000 + 550)
    ws.config.fx_rates = {}
    [result] = run_metrics(ws.store, ws.config, registry, as_of="2026-01-31")
    assert result.status == "failed"
    assert result.reason == ("no exchange rate for EUR: add EUR = <USD per EUR> under [fx_rates] in "
                             "csconnect.toml")
    # the failed run rolled back: the previous values are still there
    assert kpi_rows(ws.store, ["billed"])[0]["value"] == pytest.approx(21550)


def test_writing_an_undeclared_metric_fails_the_pack(ws):
    class Sloppy(MetricPack):
        name = "sloppy"
        metrics = (Metric("one", "One", "count", "up", "1"),)

        def run(self, ctx):
            ctx.write_value("two", ctx.periods("month", "2026-01-01")[0], 2)

    registry = build_registry([plugin_for(Sloppy)], entry_points=False)
    [result] = run_metrics(ws.store, ws.config, registry, as_of="2026-01-31")
    assert result.status == "failed" and "'two', which it does not declare" in result.reason


def test_rollup_keeps_numerator_and_denominator_per_segment(synced):
    class Ratio(MetricPack):
        name = "ratio"
        metrics = (Metric("share", "Share", "percent", "up", "Σ hits / Σ tries"),)

        def run(self, ctx):
            p = ctx.periods("month", "2026-01-01")[0]
            dims = {"a": {"segment": "smb"}, "b": {"segment": "smb"}, "c": {"segment": "enterprise"}}
            ctx.rollup("share", p, [("a", 1, 4), ("b", 1, 0), ("c", 0, 0)], ratio=True, dims=dims,
                       dimensions=("segment",))

    registry = build_registry([plugin_for(Ratio)], entry_points=False)
    run_metrics(synced.store, synced.config, registry, as_of="2026-01-31")
    rows = {(r["segment_by"], r["segment"]): (r["value"], r["numerator"], r["denominator"])
            for r in synced.store.query("SELECT * FROM metric_values")}
    assert rows == {("all", "all"): (0.5, 2, 4), ("segment", "smb"): (0.5, 2, 4),
                    ("segment", "enterprise"): (None, 0, 0)}


def test_calendar_periods():
    months = periods("month", date(2025, 11, 15), date(2026, 2, 1))
    assert [p.key for p in months] == ["2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01"]
    assert months[0].last_day() == date(2025, 11, 30) and months[-1].last_day(date(2026, 2, 1)) == date(2026, 2, 1)
    weeks = periods("week", date(2026, 1, 1), date(2026, 1, 12))
    assert [p.key for p in weeks] == ["2025-12-29", "2026-01-05", "2026-01-12"]
    assert [p.key for p in periods("quarter", date(2026, 2, 1), date(2026, 7, 1))] == ["2026-01-01", "2026-04-01",
                                                                                       "2026-07-01"]


def test_kpi_rows_last_n_periods(synced):
    run_metrics(synced.store, synced.config, synced.registry, ["alpha"], as_of="2026-03-15")
    with pytest.raises(Exception, match="unknown metric nope"):
        kpi_rows(synced.store, ["nope"])
    assert [r["period_start"] for r in kpi_rows(synced.store, ["account_count"], last=1)] == ["2026-03-01"]


def test_fake_pack_plugin_is_found_through_the_registry():
    registry = build_registry([pf.good], entry_points=False)
    assert registry.pack("alpha") is pf.RevenueLikePack
    with pytest.raises(Exception, match="no metric pack named 'gamma' is installed"):
        registry.pack("gamma")
    assert MetricsError


def test_workspace_helpers_for_pack_authors(tmp_path):
    from csconnect.testing import Workspace
    w = Workspace(tmp_path, pf.RevenueLikePack)
    w.add_rows("source_accounts", [{"source_id": "a", "source_account_id": "a", "name": "A"},
                                   {"source_id": "b", "source_account_id": "b", "name": "B"}])
    assert w.link().accounts == 2
    [result] = w.run_metrics("alpha", as_of="2026-01-31")
    assert result.status == "ok" and w.values("account_count") == {"2026-01-01": 2}
    with pytest.raises(Exception, match="source_accounts.created_at: not an ISO 8601 timestamp"):
        w.add_rows("source_accounts", [{"source_id": "c", "created_at": "yesterday"}])


def test_a_packs_own_validate_rejects_parameters_before_any_pack_runs(ws):
    ran: list[str] = []

    class Early(MetricPack):
        name = "early"
        metrics = (Metric("early_one", "One", "count", "up", "1"),)

        def run(self, ctx):
            ran.append(self.name)
            ctx.write_value("early_one", ctx.periods("month", "2026-01-01")[0], 1)

    class Picky(MetricPack):
        name = "picky"
        requires_packs = ("early",)
        parameters = (Option("bands", dict, {}, "band thresholds"),)
        metrics = (Metric("picky_one", "One", "count", "up", "1"),)

        @classmethod
        def validate(cls, params):
            for band, value in params["bands"].items():
                if band not in ("green", "red"):
                    exc = ValueError("unknown band (bands: green, red)")
                    exc.key = f"bands.{band}"
                    raise exc
            if params["bands"].get("green", 1) < params["bands"].get("red", 0):
                raise ValueError("green must be above red")

        def run(self, ctx):
            ran.append(self.name)

    registry = build_registry([plugin_for(Early, Picky)], entry_points=False)
    ws.config.packs = {"picky": {"bands": {"amber": 3}}}
    with pytest.raises(ConfigError) as caught:
        run_metrics(ws.store, ws.config, registry, as_of="2026-01-31")
    assert str(caught.value) == "csconnect.toml: packs.picky.bands.amber: unknown band (bands: green, red)"
    ws.config.packs = {"picky": {"bands": {"green": 1, "red": 2}}}          # no key: the pack's table is named
    with pytest.raises(ConfigError, match=r"^csconnect.toml: packs.picky: green must be above red$"):
        run_metrics(ws.store, ws.config, registry, as_of="2026-01-31")
    assert ran == [] and ws.store.count("metric_values") == 0
    ws.config.packs = {"picky": {"bands": {"green": 2, "red": 1}}}
    results = run_metrics(ws.store, ws.config, registry, as_of="2026-01-31")
    assert [(r.pack, r.status) for r in results] == [("early", "ok"), ("picky", "ok")] and ran == ["early", "picky"]
