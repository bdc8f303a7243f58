"""The combining arithmetic and the scoring rules: published worked examples, Python against SQL."""
from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from csconnect_pack_health import combine
from csconnect_pack_health.catalogue import INPUTS, markdown_table
from csconnect_pack_health.combine import capped, capped_sql, points_lost, score_sql
from csconnect_pack_health.rules import Bands, Linear
from csconnect_pack_health.settings import parse
from health_builders import Book


def test_worked_example_weighted_groups() -> None:
    # (20·47 + 15·59 + 22·21) / 57 = 2287 / 57 = 40.12
    result = combine({"a": (20, {"x": (1, 47)}), "b": (15, {"y": (1, 59)}), "c": (22, {"z": (1, 21)})})
    assert round(result.score, 2) == 40.12
    assert result.missing == []


def test_worked_example_weighted_bands() -> None:
    # (5·100 + 3·60 + 2·40) / 10 = 76
    result = combine({"g": (1, {"promoter": (5, 100), "passive": (3, 60), "detractor": (2, 40)})})
    assert result.score == 76
    assert result.shares == {"promoter": 0.5, "passive": 0.3, "detractor": 0.2}


def test_missing_inputs_and_groups_are_reweighted() -> None:
    result = combine({"usage": (40, {"a": (2, 50), "b": (1, None)}), "support": (30, {"c": (1, None)}),
                      "business": (30, {"d": (1, 80)}), "off": (0, {"e": (1, 0)})})
    assert result.groups["usage"] == 50 and result.groups["support"] is None
    assert result.score == pytest.approx((40 * 50 + 30 * 80) / 70)
    assert result.missing == ["support"]                    # a weight-0 group is not "missing"
    assert result.shares == pytest.approx({"a": 40 / 70, "d": 30 / 70})
    assert points_lost(result, {"a": 50, "d": 80}) == pytest.approx({"a": 40 / 70 * 50, "d": 30 / 70 * 20})
    assert combine({"usage": (40, {"a": (1, None)})}).score is None


def test_worked_examples_end_to_end(tmp_path: Path) -> None:
    # The same two examples through configured groups and rules, scored by SQL over canonical rows.
    b = Book(tmp_path)
    b.account("acme")
    b.monthly("acme", "mrr", {"2026-03": 100, "2026-06": 100})
    b.monthly("acme", "seat_utilisation", {"2026-06": 0.47})
    b.monthly("acme", "csat", {"2026-06": 0.59})
    b.metric("acme", "usage_trend", "2026-06-30", 0.21, grain="day")
    linear01 = {"bad": 0, "good": 1}
    groups = {"g1": {"weight": 20, "inputs": {"seat_utilisation": {"weight": 1, **linear01}}},
              "g2": {"weight": 15, "inputs": {"csat": 1}},
              "g3": {"weight": 22, "inputs": {"usage_trend": {"weight": 1, **linear01}}}}
    assert b.run(groups=groups, rules={"csat": linear01}).status == "ok"
    assert b.health("acme")["score"] == 40.12
    assert b.health("acme")["components"]["groups"]["g2"] == {"weight": 15.0, "score": 59.0, "share": 0.2632}

    b.nps("acme", 9, "2026-06-01T00:00:00Z")                                  # promoter → 100
    b.invoice("acme", "2026-05-15T00:00:00Z", "open")                         # 16 days past due → 60
    b.activity("acme", "2026-04-20T00:00:00Z")                                # 71 days → ≤ 90 → 40
    result = b.run(groups={"relationship": {"weight": 1, "inputs": {
        "nps_category": 5, "payment_status": {"weight": 3, "bands": [[0, 100], [30, 60]]}, "days_since_touch": 2}}})
    assert result.status == "ok", result.reason
    acme = b.health("acme")
    assert (acme["score"], acme["band"]) == (76.0, "yellow")
    assert list(acme["components"]["groups"]) == ["relationship"]


def _sql_score(expr: str, values: dict[str, float | None]) -> float | None:
    db = sqlite3.connect(":memory:")
    cols = ", ".join(f"? AS [{k}]" for k in values) or "1 AS dummy"
    return db.execute(f"SELECT {expr} FROM (SELECT {cols})", list(values.values())).fetchone()[0]


@pytest.mark.parametrize("inp", INPUTS, ids=lambda i: i.name)
def test_rules_score_the_same_in_python_and_sql(inp) -> None:
    grid = [None, -1e9, -1, -0.3, -0.25, -0.1, 0, 0.05, 0.1, 0.2, 0.25, 0.45, 0.5, 0.6, 0.8, 0.95, 1, 1.5, 2.5, 3,
            6, 7, 8, 9, 10, 29.9, 30, 30.1, 45, 60, 61, 90, 91, 400, 1e9]
    for x in grid:
        assert _sql_score(inp.rule.sql("x"), {"x": x}) == pytest.approx(inp.rule.score(x)), (inp.name, x)


def test_rule_kinds() -> None:
    lower = Bands(False, ((30, 100), (60, 70), (90, 40)), 0)
    assert [lower.score(x) for x in (0, 30, 30.5, 60, 89, 90, 91)] == [100, 100, 70, 70, 40, 40, 0]
    higher = Bands(True, ((0.05, 100), (-0.1, 50)), 10)
    assert [higher.score(x) for x in (0.2, 0.05, 0, -0.1, -0.11)] == [100, 100, 50, 50, 10]
    assert Linear(3, 1).score(2.5) == 25 and Linear(3, 1).score(0) == 100 and Linear(3, 1).score(9) == 0


def test_combining_sql_matches_python() -> None:
    settings = parse({"profiles": {"x": {"weights": {"usage": 0, "business": 5}}}})
    rng = random.Random(7)
    for profile in settings.all_profiles:
        expr = score_sql(profile)
        for _ in range(300):
            scores = {i.name: (None if rng.random() < 0.3 else rng.uniform(0, 100)) for i in INPUTS}
            groups = {g.name: (g.weight, {n: (w, scores[n]) for n, w in g.inputs}) for g in profile.groups}
            expected = combine(groups).score
            got = _sql_score(expr, {f"s_{k}": v for k, v in scores.items()})
            assert (got is None and expected is None) or got == pytest.approx(expected, abs=1e-9)
            for zero in ("payment_status", "usage_trend", "csat"):      # capped, capped, no cap by default
                scores[zero] = 0.0
                expected = capped(profile, _combined(profile, scores), scores)
                got = _sql_score(capped_sql(profile), {f"s_{k}": v for k, v in scores.items()})
                assert (got is None and expected is None) or got == pytest.approx(expected, abs=1e-9)


def _combined(profile, scores):
    return combine({g.name: (g.weight, {n: (w, scores[n]) for n, w in g.inputs}) for g in profile.groups}).score


def test_default_caps() -> None:
    p = parse({}).default
    assert dict(p.active_caps()) == {"seat_utilisation": 79, "usage_trend": 79, "open_escalations": 69,
                                     "mrr_trend": 79, "payment_status": 49}
    scores = {i.name: 100.0 for i in INPUTS}
    assert capped(p, 95.0, scores) == 95.0
    scores |= {"payment_status": 0.0, "mrr_trend": 0.0}
    assert capped(p, 90.0, scores) == 49.0            # the lowest cap that bites
    assert capped(p, 40.0, scores) == 40.0            # a cap never raises a score


def test_readme_lists_the_rules_from_the_code() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "README's input table is stale: python -m csconnect_pack_health.catalogue"


def test_feature_step_function_counts_the_features_of_the_30_day_window() -> None:
    # Random uses of 4 features by 3 accounts over 200 days, reduced to (first, last) use per month
    # and merged month by month as the pack does; the step table's count at every day equals a
    # brute-force count of the distinct features used in the 30 days to that day.
    from csconnect_pack_health.sources import FEATURE_DAYS, FEATURE_MERGE, FEATURE_STEPS

    rng = random.Random(11)
    uses = [(a, f, d) for a in "abc" for f in "wxyz" for d in range(200) if rng.random() < (0.03 if f != "z" else 0.3)]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TEMP TABLE h_fm (account_id TEXT, feature TEXT, lo INTEGER, hi INTEGER)")
    db.execute("CREATE TEMP TABLE h_fcur (account_id TEXT, feature TEXT, s INTEGER, e INTEGER, "
               "PRIMARY KEY (account_id, feature))")
    db.execute("CREATE TEMP TABLE h_fisl (account_id TEXT, s INTEGER, e INTEGER)")
    db.execute("CREATE TEMP TABLE h_fc (account_id TEXT, dn INTEGER, n INTEGER, PRIMARY KEY (account_id, dn))")
    for month in range(7):                                   # 30-day "months": first and last use ≤ 29 days apart
        db.execute("DELETE FROM h_fm")
        spans: dict = {}
        for a, f, d in uses:
            if d // 30 == month:
                lo, hi = spans.get((a, f), (d, d))
                spans[(a, f)] = (min(lo, d), max(hi, d))
        db.executemany("INSERT INTO h_fm VALUES (?, ?, ?, ?)", [(a, f, lo, hi) for (a, f), (lo, hi) in spans.items()])
        for sql in FEATURE_MERGE:
            db.execute(sql)
    db.execute(FEATURE_STEPS)
    for a in "abc":
        for day in range(0, 240):
            expected = len({f for x, f, d in uses if x == a and day - FEATURE_DAYS < d <= day})
            got = db.execute("SELECT n FROM h_fc WHERE account_id = ? AND dn <= ? ORDER BY dn DESC LIMIT 1",
                             [a, day]).fetchone()
            assert (got[0] if got else 0) == expected, (a, day)
