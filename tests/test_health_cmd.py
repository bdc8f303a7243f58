"""`csconnect health`: accounts worst first, filters, groups, and a clear word when nothing is scored."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from csconnect.cli import build_cli
from csconnect.plugins import build_registry, set_registry
from csconnect.store import Store

AS_OF = "2026-06-30T23:59:59Z"
# account, name, segment, owner, score, band, trend, drivers, MRR by month (minor units)
ACCOUNTS = [
    ("a1", "Acme", "enterprise", "Ann", 42.5, "red", -12.0, ["seat utilisation 22%: 9 of 40 seats active",
                                                           "CSAT 60% (mean of 3 months with ratings)"],
     {"2026-05-01": 500000, "2026-06-01": 450000}),
    ("a2", "Birch", "smb", "Bob", 91.0, "green", 2.0, [], {"2026-06-01": 9900}),
    ("a3", "Cedar", "smb", "Ann", 65.0, "yellow", None, ["no touch in 95 days (last 2026-03-27)"], {}),
    ("a4", "Delta", "enterprise", None, 30.0, "red", -3.5, ["1 escalated ticket open"], {"2026-06-01": 120000}),
    ("a5", "Elm", None, "Bob", 80.0, "green", 0.0, [], {"2026-06-01": 20000}),
]


def fill(store: Store) -> None:
    with store.transaction() as conn:
        for aid, name, segment, owner, score, band, trend, drivers, mrr in ACCOUNTS:
            conn.execute("INSERT INTO accounts (account_id, name, segment, owner) VALUES (?, ?, ?, ?)",
                         (aid, name, segment, owner))
            conn.execute("INSERT INTO account_health VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (aid, AS_OF, score, band, trend, json.dumps({"profile": "default"}), json.dumps(drivers)))
            for month, value in mrr.items():
                conn.execute("INSERT INTO account_metrics VALUES (?, 'mrr', 'month', ?, ?)", (aid, month, value))


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    set_registry(build_registry([], entry_points=False))
    (tmp_path / "csconnect.toml").write_text('reporting_currency = "USD"\n', encoding="utf-8")
    return tmp_path


def run(*args: str):
    result = CliRunner().invoke(build_cli(), list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def with_data(project):
    store = Store(project / "csconnect.db")
    fill(store)
    store.close()


def test_says_so_when_the_health_pack_has_not_run(project):
    assert "no health scores yet" in run("health") and "csconnect-pack-health" in run("health")
    assert json.loads(run("health", "--format", "json")) == []


def test_worst_first_with_mrr_and_top_driver(project):
    with_data(project)
    rows = json.loads(run("health", "--format", "json"))
    assert [r["account_id"] for r in rows] == ["a4", "a1", "a3", "a5", "a2"]
    acme = rows[1]
    assert (acme["name"], acme["segment"], acme["mrr"], acme["score"], acme["band"], acme["trend"]) == \
        ("Acme", "enterprise", 450000, 42.5, "red", -12.0)               # the latest month's MRR
    assert acme["driver"] == "seat utilisation 22%: 9 of 40 seats active" and len(acme["drivers"]) == 2
    assert rows[2]["mrr"] is None and rows[2]["trend"] is None


def test_table_output(project):
    with_data(project)
    out = run("health", "--last", "2")
    lines = [line for line in out.splitlines() if "Delta" in line or "Acme" in line]
    assert "Delta" in lines[0] and "Acme" in lines[1]                   # worst first
    assert "$4,500.00" in lines[1] and "-12.0" in lines[1] and "seat utilisation 22%" in lines[1]
    assert "2 of 5 accounts shown" in out


def test_band_filter_and_limit(project):
    with_data(project)
    assert [r["account_id"] for r in json.loads(run("health", "--band", "red", "--format", "json"))] == ["a4", "a1"]
    assert [r["account_id"] for r in json.loads(run("health", "--band", "green", "--last", "1", "--format",
                                                    "json"))] == ["a5"]
    yellow = run("health", "--band", "yellow")
    assert "Cedar" in yellow and "Acme" not in yellow


def test_by_segment_counts_and_means(project):
    with_data(project)
    rows = {r["segment"]: r for r in json.loads(run("health", "--by", "segment", "--format", "json"))}
    assert set(rows) == {"enterprise", "smb", "(none)"}
    ent = rows["enterprise"]
    assert (ent["accounts"], ent["green"], ent["yellow"], ent["red"]) == (2, 0, 0, 2)
    assert ent["mean_score"] == pytest.approx(36.25) and ent["mrr"] == 570000 and ent["red_mrr"] == 570000
    smb = rows["smb"]
    assert (smb["accounts"], smb["green"], smb["yellow"], smb["mean_score"], smb["red_mrr"]) == (2, 1, 1, 78.0, 0)
    owners = json.loads(run("health", "--by", "owner", "--band", "red", "--format", "json"))
    assert {r["owner"]: r["accounts"] for r in owners} == {"Ann": 1, "(none)": 1}
    table = run("health", "--by", "segment")
    assert table.index("enterprise") < table.index("smb")                # worst group first
    assert "$5,700.00" in table


def test_by_rejects_an_unknown_field(project):
    result = CliRunner().invoke(build_cli(), ["health", "--by", "colour"])
    assert result.exit_code == 2 and "colour" in result.output
