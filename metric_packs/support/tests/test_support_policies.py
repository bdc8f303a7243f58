"""Parameters, partial inputs, the order statistics, and the pack's declarations."""
from __future__ import annotations

import random

import pytest

from csconnect.plugins import build_registry
from csconnect_pack_support import SupportPack
from csconnect_pack_support.stats import median, nps_interval, quantile
from support_helpers import Data

MAY = "2026-05-01"
CONTRACT = ("tickets_created tickets_solved backlog first_reply_seconds_median first_reply_seconds_p90 "
            "resolution_seconds_median resolution_seconds_p90 first_contact_resolution_rate reopen_rate "
            "escalation_rate csat nps ces ces_easy_share self_service_rate").split()


# -- order statistics --------------------------------------------------------------------------------
def test_median_of_even_count_is_mean_of_middles():
    assert median([1, 2, 3, 10]) == 2.5
    assert median([5]) == 5 and median([]) is None
    assert median([1, 2, 3]) == 2


@pytest.mark.parametrize("values, q, expected", [
    ([10, 20, 30, 40, 50], 0.9, 46.0),          # h = 3.6 -> 40 + 0.6 × 10
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9.1),  # h = 8.1 -> 9 + 0.1 × 1
    ([0, 100], 0.9, 90.0),                       # h = 0.9
    ([7], 0.9, 7.0),
    ([1, 3], 0.5, 2.0),
    ([2, 4, 4, 4, 5, 5, 7, 9], 0.9, 7.6),         # h = 6.3 -> 7 + 0.3 × 2
    ([2, 4, 4, 4, 5, 5, 7, 9], 0.0, 2.0),
    ([2, 4, 4, 4, 5, 5, 7, 9], 1.0, 9.0),
])
def test_p90_linear_interpolation_hand_numbers(values, q, expected):
    assert quantile(values, q) == pytest.approx(expected)


def test_quantile_matches_numpy_when_installed():
    np = pytest.importorskip("numpy")
    rng = random.Random(7)
    for _ in range(200):
        values = sorted(rng.randint(0, 10_000) for _ in range(rng.randint(1, 40)))
        for q in (0.5, 0.9):
            assert quantile(values, q) == pytest.approx(float(np.percentile(values, q * 100)))


def test_nps_interval_formula():
    nps, se, low, high = nps_interval(promoters=6, detractors=2, n=10)     # p .6, d .2
    assert nps == pytest.approx(40)
    assert se == pytest.approx(100 * ((0.6 + 0.2 - 0.16) / 10) ** 0.5)      # 25.2982
    assert (low, high) == (pytest.approx(40 - 1.96 * se), pytest.approx(40 + 1.96 * se))
    assert nps_interval(1, 0, 1) == (100, 0, 100, 100)
    assert nps_interval(0, 0, 0) is None
    assert nps_interval(3, 0, 4)[3] == 100                                  # clamped


# -- declarations ---------------------------------------------------------------------------------------
def test_metric_names_units_and_entry_point():
    names = [m.name for m in SupportPack.metrics]
    assert names[:len(CONTRACT)] == CONTRACT and names[len(CONTRACT):] == ["tickets_per_100_seats"]
    units = {m.name: m.unit for m in SupportPack.metrics}
    assert units["csat"] == "percent" and units["nps"] == "score" and units["resolution_seconds_p90"] == "seconds"
    assert SupportPack.requires == (("tickets", "survey_responses"),)
    registry = build_registry()                    # the installed distribution, found by entry point
    assert registry.pack("support") is SupportPack
    assert registry.packs["support"].plugin.distribution == "csconnect-pack-support"


# -- partial inputs and parameters -------------------------------------------------------------------------
def test_no_input_is_skipped_with_one_line(tmp_path):
    data = Data(tmp_path)
    result = data.run()
    assert result.status == "skipped" and result.reason == "needs rows in tickets or survey_responses (none synced yet)"


def test_surveys_without_a_helpdesk(tmp_path):
    data = Data(tmp_path)
    data.answer("a", "csat", 1, "2026-05-03T00:00:00Z", scale_min=0, scale_max=1)
    data.answer("b", "csat", 3, "2026-05-04T00:00:00Z", scale_min=1, scale_max=5)
    data.answer("c", "nps", 10, "2026-05-04T00:00:00Z")
    result = data.run()
    assert result.status == "ok", result
    assert data.row_of("csat", MAY) == (0.5, 1, 2)
    assert data.row_of("nps", MAY) == (100.0, 100, 1)
    assert data.value("tickets_created", MAY) == "missing"
    assert data.value("backlog", MAY) == "missing"


def test_fcr_zero_reply_exclude_and_solved_without_time(tmp_path):
    data = Data(tmp_path, fcr_zero_reply="exclude")
    data.ticket("1", None, "2026-05-01T00:00:00Z", status="solved", solved_at="2026-05-01T01:00:00Z", agent_replies=1)
    data.ticket("2", None, "2026-05-01T00:00:00Z", status="solved", solved_at="2026-05-01T02:00:00Z", agent_replies=0)
    data.ticket("3", None, "2026-05-01T00:00:00Z", status="solved", solved_at="2026-05-01T03:00:00Z", agent_replies=2)
    data.ticket("4", None, "2026-05-01T00:00:00Z", status="solved", solved_at="2026-05-01T03:00:00Z")  # no count
    data.ticket("5", None, "2026-05-02T00:00:00Z", status="closed")                                # no solve time
    data.ticket("6", None, "2026-05-02T00:00:00Z", status="new")
    assert data.run().status == "ok"
    assert data.row_of("first_contact_resolution_rate", MAY) == (0.5, 1, 2)     # 1 of 1, 3; 2 and 4 left out
    assert data.value("tickets_solved", MAY) == 4                               # 5 has no solve period
    assert data.value("backlog", MAY) == 1                                      # 6; 5 never sat in the backlog
    assert data.row_of("reopen_rate", MAY) == (None, 0, 0)                      # no source reports reopens


def test_ces_headline_scale_parameter(tmp_path):
    data = Data(tmp_path, ces_headline_scale="1-5 lower_better")
    for sid, score in (("a", 7), ("b", 6), ("c", 5)):
        data.answer(sid, "ces", score, "2026-05-05T00:00:00Z")                  # default 1–7 higher better
    data.answer("d", "ces", 2, "2026-05-05T00:00:00Z", scale_min=1, scale_max=5, polarity="lower_better")
    assert data.run().status == "ok"
    assert data.row_of("ces", MAY) == (2.0, 2, 1)
    assert data.row_of("ces", MAY, segment_by="scale", segment="1-7 higher_better") == (6.0, 18, 3)


def test_csat_top_box_only_and_every_answer(tmp_path):
    data = Data(tmp_path, csat_top_two_box=False, csat_latest_per_ticket=False)
    data.answer("a", "csat", 4, "2026-05-03T00:00:00Z", ticket_id="zendesk:1", scale_min=1, scale_max=5)
    data.answer("b", "csat", 5, "2026-05-04T00:00:00Z", ticket_id="zendesk:1", scale_min=1, scale_max=5)
    assert data.run().status == "ok"
    assert data.row_of("csat", MAY) == (0.5, 1, 2)


@pytest.mark.parametrize("params, message", [
    ({"ces_default_scale": "seven"}, "packs.support.ces_default_scale: 'seven' is not a scale"),
    ({"grains": ["year"]}, "packs.support.grains: year: choose from day, week, month, quarter"),
    ({"ticket_sources": [1]}, "packs.support.ticket_sources: must be a list of names"),
])
def test_bad_parameters_fail_in_one_line(tmp_path, params, message):
    data = Data(tmp_path, **params)
    data.ticket("1", None, "2026-05-01T00:00:00Z")
    result = data.run()
    assert result.status == "failed" and result.reason.startswith(message) and "\n" not in result.reason


def test_rerun_replaces_and_other_grains(tmp_path):
    data = Data(tmp_path, grains=["day", "quarter"])
    data.ticket("1", None, "2026-05-01T10:00:00Z")
    data.ticket("2", None, "2026-05-02T10:00:00Z")
    data.answer("n", "nps", 9, "2026-05-02T00:00:00Z")
    assert data.run().status == "ok"
    first = data.store.query("SELECT count(*) AS n FROM nps_detail")[0]["n"]
    assert data.run().status == "ok"
    assert data.store.query("SELECT count(*) AS n FROM nps_detail")[0]["n"] == first
    assert data.value("tickets_created", "2026-04-01", grain="quarter") == 2
    assert data.value("backlog", "2026-05-01", grain="day") == 1
    assert data.value("backlog", "2026-05-02", grain="day") == 2
    assert data.value("tickets_created", MAY, grain="month") == "missing"
