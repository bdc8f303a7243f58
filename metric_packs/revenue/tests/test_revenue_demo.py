"""The demo company through the whole pipeline: the MRR movement identity holds in every month.

    MRR_end = MRR_start + new + reactivation + expansion − contraction − churn

checked three ways: on the `all` metric values, on the `mrr_movements` table summed per month, and
per account (each account's month-end MRR in `account_metrics` against its own movement).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterator

import pytest

pytest.importorskip("csconnect_demo")

import csconnect_demo.plugin as demo_plugin  # noqa: E402
import csconnect_pack_revenue.plugin as revenue_plugin  # noqa: E402
from csconnect import Project  # noqa: E402
from csconnect.plugins import build_registry  # noqa: E402
from csconnect_demo.command import config_text  # noqa: E402

ACCOUNTS, SEED, END = 40, 42, "2026-10"
AS_OF = "2026-10-31"
SIGN = {"new": 1, "reactivation": 1, "expansion": 1, "contraction": -1, "churn": -1}
MOVEMENT_METRICS = {"new": "mrr_new", "reactivation": "mrr_reactivation", "expansion": "mrr_expansion",
                    "contraction": "mrr_contraction", "churn": "mrr_churn"}
TOL = 1e-6                               # minor units per account (the pack's own zero)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """The demo company (40 accounts, the four systems), synced, linked and run through revenue."""
    folder = tmp_path_factory.mktemp("demo")
    (folder / "csconnect.toml").write_text(config_text(ACCOUNTS, SEED, END), encoding="utf-8")
    registry = build_registry([demo_plugin, revenue_plugin], entry_points=False)
    with Project(folder / "csconnect.toml", registry=registry) as project:
        report = project.sync()
        assert report.ok, [r.error for r in report.results if r.error]
        project.link()
        (result,) = project.run_metrics(["revenue"], as_of=AS_OF)
        assert result.status == "ok", result.reason
        yield project


def series(project: Project, metric: str) -> dict[str, float]:
    return {r["period_start"][:7]: r["value"] for r in project.store.query(
        "SELECT period_start, value FROM metric_values WHERE metric = ? AND grain = 'month' AND segment_by = 'all' "
        "ORDER BY period_start", (metric,))}


def previous(months: list[str], i: int, values: dict[str, float]) -> float:
    return values[months[i - 1]] if i else 0.0


def test_every_movement_kind_occurs_in_the_demo(demo: Project) -> None:
    kinds = {r["kind"] for r in demo.store.query("SELECT DISTINCT kind FROM mrr_movements")}
    assert kinds == set(SIGN)            # otherwise the identity below would prove less than it claims


def test_the_identity_holds_on_the_monthly_metric_values(demo: Project) -> None:
    mrr = series(demo, "mrr")
    moves = {kind: series(demo, metric) for kind, metric in MOVEMENT_METRICS.items()}
    net_new = series(demo, "net_new_mrr")
    months = sorted(mrr)
    assert len(months) >= 24 and months[-1] == END
    for i, month in enumerate(months):
        start = previous(months, i, mrr)
        change = sum(SIGN[kind] * moves[kind][month] for kind in SIGN)
        assert mrr[month] == pytest.approx(start + change, abs=ACCOUNTS * TOL), month
        assert net_new[month] == pytest.approx(change, abs=ACCOUNTS * TOL), month


def test_the_identity_holds_on_the_mrr_movements_table(demo: Project) -> None:
    mrr = series(demo, "mrr")
    metrics = {kind: series(demo, metric) for kind, metric in MOVEMENT_METRICS.items()}
    months = sorted(mrr)
    by_month: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(SIGN, 0.0))
    for r in demo.store.query("SELECT month, kind, amount FROM mrr_movements"):
        assert r["amount"] > 0, r
        by_month[r["month"][:7]][r["kind"]] += r["amount"]
    assert set(by_month) <= set(months)
    for i, month in enumerate(months):
        moved = by_month[month]
        change = sum(SIGN[kind] * amount for kind, amount in moved.items())
        assert mrr[month] == pytest.approx(previous(months, i, mrr) + change, abs=ACCOUNTS * TOL), month
        for kind in SIGN:                                    # the table and the metrics agree
            assert moved[kind] == pytest.approx(metrics[kind][month], abs=ACCOUNTS * TOL), (month, kind)


def test_the_identity_holds_for_every_account(demo: Project) -> None:
    mrr = series(demo, "mrr")
    months = sorted(mrr)
    end: dict[str, dict[str, float]] = defaultdict(dict)
    for r in demo.store.query("SELECT account_id, period_start, value FROM account_metrics "
                              "WHERE metric = 'mrr' AND grain = 'month'"):
        end[r["account_id"]][r["period_start"][:7]] = r["value"]
    moved: dict[tuple[str, str], tuple[str, float]] = {}
    for r in demo.store.query("SELECT account_id, month, kind, amount FROM mrr_movements"):
        key = (r["account_id"], r["month"][:7])
        assert key not in moved, f"two movements for {key}"
        moved[key] = (r["kind"], r["amount"])
    checked = 0
    for account, values in end.items():
        had = False
        for i, month in enumerate(months):
            start = values.get(months[i - 1], 0.0) if i else 0.0
            now = values.get(month, 0.0)
            kind, amount = moved.get((account, month), (None, 0.0))
            assert now == pytest.approx(start + (SIGN[kind] * amount if kind else 0.0), abs=TOL), (account, month)
            if kind in ("new", "reactivation"):
                assert start == 0 and (kind == "reactivation") == had, (account, month, kind)
            had = had or now > TOL
            checked += 1
    assert {a for a, _ in moved} <= set(end)
    # the accounts' month-end MRR adds up to the `all` MRR
    for month in months:
        total = sum(values.get(month, 0.0) for values in end.values())
        assert total == pytest.approx(mrr[month], abs=ACCOUNTS * TOL), month
    assert checked >= ACCOUNTS // 2 * 24
