"""Tests for the example metric pack: canonical rows in, metric_values out."""
from __future__ import annotations

from typing import Any

import pytest

from csconnect import ConfigError
from csconnect.metrics import run_metrics
from csconnect.testing import Workspace, plugin_registry  # noqa: F401 - a fixture
from csconnect_pack_example import ExamplePack, plugin

AS_OF = "2026-02-28"
ACCOUNTS = [("acme", "enterprise"), ("globex", "smb"), ("initech", "smb")]
# (id, account, kind, score, answered)
RESPONSES = [
    ("r1", "acme", "nps", 10, "2026-01-05"), ("r2", "acme", "nps", 6, "2026-01-20"),
    ("r3", "globex", "nps", 9, "2026-01-25"), ("r4", "globex", "csat", 5, "2026-02-03"),
    ("r5", "initech", "nps", 9, "2026-02-10"), ("r6", "globex", "nps", 3, "2026-02-15"),
    ("r8", None, "nps", 9, "2026-02-20"),          # not linked to any account: counts in `all` only
    ("r7", "acme", "nps", 10, "2026-03-05"),       # after the as-of date: not counted
]


def add_rows(ws: Workspace, table: str, rows: list[dict[str, Any]]) -> None:
    """Canonical rows as a connector (and `csconnect link`) would have left them."""
    common = {"source": "test", "synced_at": "2026-03-01T00:00:00Z"}
    ws.store.db[table].insert_all([{**common, "id": f"test:{r['source_id']}", **r} if "source_id" in r else r
                                   for r in rows])


@pytest.fixture
def ws(tmp_path: Any) -> Workspace:
    ws = Workspace(tmp_path, ExamplePack)
    add_rows(ws, "accounts", [{"account_id": a, "name": a.title(), "segment": s} for a, s in ACCOUNTS])
    scales = {"nps": (0, 10), "csat": (1, 5)}
    add_rows(ws, "survey_responses", [
        {"source_id": rid, "source_account_id": acct, "account_id": acct, "kind": kind, "score": score,
         "scale_min": scales[kind][0], "scale_max": scales[kind][1], "polarity": "higher_better",
         "responded_at": f"{day}T12:00:00Z"} for rid, acct, kind, score, day in RESPONSES])
    yield ws
    ws.close()


def values(ws: Workspace, metric: str, segment_by: str = "all") -> dict[tuple[str, str], tuple]:
    rows = ws.rows("metric_values", "metric = ? AND segment_by = ?", [metric, segment_by])
    return {(r["period_start"], r["segment"]): (r["value"], r["numerator"], r["denominator"]) for r in rows}


def test_counts_and_promoter_share_per_month(ws: Workspace) -> None:
    [result] = run_metrics(ws.store, ws.config, ws.registry, ["example"], as_of=AS_OF)
    assert result.status == "ok", result.reason
    assert values(ws, "survey_responses_count") == {
        ("2026-01-01", "all"): (3, None, None), ("2026-02-01", "all"): (4, None, None)}
    assert values(ws, "nps_promoter_share") == {
        ("2026-01-01", "all"): (pytest.approx(2 / 3), 2, 3), ("2026-02-01", "all"): (pytest.approx(2 / 3), 2, 3)}
    feb = ws.rows("metric_values", "metric = 'nps_promoter_share' AND period_start = '2026-02-01' "
                                   "AND segment_by = 'all'")[0]
    assert feb["period_end"] == AS_OF          # the as-of month is a to-date value


def test_by_segment_adds_up(ws: Workspace) -> None:
    run_metrics(ws.store, ws.config, ws.registry, ["example"], as_of=AS_OF)
    assert values(ws, "survey_responses_count", "segment") == {
        ("2026-01-01", "enterprise"): (2, None, None), ("2026-01-01", "smb"): (1, None, None),
        ("2026-02-01", "smb"): (3, None, None), ("2026-02-01", "(none)"): (1, None, None)}
    share = values(ws, "nps_promoter_share", "segment")
    assert share[("2026-01-01", "enterprise")] == (0.5, 1, 2)
    assert share[("2026-02-01", "smb")] == (0.5, 1, 2)
    assert share[("2026-02-01", "(none)")] == (1.0, 1, 1)


def test_per_account_values(ws: Workspace) -> None:
    run_metrics(ws.store, ws.config, ws.registry, ["example"], as_of=AS_OF)
    rows = ws.rows("account_metrics", "metric = 'survey_responses_count' AND period_start = '2026-02-01'")
    assert {r["account_id"]: r["value"] for r in rows} == {"globex": 2, "initech": 1}
    share = ws.rows("account_metrics", "metric = 'nps_promoter_share' AND account_id = 'acme'")
    assert [(r["period_start"], r["value"]) for r in share] == [("2026-01-01", 0.5)]


def test_promoter_min_and_grain_parameters(ws: Workspace) -> None:
    ws.config.packs = {"example": {"promoter_min": 10, "grain": "quarter"}}
    run_metrics(ws.store, ws.config, ws.registry, ["example"], as_of=AS_OF)
    assert values(ws, "nps_promoter_share") == {("2026-01-01", "all"): (pytest.approx(1 / 6), 1, 6)}
    assert ws.rows("metric_values", "grain = 'month'") == []


def test_definitions_state_the_parameters_in_force(ws: Workspace) -> None:
    ws.config.packs = {"example": {"promoter_min": 10}}
    run_metrics(ws.store, ws.config, ws.registry, ["example"], as_of=AS_OF)
    [share] = ws.rows("metric_definitions", "metric = 'nps_promoter_share'")
    assert "scoring at least 10 (parameter promoter_min, default 9)" in share["definition"]


def test_a_bad_parameter_is_a_one_line_error(ws: Workspace) -> None:
    ws.config.packs = {"example": {"promoter_min": 11}}
    with pytest.raises(ConfigError, match=r"packs.example.promoter_min: must be at most 10, got 11$"):
        run_metrics(ws.store, ws.config, ws.registry, ["example"], as_of=AS_OF)


def test_skipped_with_a_reason_when_no_answers_are_synced(tmp_path: Any) -> None:
    ws = Workspace(tmp_path, ExamplePack)
    [result] = run_metrics(ws.store, ws.config, ws.registry, ["example"], as_of=AS_OF)
    assert (result.status, result.reason) == ("skipped", "needs rows in survey_responses (none synced yet)")


def test_definitions_are_written(ws: Workspace) -> None:
    run_metrics(ws.store, ws.config, ws.registry, ["example"], as_of=AS_OF)
    defs = {r["metric"]: r for r in ws.rows("metric_definitions", "pack = 'example'")}
    assert set(defs) == {"survey_responses_count", "nps_promoter_share"}
    assert defs["nps_promoter_share"]["unit"] == "percent" and "promoter_min" in defs["nps_promoter_share"]["definition"]


def test_plugin_module_registers_the_pack(plugin_registry: Any) -> None:
    assert plugin_registry(plugin).pack("example") is ExamplePack
