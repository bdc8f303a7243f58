"""The dashboard file without a browser: offline, complete, the database's numbers, escaped, and its CLI."""
from __future__ import annotations

import json
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest

from csconnect import Project
from csconnect.cli import main
from csconnect.metrics import NONE_SEGMENT
from csconnect.report import SECTIONS, build_report
from csconnect.store import Store

import report_demo

HOSTILE = "</script><script>alert('x')</script><!-- \"Quote\" & 'Co' \u2028"


class Tags(HTMLParser):
    """Every start tag with its attributes (script bodies are data, not tags)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def embedded(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert match, "the report has no embedded data"
    return json.loads(match.group(1))


def sections(html: str) -> dict[str, str]:
    return {a["data-section"]: a["data-has-data"] for t, a in tags(html) if t == "section"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root, stdout = report_demo.demo_project(tmp_path_factory)
    html = (root / "report.html").read_text(encoding="utf-8")
    db = sqlite3.connect(root / "csconnect.db")
    db.row_factory = sqlite3.Row
    yield root, stdout, html, db
    db.close()


def test_demo_ends_by_writing_the_report_and_printing_its_path(demo):
    root, stdout, html, _ = demo
    last = stdout.strip().splitlines()[-1]
    assert last == f"report: {(root / 'report.html').resolve()}"
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_the_file_loads_nothing_from_anywhere(demo):
    html = demo[2]
    for tag, attrs in tags(html):
        for name in ("src", "href", "action", "data", "poster"):
            value = (attrs.get(name) or "").strip().lower()
            assert not re.match(r"^(https?:)?//", value), f"<{tag} {name}={value!r}> points to another host"
        assert tag not in ("link", "iframe", "img", "object", "embed", "base"), f"unexpected <{tag}>"
        if tag == "script":
            assert "src" not in attrs, "every script is inline"
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert styles and not any(re.search(r"url\(|@import", s) for s in styles)
    csp = [a["content"] for t, a in tags(html) if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "connect-src 'none'" in csp[0]
    assert "Plotly" in html and len(html) > 1_000_000          # the charting library is inside the file


def test_every_section_is_there_and_has_data(demo):
    found = sections(demo[2])
    assert list(found) == [s["id"] for s in SECTIONS]
    assert found == {s["id"]: "1" for s in SECTIONS}


def test_segments_are_those_of_the_database(demo):
    db = demo[3]
    expected = {r[0] for r in db.execute("SELECT DISTINCT segment FROM metric_values WHERE segment_by = 'segment'")}
    expected |= {r[0] or NONE_SEGMENT for r in db.execute("SELECT DISTINCT segment FROM accounts")}
    data = embedded(demo[2])
    assert set(data["segments"]) == expected and len(data["segments"]) == len(expected)
    assert {"enterprise", "mid_market", "smb"} <= expected


def test_embedded_numbers_are_the_database_values(demo):
    db, data = demo[3], embedded(demo[2])

    def latest(metric, by="all", segment="all"):
        return db.execute("SELECT period_start, value FROM metric_values WHERE metric = ? AND grain = 'month' "
                          "AND segment_by = ? AND segment = ? ORDER BY period_start DESC LIMIT 1",
                          (metric, by, segment)).fetchone()

    for metric in ("mrr", "nrr", "csat", "nps", "dau_mau", "health_score_mean", "first_reply_seconds_median"):
        period, value = latest(metric)
        assert data["series"]["all"][metric][-1][:2] == [period, value], metric
    period, value = latest("mrr", "segment", "smb")
    assert data["series"]["segments"]["smb"]["mrr"][-1][:2] == [period, value]
    assert len(data["series"]["all"]["mrr"]) == 24                      # the default window
    assert data["meta"]["currency"] == "USD" and data["meta"]["as_of"] == "2026-10-31"

    at_risk = db.execute("SELECT account_id, score FROM account_health WHERE band IN ('red', 'yellow') "
                         "ORDER BY score").fetchall()
    assert [(r["account_id"], r["score"]) for r in data["at_risk"]] == [tuple(r) for r in at_risk]
    first = data["at_risk"][0]
    drivers = json.loads(db.execute("SELECT drivers FROM account_health WHERE account_id = ?",
                                    (first["account_id"],)).fetchone()[0])
    assert first["drivers"] == drivers and first["name"] == db.execute(
        "SELECT name FROM accounts WHERE account_id = ?", (first["account_id"],)).fetchone()[0]
    assert len(data["renewals"]) == db.execute("SELECT COUNT(*) FROM renewal_pipeline").fetchone()[0]
    open_alerts = db.execute("SELECT COUNT(*) FROM alerts WHERE resolved_at IS NULL").fetchone()[0]
    assert len(data["alerts"]) == min(open_alerts, 200)
    nrr_card = [r for r in data["scorecard"] if r["metric"] == "nrr" and r["segment_by"] == "all"]
    if nrr_card:
        row = db.execute("SELECT period_start, value, status FROM scorecard WHERE metric = 'nrr' "
                         "AND segment_by = 'all' ORDER BY period_start DESC LIMIT 1").fetchone()
        assert (nrr_card[0]["period_start"], nrr_card[0]["value"], nrr_card[0]["status"]) == tuple(row)


def test_an_empty_database_gives_a_report_that_says_no_data(tmp_path):
    store = Store(tmp_path / "empty.db")
    path = build_report(store, "EUR", tmp_path / "out" / "report.html")
    store.close()
    html = path.read_text(encoding="utf-8")
    assert sections(html) == {s["id"]: "0" for s in SECTIONS}
    for spec in SECTIONS:
        assert spec["empty"] in html
    assert "no support data: connect a helpdesk and run csconnect metrics run" in html
    data = embedded(html)
    assert data["segments"] == [] and data["meta"]["currency"] == "EUR" and data["meta"]["as_of"] is None


def _hostile_store(path: Path) -> Store:
    store = Store(path)
    db = store.conn
    db.execute("INSERT INTO accounts (account_id, name, segment) VALUES ('a1', ?, ?)", (HOSTILE, HOSTILE))
    db.execute("INSERT INTO metric_definitions VALUES ('mrr', 'revenue', ?, 'currency', 'up', 'x')", (HOSTILE,))
    for month, value in (("2026-08-01", float("inf")), ("2026-09-01", 1000), ("2026-10-01", 1250)):
        db.execute("INSERT INTO metric_values (metric, grain, period_start, period_end, segment_by, segment, value) "
                   "VALUES ('mrr', 'month', ?, ?, 'segment', ?, ?)", (month, month[:8] + "28", HOSTILE, value))
    db.execute("INSERT INTO account_health VALUES ('a1', '2026-10-31T23:59:59Z', 12.5, 'red', -3, '{}', ?)",
               (json.dumps([HOSTILE + " driver"]),))
    return store


def test_hostile_names_are_escaped(tmp_path):
    store = _hostile_store(tmp_path / "h.db")
    html = build_report(store, "USD", tmp_path / "r.html").read_text(encoding="utf-8")
    store.close()
    assert HOSTILE not in html and "<script>alert(" not in html
    assert html.count("</script>") == html.count("<script")              # no script ends early
    data = embedded(html)
    assert data["at_risk"][0]["name"] == HOSTILE and data["at_risk"][0]["drivers"] == [HOSTILE + " driver"]
    assert data["segments"] == [HOSTILE] and data["definitions"]["mrr"]["title"] == HOSTILE
    assert [p[1] for p in data["series"]["segments"][HOSTILE]["mrr"]] == [None, 1000, 1250]   # no Infinity


def test_project_report_and_unknown_segment(tmp_path):
    store = _hostile_store(tmp_path / "h.db")
    store.close()
    (tmp_path / "csconnect.toml").write_text('database = "h.db"\nreporting_currency = "GBP"\n')
    with Project(tmp_path / "csconnect.toml", registry=None) as project:
        path = project.report(tmp_path / "p.html", segment=HOSTILE)
        assert embedded(path.read_text(encoding="utf-8"))["meta"]["segment"] == HOSTILE
        assert embedded(path.read_text(encoding="utf-8"))["meta"]["currency"] == "GBP"
        with pytest.raises(Exception, match=r"unknown segment 'nope' \(segments: "):
            project.report(tmp_path / "q.html", segment="nope")


def _cli(capsys, *args):
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_cli_writes_the_file_and_prints_its_path(tmp_path, monkeypatch, capsys):
    _hostile_store(tmp_path / "h.db").close()
    (tmp_path / "csconnect.toml").write_text('database = "h.db"\n')
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, "report", "-o", "sub/dash.html", "--months", "6")
    assert code == 0, err
    target = (tmp_path / "sub" / "dash.html").resolve()
    assert out == f"report: {target}\n" and target.exists()
    assert embedded(target.read_text(encoding="utf-8"))["meta"]["months"] == 6
    code, out, err = _cli(capsys, "report", "--segment", "nope")
    assert code == 2 and out == ""
    assert err.startswith("error: unknown segment 'nope' (segments: ") and err.count("\n") == 1
    assert not (tmp_path / "report.html").exists()
