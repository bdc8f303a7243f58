"""`[packs.health]`: custom groups, rules and profiles, and one-line errors that name the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from csconnect import ConfigError, Metric, MetricPack
from csconnect.metrics import run_metrics
from csconnect.plugins import build_registry
from csconnect.testing import plugin_for

import csconnect_pack_health.plugin as health_plugin
from csconnect_pack_health.rules import Bands, Linear, SettingError
from csconnect_pack_health.settings import parse
from health_builders import Book

INPUTS = ("seat_utilisation, usage_trend, feature_breadth, csat, open_escalations, ticket_volume, reopen_rate, "
          "mrr_trend, payment_status, nps_category, days_since_touch")
BAD = [
    ({"profiles": {"enterprise": {"weights": {"usge": 50}}}},
     "packs.health.profiles.enterprise.weights.usge: unknown group (groups: usage, support, business)"),
    ({"profiles": {"enterprise": {"weights": {"usage": -5}}}},
     "packs.health.profiles.enterprise.weights.usage: must be at least 0, got -5"),
    ({"profiles": {"enterprise": {"weights": {"usage": 0, "support": 0, "business": 0}}}},
     "packs.health.profiles.enterprise.weights: every group weight is 0; give at least one group a positive weight"),
    ({"profiles": {"enterprise": {"groups": {"usage": {"weight": 1, "inputs": {"seats": 1}}}}}},
     f"packs.health.profiles.enterprise.groups.usage.inputs.seats: unknown input (inputs: {INPUTS})"),
    ({"profiles": {"enterprise": {"wieghts": {"usage": 1}}}},
     "packs.health.profiles.enterprise.wieghts: unknown key (a profile takes: weights, bands, groups, rules, caps)"),
    ({"profiles": {"enterprise": {"rules": {"csat": {"good": "high"}}}}},
     "packs.health.profiles.enterprise.rules.csat.good: must be a number, got 'high'"),
    ({"profiles": {"enterprise": "heavy"}}, "packs.health.profiles.enterprise: must be a table, got 'heavy'"),
    ({"profiles": {"Smb": {}, "smb": {}}},
     "packs.health.profiles.smb: two profiles match the segment 'smb' (profile names ignore case)"),
    ({"weights": {"usage": "lots"}}, "packs.health.weights.usage: must be a number, got 'lots'"),
    ({"bands": {"yellow": 90}}, "packs.health.bands.yellow: must not be above green (80), got 90"),
    ({"bands": {"amber": 60}}, "packs.health.bands.amber: unknown band (bands: green, yellow)"),
    ({"rules": {"csat": {"bad": 0.9, "good": 0.9}}},
     "packs.health.rules.csat: bad and good must differ (both are 0.9)"),
    ({"rules": {"days_since_touch": {"good": 10}}},
     "packs.health.rules.days_since_touch: a linear rule needs both bad (scores 0) and good (scores 100)"),
    ({"rules": {"csat": {"bands": [[0.9, 100], [0.8]]}}},
     "packs.health.rules.csat.bands[1]: must be a [limit, score] pair, got [0.8]"),
    ({"rules": {"csat": {"bands": [[0.9, 120]]}}}, "packs.health.rules.csat.bands[0]: must be at most 100, got 120"),
    ({"rules": {"csat": {"slope": 2}}},
     "packs.health.rules.csat.slope: unknown key (a rule takes: bad, good, bands, otherwise)"),
    ({"rules": {"nps": {"bad": 0}}}, f"packs.health.rules.nps: unknown input (inputs: {INPUTS})"),
    ({"groups": {"a": {"weight": 1, "inputs": {"csat": 1}}, "b": {"weight": 1, "inputs": {"csat": 2}}}},
     "packs.health.groups.b.inputs.csat: already in group a (an input belongs to one group)"),
    ({"groups": {"a": {"inputs": {"csat": 1}}}},
     "packs.health.groups.a: has no weight: add weight = … to it, or weights.a"),
    ({"groups": {"a": {"weight": 1, "inputs": {}}}}, "packs.health.groups.a.inputs: is empty: name at least one input"),
    ({"groups": {"a": {"weight": 1, "inputs": {"csat": 0}}}},
     "packs.health.groups.a.inputs: every input weight is 0; give at least one a positive weight"),
    ({"groups": {"a": {"weight": 1, "inputs": {"csat": {"good": 0.9}}}}},
     "packs.health.groups.a.inputs.csat.weight: is required when the input is a table"),
    ({"caps": {"seats": 50}}, f"packs.health.caps.seats: unknown input (inputs: {INPUTS})"),
    ({"profiles": {"smb": {"caps": {"csat": 120}}}}, "packs.health.profiles.smb.caps.csat: must be at most 100, got 120"),
    ({"touch_kinds": ["call", "lunch"]},
     "packs.health.touch_kinds[1]: unknown activity kind 'lunch' (kinds: meeting, call, email, qbr, note, other)"),
]


@pytest.mark.parametrize("params, message", BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_a_bad_setting_is_a_one_line_error_before_any_pack_runs(tmp_path: Path, params: dict, message: str) -> None:
    b = Book(tmp_path)
    b.account("acme")
    with pytest.raises(ConfigError) as caught:
        b.run(**params)
    assert str(caught.value) == f"csconnect.toml: {message}"


class Revenue(MetricPack):
    """Stands in for the revenue pack, which health runs after: it records that it ran."""

    name = "revenue"
    metrics = (Metric("mrr_stand_in", "MRR", "currency", "up", "a stand-in"),)
    ran: list[str] = []

    def run(self, ctx) -> None:
        Revenue.ran.append(ctx.as_of_ts)
        ctx.write_value("mrr_stand_in", ctx.periods("month", "2026-06-01")[0], 1.0)


def test_a_bad_profile_fails_before_the_revenue_pack_runs(tmp_path: Path) -> None:
    b = Book(tmp_path)
    b.ws.registry = build_registry([health_plugin, plugin_for(Revenue)], entry_points=False)
    b.account("acme")
    b.ws.config.packs = {"health": {"profiles": {"enterprise": {"weights": {"usge": 50}}}}}
    Revenue.ran.clear()
    with pytest.raises(ConfigError, match=r"^csconnect.toml: packs.health.profiles.enterprise.weights.usge: "
                                          r"unknown group \(groups: usage, support, business\)$"):
        run_metrics(b.store, b.ws.config, b.ws.registry, None, as_of="2026-06-30")
    assert Revenue.ran == [] and b.store.count("metric_values") == 0
    b.ws.config.packs = {}
    results = run_metrics(b.store, b.ws.config, b.ws.registry, None, as_of="2026-06-30")
    assert [(r.pack, r.status) for r in results] == [("revenue", "ok"), ("health", "ok")]
    assert Revenue.ran == ["2026-06-30T23:59:59Z"]


def test_wrong_types_are_caught_by_the_core_before_any_pack_runs(tmp_path: Path) -> None:
    b = Book(tmp_path)
    b.account("acme")
    with pytest.raises(ConfigError, match=r"^csconnect.toml: packs.health.profiles: must be a table, got \['x'\]$"):
        b.run(profiles=["x"])


def test_defaults_and_overrides_merge() -> None:
    s = parse({})
    assert [(g.name, g.weight) for g in s.default.groups] == [("usage", 40), ("support", 30), ("business", 30)]
    assert (s.default.green, s.default.yellow) == (80, 50)
    s = parse({"weights": {"usage": 50}, "bands": {"green": 75}, "rules": {"seat_utilisation": {"good": 0.6},
                                                                            "payment_status": {"otherwise": 10}},
               "profiles": {"enterprise": {"rules": {"seat_utilisation": {"bad": 0.3}}, "bands": {"yellow": 60}}}})
    assert [(g.name, g.weight) for g in s.default.groups] == [("usage", 50), ("support", 30), ("business", 30)]
    assert s.default.rules["seat_utilisation"] == Linear(0.25, 0.6)
    assert s.default.rules["payment_status"] == Bands(False, ((0, 100), (30, 50), (60, 20)), 10)
    ent = s.profile_for("Enterprise ")
    assert ent.rules["seat_utilisation"] == Linear(0.3, 0.6)      # on top of the top-level override
    assert (ent.green, ent.yellow) == (75, 60) and ent.groups == s.default.groups
    assert s.profile_for("smb") is s.default and s.profile_for(None) is s.default


def test_custom_groups_replace_the_defaults() -> None:
    s = parse({"groups": {"adoption": {"inputs": {"seat_utilisation": 2, "feature_breadth": {"weight": 1, "bad": 0.2,
                                                                                               "good": 0.7}}},
                          "voice": {"weight": 1, "inputs": {"nps_category": {"weight": 1, "detractor": 20}}}},
               "weights": {"adoption": 3}})
    assert [(g.name, g.weight, g.inputs) for g in s.default.groups] == [
        ("adoption", 3, (("seat_utilisation", 2), ("feature_breadth", 1))), ("voice", 1, (("nps_category", 1),))]
    assert s.default.rules["feature_breadth"] == Linear(0.2, 0.7)
    assert [s.default.rules["nps_category"].score(x) for x in (10, 8, 3)] == [100, 60, 20]
    with pytest.raises(SettingError, match="weights.usage: unknown group"):
        parse({"groups": {"adoption": {"weight": 1, "inputs": {"csat": 1}}}, "weights": {"usage": 1}})


def test_bands_rule_override_through_the_pack(tmp_path: Path) -> None:
    # A touch 20 days ago: the default bands give 100; stricter bands give 50.
    b = Book(tmp_path)
    b.account("acme")
    b.activity("acme", "2026-06-10T12:00:00Z")
    b.run(rules={"days_since_touch": {"bands": [[14, 100], [30, 50]]}})
    assert b.health("acme")["score"] == 50
    b.run(rules={"days_since_touch": {"bad": 40, "good": 0}})       # linear: 20.5 days → 48.75
    assert b.health("acme")["score"] == pytest.approx(48.75, abs=0.01)


def test_the_support_packs_ticket_settings_are_honoured(tmp_path: Path) -> None:
    # Two open tickets tagged tier2 (no escalation flag): one from zendesk, one from a CRM. With the
    # support pack's escalation_tag = "tier2" and ticket_sources = ["zendesk"], one escalation is open.
    b = Book(tmp_path)
    b.account("acme")
    b.activity("acme", "2026-06-20T12:00:00Z")
    b.row("tickets", "acme", source="zendesk", created_at="2026-06-01T00:00:00Z", status="open", tags='["Tier2"]')
    b.row("tickets", "acme", source="hubspot", created_at="2026-06-02T00:00:00Z", status="open", tags='["tier2"]')
    b.row("tickets", "acme", source="zendesk", created_at="2026-06-03T00:00:00Z", status="open",
          tags='["tier2"]', escalated=False)                       # the flag wins over the tag
    b.run()
    assert b.health("acme")["components"]["inputs"]["open_escalations"]["raw"] == 0
    b.run(other={"support": {"escalation_tag": "tier2", "ticket_sources": ["zendesk"]}})
    assert b.health("acme")["components"]["inputs"]["open_escalations"]["raw"] == 1
