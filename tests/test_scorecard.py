"""The KPI scorecard: target syntax, one-line errors, status at the boundaries, the table and the command."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner

from csconnect import MetricPack
from csconnect.cli import build_cli
from csconnect.config import Config
from csconnect.errors import ConfigError
from csconnect.metrics import Period, add_months
from csconnect.packs import Metric
from csconnect.plugins import build_registry, set_registry
from csconnect.scorecard import parse_targets, period_span, select
from csconnect.testing import Workspace, plugin_for

CATALOGUE = {
    "nrr": {"unit": "percent", "direction": "up"},
    "customer_churn_rate": {"unit": "percent", "direction": "down"},
    "first_reply_seconds_median": {"unit": "seconds", "direction": "down"},
    "arpa": {"unit": "currency", "direction": "up"},
    "nps": {"unit": "score", "direction": "up"},
    "quick_ratio": {"unit": "ratio", "direction": "up"},
    "customers": {"unit": "count", "direction": "up"},
}

# Values the fixture pack writes: month -> value (NULL for a month without data).
CSAT = {"2026-01": 0.90, "2026-02": 0.85, "2026-03": 0.80, "2026-04": 0.765, "2026-05": 0.70, "2026-06": None}
WAIT = {"2026-01": 14400.0, "2026-02": 15840.0, "2026-03": 15841.0}
SEGMENTS = {"enterprise": 0.92, "smb": 0.60}


class KpiPack(MetricPack):
    name = "kpis"
    metrics = (Metric("csat_x", "CSAT", "percent", "up", "fixture"),
               Metric("wait_x", "First reply, median", "seconds", "down", "fixture"))

    def run(self, ctx: Any) -> None:
        def period(month: str) -> Period:
            start = date.fromisoformat(f"{month}-01")
            return Period("month", start, add_months(start, 1))
        rows = [("csat_x", period(m), v, None, None) for m, v in CSAT.items()]
        rows += [("csat_x", period("2026-05"), v, None, None, "segment", s) for s, v in SEGMENTS.items()]
        rows += [("wait_x", period(m), v, None, None) for m, v in WAIT.items()]
        ctx.write_values(rows)


def config(targets: dict[str, Any], currency: str = "USD") -> Config:
    from pathlib import Path
    return Config(Path("csconnect.toml"), Path("."), Path("x.db"), reporting_currency=currency, targets=targets)


def one(spec: Any, metric: str = "nrr", currency: str = "USD"):
    return parse_targets(config({metric: spec}, currency), CATALOGUE)[0]


def error(spec: Any, metric: str = "nrr") -> str:
    with pytest.raises(ConfigError) as info:
        parse_targets(config({metric: spec}), CATALOGUE)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"csconnect.toml: targets.{metric}: "), text
    return text


# -- syntax -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, op, value", [
    (">= 110%", ">=", 1.10), ("≥110 %", ">=", 1.10), ("at least 110%", ">=", 1.10), ("> 1.1", ">", 1.10),
    ("110%", ">=", 1.10), (1.1, ">=", 1.10), ("<= 95%", "<=", 0.95), ("-2.5%", ">=", -0.025),
])
def test_percent_targets(spec, op, value):
    t = one(spec)
    assert (t.operator, t.value) == (op, pytest.approx(value))


def test_no_operator_follows_the_metric_direction():
    assert one("2%", "customer_churn_rate").operator == "<="
    assert one(0.02, "customer_churn_rate").value == pytest.approx(0.02)
    assert one("30", "nps").operator == ">="


@pytest.mark.parametrize("spec, seconds", [("<= 4h", 14400), ("4 hours", 14400), ("1h 30m", 5400), ("90m", 5400),
                                           ("1.5m", 90), ("2d", 172800), ("45s", 45), (600, 600), ("600", 600)])
def test_durations_for_metrics_in_seconds(spec, seconds):
    t = one(spec, "first_reply_seconds_median")
    assert t.value == seconds and t.operator == "<="


@pytest.mark.parametrize("spec, minor", [(">= $1,200", 120000), ("1200", 120000), (1200, 120000), ("25k", 2500000),
                                         ("USD 1.5M", 150000000), ("$99.50", 9950)])
def test_money_in_major_units_of_the_reporting_currency(spec, minor):
    assert one(spec, "arpa").value == pytest.approx(minor)


def test_money_in_a_zero_decimal_reporting_currency():
    assert one("¥5,000", "arpa", currency="JPY").value == 5000


def test_counts_ratios_and_scores():
    assert one("1.2k", "customers").value == 1200
    assert one(">= 4x", "quick_ratio").value == 4
    assert one("at least -10", "nps").value == -10


def test_table_form_with_at_risk_margin_grain_and_segments():
    t = one({"min": "110%", "at_risk": "105%", "grain": "quarter", "segment_by": "segment"})
    assert (t.operator, t.value, t.at_risk, t.grain, t.segment_by) == (">=", 1.10, pytest.approx(1.05), "quarter",
                                                                       ("segment",))
    t = one({"max": "2%", "margin": "25%", "segment_by": ["segment", "plan"]}, "customer_churn_rate")
    assert (t.operator, t.at_risk, t.segment_by) == ("<=", pytest.approx(0.025), ("segment", "plan"))
    t = one({"target": "> 1.05"})
    assert (t.operator, t.value, t.at_risk, t.grain) == (">", 1.05, pytest.approx(0.945), "month")


def test_default_at_risk_line_is_ten_percent_of_the_target():
    assert one(">= 110%").at_risk == pytest.approx(0.99)
    assert one("<= 2%", "customer_churn_rate").at_risk == pytest.approx(0.022)
    assert one("<= 4h", "first_reply_seconds_median").at_risk == pytest.approx(15840)


@pytest.mark.parametrize("metric, spec, words", [
    ("nrr", "4h", "is a duration but this metric is in percent"),
    ("nrr", "110", "would be 11,000%"),
    ("nrr", 85, 'write "85%"'),
    ("first_reply_seconds_median", "<= 4%", "is a percent but this metric is in seconds"),
    ("arpa", "€1,000", "reporting currency USD, not EUR"),
    ("customers", "$5", "is a money but this metric is in count"),
    ("nrr", ">> 5%", "use one of >=, >, <=, <"),
    ("nrr", ">=", "has no value"),
    ("nrr", "lots", "is not a number"),
    ("nrr", True, "expected text"),
    ("nrr", {"min": "110%", "max": "120%"}, "exactly one of"),
    ("nrr", {"min": ">= 110%"}, "write the value alone"),
    ("nrr", {"min": "110%", "tolerance": 1}, "unknown key 'tolerance'"),
    ("nrr", {"min": "110%", "at_risk": "115%"}, "at_risk '115%' is on the wrong side"),
    ("nrr", {"min": "110%", "at_risk": "100%", "margin": "5%"}, "not both"),
    ("nrr", {"min": "110%", "grain": "year"}, "grain 'year'"),
    ("nrr", {"min": "110%", "margin": 3}, "margin 3"),
])
def test_bad_targets_are_one_line_errors(metric, spec, words):
    assert words in error(spec, metric)


def test_unknown_metric_suggests_names_and_lists_them():
    text = error(">= 4h", "first_response_time_median")
    assert "unknown metric; did you mean first_reply_seconds_median?" in text
    assert "known metrics: arpa, customer_churn_rate, customers" in text


def test_metrics_run_skips_a_target_no_installed_pack_computes_with_a_warning(caplog):
    """During `metrics run` a target for a pack that is not installed must not stop the KPIs."""
    with caplog.at_level("WARNING", logger="csconnect"):
        targets = parse_targets(config({"ticket_backlog_of_some_vendor_pack": ">= 4h", "nrr": ">= 110%"}),
                                CATALOGUE, strict=False)
    assert [t.metric for t in targets] == ["nrr"]
    assert "no installed metric pack computes 'ticket_backlog_of_some_vendor_pack'" in caplog.text


# -- status -----------------------------------------------------------------------------------------------
def test_status_at_the_boundaries_up_and_down():
    up = one(">= 85%")                                   # at-risk line 76.5 %
    assert [up.status(v) for v in (0.86, 0.85, 0.8499, 0.765, 0.7649, None)] == \
        ["on_track", "on_track", "at_risk", "at_risk", "off_track", "no_data"]
    strict = one("> 85%")
    assert strict.status(0.85) == "at_risk" and strict.status(0.8501) == "on_track"
    down = one("<= 4h", "first_reply_seconds_median")   # at-risk line 4h 24m
    assert [down.status(v) for v in (3600, 14400, 14401, 15840, 15841)] == \
        ["on_track", "on_track", "at_risk", "at_risk", "off_track"]
    zero = one("<= 0%", "customer_churn_rate")          # no margin around 0: a miss is off track
    assert zero.status(0.0) == "on_track" and zero.status(0.001) == "off_track"


def test_float_noise_does_not_miss_a_target():
    assert one(">= 110%").status(0.11 * 10 - 1e-13) == "on_track"


def test_period_span_and_select():
    assert period_span("2026-03") == (date(2026, 3, 1), date(2026, 4, 1))
    assert period_span("2026-q2") == (date(2026, 4, 1), date(2026, 7, 1))
    assert period_span("2026-03-09") == (date(2026, 3, 9), date(2026, 3, 10))
    rows = [{"metric": "a", "grain": "quarter", "period_start": "2026-01-01"},
            {"metric": "a", "grain": "quarter", "period_start": "2026-04-01"},
            {"metric": "b", "grain": "month", "period_start": "2026-05-01"}]
    assert select(rows, "2026-05") == rows[1:]
    assert select(rows, last=1) == rows[1:]
    assert select(rows, last=None) == rows


# -- the table, written by run_metrics --------------------------------------------------------------------
def scorecard(ws: Workspace) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["metric"], r["period_start"][:7], r["segment"]): r
            for r in ws.store.query("SELECT * FROM scorecard")}


def test_run_metrics_writes_the_scorecard(tmp_path):
    ws = Workspace(tmp_path, KpiPack, targets={"csat_x": {"min": "85%", "segment_by": "segment"},
                                               "wait_x": "<= 4h"})
    ws.run_metrics()
    rows = scorecard(ws)
    assert {m: rows[("csat_x", m, "all")]["status"] for m in CSAT} == {
        "2026-01": "on_track", "2026-02": "on_track", "2026-03": "at_risk", "2026-04": "at_risk",
        "2026-05": "off_track", "2026-06": "no_data"}
    assert rows[("csat_x", "2026-05", "enterprise")]["status"] == "on_track"
    assert rows[("csat_x", "2026-05", "smb")]["status"] == "off_track"
    assert [rows[("wait_x", m, "all")]["status"] for m in WAIT] == ["on_track", "at_risk", "off_track"]
    w = rows[("wait_x", "2026-01", "all")]
    assert (w["value"], w["target"], w["at_risk"], w["operator"], w["direction"]) == (14400, 14400, 15840, "<=",
                                                                                      "down")
    assert len(rows) == len(CSAT) + len(SEGMENTS) + len(WAIT)


def test_rerun_replaces_the_rows(tmp_path):
    ws = Workspace(tmp_path, KpiPack, targets={"csat_x": {"min": "85%", "segment_by": "segment"}, "wait_x": "4h"})
    ws.run_metrics()
    ws.config.targets = {"csat_x": ">= 95%"}
    ws.run_metrics()
    rows = scorecard(ws)
    assert {k[0] for k in rows} == {"csat_x"} and {k[2] for k in rows} == {"all"}
    assert rows[("csat_x", "2026-01", "all")]["status"] == "at_risk"          # 90 % vs 95 %: within 9.5 points
    assert rows[("csat_x", "2026-01", "all")]["target"] == pytest.approx(0.95)


def test_bad_targets_stop_the_run_before_any_pack(tmp_path):
    ws = Workspace(tmp_path, KpiPack, targets={"csat_x": "<= 4h"})
    with pytest.raises(ConfigError, match=r"targets\.csat_x: '4h' is a duration"):
        ws.run_metrics()
    assert ws.store.count("metric_values") == 0


def test_no_targets_no_scorecard(tmp_path):
    ws = Workspace(tmp_path, KpiPack)
    ws.run_metrics()
    assert ws.store.count("scorecard") == 0 and ws.store.count("metric_values") > 0


# -- the command ------------------------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    set_registry(build_registry([plugin_for(KpiPack)], entry_points=False))
    (tmp_path / "csconnect.toml").write_text(
        '[targets]\nwait_x = "<= 4h"\n\n[targets.csat_x]\nmin = "85%"\nsegment_by = "segment"\n', encoding="utf-8")
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(build_cli(), list(args), catch_exceptions=False)


def test_scorecard_command_latest_period_by_default(project):
    assert run("metrics", "run").exit_code == 0
    result = run("scorecard")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    csat = next(line for line in lines if "csat_x" in line)
    assert "2026-06" in csat and "≥ 85.0%" in csat and "no data" in csat
    wait = next(line for line in lines if "wait_x" in line)
    assert "2026-03" in wait and "4h 24m" in wait and "≤ 4h 00m" in wait and "off track" in wait
    assert "✓" not in result.stdout                       # no ticks or colours off a terminal
    assert lines[-1] == "1 off track, 1 no data"


def test_scorecard_json_period_last_and_by(project):
    run("metrics", "run")
    rows = json.loads(run("scorecard", "--last", "3", "--format", "json").stdout)
    assert [(r["metric"], r["period_start"], r["status"]) for r in rows] == [
        ("wait_x", "2026-01-01", "on_track"), ("wait_x", "2026-02-01", "at_risk"),
        ("wait_x", "2026-03-01", "off_track"), ("csat_x", "2026-04-01", "at_risk"),
        ("csat_x", "2026-05-01", "off_track"), ("csat_x", "2026-06-01", "no_data")]
    rows = json.loads(run("scorecard", "--period", "2026-02", "--format", "json").stdout)
    assert {(r["metric"], r["value"], r["status"]) for r in rows} == {("wait_x", 15840, "at_risk"),
                                                                      ("csat_x", 0.85, "on_track")}
    by = run("scorecard", "--by", "segment")
    assert "enterprise" in by.stdout and "92.0%" in by.stdout and "on track" in by.stdout
    assert "smb" in by.stdout and "off track" in by.stdout
    assert "no values by plan" in run("scorecard", "--by", "plan").stdout


def test_scorecard_command_errors_and_empty(project):
    assert "run `csconnect metrics run`" in run("scorecard").stdout      # nothing computed yet
    (project / "csconnect.toml").write_text("", encoding="utf-8")
    assert "no targets yet: add a [targets] table to csconnect.toml" in run("scorecard").stdout


def test_scorecard_error_is_one_line(project, capsys):
    from csconnect.cli import main
    (project / "csconnect.toml").write_text('[targets]\ncsat_x = "4h"\n', encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["scorecard"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err == ("error: csconnect.toml: targets.csat_x: '4h' is a duration but this metric is in percent: "
                   "write a percentage such as \"85%\"\n")
