"""Alerts: rule kinds at their boundaries, de-duplication across runs, the outbox and the webhook sink."""
from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner

from csconnect import hookimpl
from csconnect.alert_sinks import AlertSink, WebhookSink
from csconnect.alerts import list_alerts, update_alerts
from csconnect.cli import build_cli
from csconnect.config import load_config
from csconnect.connector import Option
from csconnect.errors import ConfigError, UsageError
from csconnect.plugins import build_registry
from csconnect.testing import LocalServer, Workspace, plugin_for

AS_OF = "2026-06-30"
SECRET_PATH = "/services/T0001/B0002/sEcReTtOkEn0123456789"


# -- helpers ---------------------------------------------------------------------------------------

def rules(*specs: dict, sinks: dict | None = None) -> dict:
    out: dict = {"rules": [dict(s) for s in specs]}
    if sinks:
        out["sinks"] = sinks
    return out


def workspace(tmp_path: Path, alerts: dict, registry=None) -> Workspace:
    ws = Workspace(tmp_path, registry=registry, alerts=alerts)
    ws.store.conn.executemany("INSERT INTO accounts (account_id, name, segment) VALUES (?, ?, ?)",
                              [("acme", "Acme Corp", "enterprise"), ("beta", "Beta Ltd", "smb"),
                               ("gamma", "Gamma Inc", "smb")])
    return ws


def health(ws: Workspace, rows: list[tuple]) -> None:
    """rows of (account_id, score, band, trend); replaces account_health like the pack does."""
    ws.store.conn.execute("DELETE FROM account_health")
    ws.store.conn.executemany(
        "INSERT INTO account_health (account_id, as_of, score, band, trend, components, drivers) "
        "VALUES (?, ?, ?, ?, ?, '{}', ?)",
        [(a, f"{AS_OF}T23:59:59Z", s, b, t, json.dumps(["seat utilisation 22%: 9 of 40 seats active"]))
         for a, s, b, t in rows])


def history(ws: Workspace, rows: list[tuple]) -> None:
    ws.store.conn.executemany("INSERT OR REPLACE INTO account_health_history VALUES (?, ?, ?, ?)", rows)


def metric(ws: Workspace, rows: list[tuple]) -> None:
    """rows of (account_id, metric, grain, period_start, value)."""
    ws.store.conn.executemany("INSERT OR REPLACE INTO account_metrics VALUES (?, ?, ?, ?, ?)", rows)


def run(ws: Workspace, as_of: str = AS_OF, **kw):
    return update_alerts(ws.store, ws.config, ws.registry, as_of, sleep=lambda s: None, **kw)


def fired(ws: Workspace, open_only: bool = True) -> list[dict]:
    return list_alerts(ws.store, include_resolved=not open_only)


def accounts_of(ws: Workspace) -> list[str]:
    return sorted(r["account_id"] for r in fired(ws))


# -- rule kinds at their boundaries ----------------------------------------------------------------

def test_score_below_fires_strictly_below_the_threshold(tmp_path):
    ws = workspace(tmp_path, rules({"name": "health_red", "kind": "score_below", "threshold": 50,
                                    "severity": "critical"}))
    health(ws, [("acme", 42.0, "red", -18.0), ("beta", 50.0, "yellow", None), ("gamma", 49.99, "red", 2.0)])
    report = run(ws)
    assert (report.new, report.still_open, report.resolved) == (2, 0, 0)
    rows = {r["account_id"]: r for r in fired(ws)}
    assert sorted(rows) == ["acme", "gamma"]
    assert rows["acme"]["message"] == ("Acme Corp: health 42 (red), below 50, down 18 points in 30 days; "
                                       "seat utilisation 22%: 9 of 40 seats active")
    assert rows["acme"]["severity"] == "critical" and rows["acme"]["values"]["score"] == 42.0


def test_score_drop_uses_the_trend_for_30_days_and_history_otherwise(tmp_path):
    ws = workspace(tmp_path, rules({"name": "drop", "kind": "score_drop", "points": 15},
                                   {"name": "drop14", "kind": "score_drop", "points": 10, "days": 14}))
    health(ws, [("acme", 60.0, "yellow", -15.0), ("beta", 60.0, "yellow", -14.9), ("gamma", 80.0, "green", None)])
    history(ws, [("acme", "2026-06-15", 69.0, "yellow"), ("beta", "2026-06-15", 71.0, "yellow"),
                 ("gamma", "2026-06-17", 95.0, "green")])   # gamma: no row on or before June 16 (14 days back)
    run(ws)
    got = sorted((r["rule"], r["account_id"]) for r in fired(ws))
    assert got == [("drop", "acme"), ("drop14", "beta")]
    beta = next(r for r in fired(ws) if r["rule"] == "drop14")
    assert beta["message"].startswith("Beta Ltd: health 60 (yellow), down 11 points in 14 days (was 71)")


def test_band_change_fires_on_a_worse_band_and_stays_open_until_it_improves(tmp_path):
    ws = workspace(tmp_path, rules({"name": "to_red", "kind": "band_change", "to": "red", "severity": "critical"}))
    history(ws, [("acme", "2026-05-29", 61.0, "yellow"), ("beta", "2026-05-29", 90.0, "green"),
                 ("gamma", "2026-05-29", 40.0, "red")])
    health(ws, [("acme", 45.0, "red", None), ("beta", 70.0, "yellow", None), ("gamma", 41.0, "red", None)])
    run(ws)
    rows = fired(ws)
    assert [r["account_id"] for r in rows] == ["acme"]       # beta: yellow is not `to`; gamma: was red already
    assert rows[0]["message"].startswith("Acme Corp: health band yellow → red (score 45; 61 about 30 days ago)")
    # 40 days on, red 30 days ago too: the episode stays open while the band stays red ...
    history(ws, [("acme", "2026-07-06", 44.0, "red")])
    assert run(ws, "2026-08-10").still_open == 1 and len(fired(ws, open_only=False)) == 1
    # ... and resolves when it improves
    health(ws, [("acme", 55.0, "yellow", None)])
    assert run(ws, "2026-08-17").resolved == 1 and fired(ws) == []


def test_nps_detractor_fires_once_per_answer_in_the_window(tmp_path):
    ws = workspace(tmp_path, rules({"name": "detractor", "kind": "nps_detractor"}))
    answers = [("r1", 6, 0, 10, "2026-06-20T10:00:00Z", "Too slow"),   # detractor: fires
               ("r2", 7, 0, 10, "2026-06-21T10:00:00Z", None),         # passive
               ("r3", 2, 0, 10, "2026-05-31T23:59:58Z", None),         # older than 30 days
               ("r4", 2, 1, 5, "2026-06-21T10:00:00Z", None),          # not a 0-10 scale
               ("r5", 0, 0, 10, "2026-07-02T10:00:00Z", None)]         # after as-of
    ids = ws.add_rows("survey_responses", [
        {"source_id": i, "source_account_id": "acme", "kind": "nps", "score": s, "scale_min": lo, "scale_max": hi,
         "responded_at": at, "comment": c} for i, s, lo, hi, at, c in answers])
    ws.store.conn.execute("UPDATE survey_responses SET account_id = 'acme'")
    run(ws)
    rows = fired(ws)
    assert [r["values"]["response_id"] for r in rows] == [ids[0]]
    assert rows[0]["message"] == 'Acme Corp: NPS 6 (detractor) on 2026-06-20: "Too slow"'
    assert run(ws, "2026-07-10").new == 1                    # r5 now; r1 stays the same row
    assert len(fired(ws, open_only=False)) == 2
    assert run(ws, "2026-08-20").resolved == 2               # out of the window: resolved ...
    assert run(ws, "2026-08-21").new == 0                    # ... and never fires again
    ws.store.conn.execute("UPDATE survey_responses SET responded_at = '2026-08-20T00:00:00Z' WHERE id = ?", [ids[0]])
    assert run(ws, "2026-08-22").new == 0 and len(fired(ws, open_only=False)) == 2


def test_mrr_contraction_at_the_boundary_and_churn(tmp_path):
    ws = workspace(tmp_path, rules({"name": "mrr_down", "kind": "mrr_contraction", "percent": 20},
                                   {"name": "mrr_down_kept", "kind": "mrr_contraction", "percent": 20,
                                    "include_churn": False}))
    metric(ws, [("acme", "mrr", "month", "2026-05-01", 100_000), ("acme", "mrr", "month", "2026-06-01", 80_000),
                ("beta", "mrr", "month", "2026-05-01", 100_000), ("beta", "mrr", "month", "2026-06-01", 80_001),
                ("gamma", "mrr", "month", "2026-05-01", 50_000), ("gamma", "mrr", "month", "2026-06-01", 0)])
    run(ws)
    got = sorted((r["rule"], r["account_id"]) for r in fired(ws))
    assert got == [("mrr_down", "acme"), ("mrr_down", "gamma"), ("mrr_down_kept", "acme")]
    by = {(r["rule"], r["account_id"]): r["message"] for r in fired(ws)}
    assert by[("mrr_down", "acme")] == "Acme Corp: MRR down 20% month over month ($1,000.00 → $800.00)"
    assert by[("mrr_down", "gamma")] == "Gamma Inc: MRR down 100% month over month ($500.00 → $0.00), churned"


def test_usage_drop_at_the_boundary_counts_only_paying_customers(tmp_path):
    ws = workspace(tmp_path, rules({"name": "usage", "kind": "usage_drop", "percent": 50}))
    metric(ws, [("acme", "usage_trend", "day", AS_OF, 0.5), ("beta", "usage_trend", "day", AS_OF, 0.51),
                ("gamma", "usage_trend", "day", AS_OF, 0.1)])
    run(ws)
    assert accounts_of(ws) == ["acme", "gamma"]
    assert fired(ws)[-1]["message"] == "Acme Corp: active users down 50% (last 30 days vs the 30 days before)"
    # once the revenue pack has run, an account that pays nothing this month is left out
    metric(ws, [("acme", "mrr", "month", "2026-06-01", 1000), ("gamma", "mrr", "month", "2026-06-01", 0)])
    report = run(ws)
    assert accounts_of(ws) == ["acme"] and report.resolved == 1


def test_rule_filters_keep_only_matching_accounts(tmp_path):
    ws = workspace(tmp_path, rules({"name": "ent", "kind": "score_below", "threshold": 60, "segment": "Enterprise"}))
    health(ws, [("acme", 42.0, "red", None), ("beta", 30.0, "red", None)])
    run(ws)
    assert accounts_of(ws) == ["acme"]


# -- de-duplication across runs --------------------------------------------------------------------

def test_the_same_condition_on_two_runs_is_one_row_whose_last_seen_moves(tmp_path):
    ws = workspace(tmp_path, rules({"name": "low", "kind": "score_below", "threshold": 50}))
    health(ws, [("acme", 42.0, "red", None)])
    ws.run_metrics(as_of=AS_OF)                      # through the metrics runner, as `csconnect metrics run`
    first = ws.rows("alerts")
    health(ws, [("acme", 40.0, "red", None)])
    ws.run_metrics(as_of="2026-07-07")
    rows = ws.rows("alerts")
    assert len(rows) == 1 and rows[0]["id"] == first[0]["id"]
    assert rows[0]["first_seen"] == "2026-06-30T23:59:59Z" and rows[0]["last_seen"] == "2026-07-07T23:59:59Z"
    assert rows[0]["message"].startswith("Acme Corp: health 40 (red)") and rows[0]["resolved_at"] is None


def test_a_cleared_condition_resolves_and_a_new_firing_is_a_new_row(tmp_path):
    ws = workspace(tmp_path, rules({"name": "low", "kind": "score_below", "threshold": 50}))
    health(ws, [("acme", 42.0, "red", None)])
    run(ws)
    health(ws, [("acme", 70.0, "yellow", None)])
    assert run(ws, "2026-07-07").resolved == 1
    health(ws, [("acme", 45.0, "red", None)])
    assert run(ws, "2026-07-14").new == 1
    rows = ws.rows("alerts")
    assert [(r["first_seen"][:10], (r["resolved_at"] or "")[:10]) for r in rows] == [
        ("2026-06-30", "2026-07-07"), ("2026-07-14", "")]
    assert len({r["key"] for r in rows}) == 2


def test_a_back_dated_run_changes_nothing(tmp_path):
    ws = workspace(tmp_path, rules({"name": "low", "kind": "score_below", "threshold": 50}))
    health(ws, [("acme", 42.0, "red", None)])
    run(ws)
    health(ws, [])
    report = run(ws, "2026-05-31")
    assert report.skipped and "before the last evaluation" in report.line()
    assert ws.rows("alerts")[0]["resolved_at"] is None


def test_a_rule_without_data_leaves_its_alerts_and_a_removed_rule_resolves_them(tmp_path):
    ws = workspace(tmp_path, rules({"name": "low", "kind": "score_below", "threshold": 50}))
    health(ws, [("acme", 42.0, "red", None)])
    run(ws)
    ws.store.conn.execute("DELETE FROM account_health")
    report = run(ws, "2026-07-07")
    assert report.not_evaluated == ["low"] and fired(ws) and "no data yet for low" in report.line()
    health(ws, [("acme", 42.0, "red", None)])
    ws.config.alerts = rules({"name": "other", "kind": "score_below", "threshold": 10})
    assert run(ws, "2026-07-08").resolved == 1 and fired(ws) == []


# -- configuration errors --------------------------------------------------------------------------

@pytest.mark.parametrize("body,expected", [
    ('[[alerts.rules]]\nname = "x"\nkind = "score_under"\nthreshold = 1\n',
     "csconnect.toml: alerts.rules[0].kind: unknown kind 'score_under' (kinds: score_below, score_drop, "),
    ('[[alerts.rules]]\nname = "x"\nkind = "score_below"\n',
     "csconnect.toml: alerts.rules[0].threshold: is required: add threshold = … to this rule"),
    ('[[alerts.rules]]\nname = "x"\nkind = "score_below"\nthreshold = "fifty"\n',
     "csconnect.toml: alerts.rules[0].threshold: must be a number, got 'fifty'"),
    ('[[alerts.rules]]\nname = "x"\nkind = "score_below"\nthreshold = 50\n'
     '[[alerts.rules]]\nname = "x"\nkind = "usage_drop"\npercent = 30\n',
     "csconnect.toml: alerts.rules[1].name: another rule is already named 'x'; rule names must be unique"),
    ('[[alerts.rules]]\nname = "x"\nkind = "mrr_contraction"\npercnt = 30\n',
     "csconnect.toml: alerts.rules[0].percnt: unknown key (mrr_contraction rules take: name, kind, severity, "),
    ('[[alerts.rules]]\nname = "x"\nkind = "band_change"\nto = ["purple"]\n',
     "csconnect.toml: alerts.rules[0].to: 'purple' is not one of green, yellow, red"),
    ('[[alerts.rules]]\nname = "x"\nkind = "usage_drop"\npercent = 30\nseverity = "urgent"\n',
     "csconnect.toml: alerts.rules[0].severity: must be one of info, warning, critical, got 'urgent'"),
    ('[alerts.sinks.slack]\ntype = "webhook"\nmin_severity = "loud"\n',
     "csconnect.toml: alerts.sinks.slack.min_severity: must be one of info, warning, critical, got 'loud'"),
])
def test_a_bad_rule_is_a_one_line_error_naming_the_key(tmp_path, body, expected):
    (tmp_path / "csconnect.toml").write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "csconnect.toml")
    text = str(info.value)
    assert text.startswith(expected) and "\n" not in text, text


def test_the_cli_prints_a_bad_rule_as_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("CSCONNECT_LOAD_PLUGINS", "")
    (tmp_path / "csconnect.toml").write_text('[[alerts.rules]]\nname = "x"\nkind = "nope"\n', encoding="utf-8")
    result = CliRunner().invoke(build_cli(), ["--config", str(tmp_path / "csconnect.toml"), "alerts"])
    assert result.exit_code == 1 and "alerts.rules[0].kind: unknown kind 'nope'" in str(result.exception)


# -- the webhook sink against a real local HTTP server -----------------------------------------------

class Hook:
    """A local HTTP server answering POSTs with the statuses in `script` (then 200)."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = hook.script.pop(0) if hook.script else 200
                hook.statuses.append(status)
                if status == 200:
                    hook.bodies.append(body)
                text = b"ok" if status == 200 else b"no_service" if status == 404 else b"rollup_error"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args) -> None:
                pass

        self.server = LocalServer(Handler, name="webhook-receiver").start()
        self.url = f"{self.server.base_url}{SECRET_PATH}"

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def with_sink(hook_url: str, **options) -> dict:
    return rules({"name": "low", "kind": "score_below", "threshold": 50, "severity": "critical"},
                 sinks={"slack": {"type": "webhook", "url": "${SLACK_WEBHOOK_URL}", "min_severity": "warning",
                                  **options}})


def sink_workspace(tmp_path: Path, hook: Hook, monkeypatch, **options) -> Workspace:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
    monkeypatch.setenv("CSCONNECT_LOAD_PLUGINS", "")      # the CLI then sees only the built-in sink
    ws = workspace(tmp_path, with_sink(hook.url, **options))
    health(ws, [("acme", 42.0, "red", -18.0)])
    return ws


def test_webhook_retries_a_failing_first_post_and_sends_once(tmp_path, hook, monkeypatch):
    ws = sink_workspace(tmp_path, hook, monkeypatch)
    hook.script = [500]
    report = run(ws)
    assert hook.statuses == [500, 200] and len(hook.bodies) == 1
    body = hook.bodies[0]
    assert body["text"].startswith("csconnect: 1 new alert\n• [critical] Acme Corp: health 42 (red), below 50")
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "csconnect: 1 new alert"}}
    assert body["blocks"][1]["type"] == "section" and body["blocks"][1]["text"]["type"] == "mrkdwn"
    [delivery] = ws.rows("_csconnect_alert_deliveries")
    assert delivery["status"] == "sent" and delivery["sink"] == "slack" and delivery["sent_at"]
    assert "sent 1 to slack" in report.line()
    run(ws, "2026-07-01")                              # still open: not sent again
    assert len(hook.bodies) == 1


def test_a_sink_down_for_the_whole_run_keeps_the_alert_pending_until_it_is_delivered_once(tmp_path, hook,
                                                                                          monkeypatch, caplog):
    ws = sink_workspace(tmp_path, hook, monkeypatch, max_attempts=3)
    hook.script = [503, 503, 503]
    with caplog.at_level(logging.WARNING, logger="csconnect"):
        report = run(ws)
    assert hook.statuses == [503, 503, 503] and hook.bodies == []
    [delivery] = ws.rows("_csconnect_alert_deliveries")
    assert delivery["status"] == "pending" and delivery["attempts"] == 1 and "503" in delivery["last_error"]
    assert "1 pending for slack" in report.line() and len(ws.rows("alerts")) == 1
    # the next run sends it, exactly once
    assert run(ws, "2026-07-01").deliveries[0].sent == 1
    assert len(hook.bodies) == 1
    assert run(ws, "2026-07-02").deliveries[0].sent == 0 and len(hook.bodies) == 1
    delivery = ws.rows("_csconnect_alert_deliveries")[0]
    assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("sent", 2, None)
    # the webhook URL is a secret: never in a log line, an error or the database
    secret = SECRET_PATH.rsplit("/", 1)[1]
    assert secret not in caplog.text and "***" in caplog.text
    dump = "\n".join(ws.store.conn.iterdump())
    assert secret not in dump


def test_a_refused_webhook_is_failed_and_alerts_send_retries_it(tmp_path, hook, monkeypatch):
    ws = sink_workspace(tmp_path, hook, monkeypatch)
    hook.script = [404]
    report = run(ws)
    assert hook.statuses == [404]                      # a 4xx is not retried in the run ...
    assert ws.rows("_csconnect_alert_deliveries")[0]["status"] == "failed" and report.deliveries[0].failed == 1
    assert run(ws, "2026-07-01").deliveries[0].sent == 0   # ... nor by later runs
    (tmp_path / "csconnect.toml").write_text(
        '[[alerts.rules]]\nname = "low"\nkind = "score_below"\nthreshold = 50\nseverity = "critical"\n'
        '[alerts.sinks.slack]\ntype = "webhook"\nurl = "${SLACK_WEBHOOK_URL}"\n', encoding="utf-8")
    ws.close()
    result = CliRunner().invoke(build_cli(), ["--config", str(tmp_path / "csconnect.toml"), "alerts", "send",
                                              "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"sink": "slack", "sent": 1, "pending": 0, "failed": 0, "error": None}]
    assert len(hook.bodies) == 1 and SECRET_PATH not in result.output


def test_alerts_send_reports_a_sink_that_is_down_without_the_url(tmp_path, hook, monkeypatch):
    ws = sink_workspace(tmp_path, hook, monkeypatch, max_attempts=1)
    hook.script = [500, 500]
    run(ws)
    ws.close()
    (tmp_path / "csconnect.toml").write_text(
        '[[alerts.rules]]\nname = "low"\nkind = "score_below"\nthreshold = 50\n'
        '[alerts.sinks.slack]\ntype = "webhook"\nurl = "${SLACK_WEBHOOK_URL}"\nmax_attempts = 1\n', encoding="utf-8")
    result = CliRunner().invoke(build_cli(), ["--config", str(tmp_path / "csconnect.toml"), "alerts", "send"])
    assert result.exit_code == 1
    assert "HTTP 500" in result.output and SECRET_PATH.rsplit("/", 1)[1] not in result.output
    assert hook.bodies == []


def test_alerts_test_posts_a_test_message(tmp_path, hook, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
    monkeypatch.setenv("CSCONNECT_LOAD_PLUGINS", "")
    (tmp_path / "csconnect.toml").write_text(
        '[alerts.sinks.slack]\ntype = "webhook"\nurl = "${SLACK_WEBHOOK_URL}"\nformat = "json"\n', encoding="utf-8")
    result = CliRunner().invoke(build_cli(), ["--config", str(tmp_path / "csconnect.toml"), "alerts", "test", "slack"])
    assert result.exit_code == 0 and result.output == "sent a test alert to slack\n"
    assert hook.bodies[0]["text"].startswith("[info] csconnect test alert for sink slack")
    assert hook.bodies[0]["alerts"][0]["rule"] == "test"


def test_min_severity_and_rules_choose_what_a_sink_gets(tmp_path):
    ws = workspace(tmp_path, rules(
        {"name": "low", "kind": "score_below", "threshold": 50, "severity": "info"},
        {"name": "very_low", "kind": "score_below", "threshold": 30, "severity": "critical"},
        sinks={"pager": {"type": "webhook", "url": "https://hooks.example.com/x", "min_severity": "warning"},
               "digest": {"type": "webhook", "url": "https://hooks.example.com/y", "rules": ["low"]}}))
    health(ws, [("acme", 20.0, "red", None)])
    from csconnect.alerts import evaluate, parse_alerts
    evaluate(ws.store, ws.config, parse_alerts(ws.config), AS_OF)
    got = sorted((r["rule"], d["sink"]) for d in ws.rows("_csconnect_alert_deliveries")
                 for r in ws.rows("alerts", "id = ?", [d["alert_id"]]))
    assert got == [("low", "digest"), ("very_low", "pager")]


# -- a third-party sink through the hook -------------------------------------------------------------

class Collector(AlertSink):
    name = "collector"
    options = (Option("channel", str, "#cs"),)
    batch_size = 2
    received: list[list] = []

    def send(self, alerts):
        Collector.received.append([(a.rule, a.account_id, a.account_name, self.settings["channel"]) for a in alerts])


class SinkPlugin:
    @staticmethod
    @hookimpl
    def register_alert_sinks(register):
        register(Collector)


def test_a_sink_registered_through_the_hook_receives_new_alerts(tmp_path, plugin_registry):
    registry = plugin_registry(SinkPlugin)
    assert registry.sink("collector") is Collector and "webhook" in registry.sinks
    assert build_registry([plugin_for(Collector)], entry_points=False).sink("collector") is Collector
    assert registry.plugins["SinkPlugin"].sinks == ["collector"]
    Collector.received = []
    ws = workspace(tmp_path, rules({"name": "low", "kind": "score_below", "threshold": 50},
                                   sinks={"team": {"type": "collector", "channel": "#alerts"}}), registry=registry)
    health(ws, [("acme", 42.0, "red", None), ("beta", 10.0, "red", None), ("gamma", 5.0, "red", None)])
    report = run(ws)
    assert Collector.received == [[("low", "acme", "Acme Corp", "#alerts"), ("low", "beta", "Beta Ltd", "#alerts")],
                                  [("low", "gamma", "Gamma Inc", "#alerts")]]
    assert report.deliveries[0].sent == 3
    run(ws, "2026-07-01")
    assert len(Collector.received) == 2


def test_a_plugin_sink_named_like_a_built_in_replaces_it():
    class MyWebhook(Collector):
        name = "webhook"

    class Mine:
        @staticmethod
        @hookimpl
        def register_alert_sinks(register):
            register(MyWebhook)

    registry = build_registry([Mine], entry_points=False)
    assert registry.sink("webhook") is MyWebhook and not registry.conflicts
    assert build_registry([], entry_points=False).sink("webhook") is WebhookSink


# -- the command line ----------------------------------------------------------------------------------

def test_alerts_command_lists_open_alerts_and_metrics_run_prints_the_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("CSCONNECT_LOAD_PLUGINS", "")      # no packs: only the rows written below
    (tmp_path / "csconnect.toml").write_text(
        '[[alerts.rules]]\nname = "low"\nkind = "score_below"\nthreshold = 50\n', encoding="utf-8")
    ws = workspace(tmp_path, {})
    health(ws, [("acme", 42.0, "red", None), ("beta", 45.0, "red", None)])
    ws.close()
    cli = ["--config", str(tmp_path / "csconnect.toml")]
    result = CliRunner().invoke(build_cli(), [*cli, "metrics", "run", "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    assert "alerts: 2 new, 0 still open, 0 resolved" in result.stderr
    result = CliRunner().invoke(build_cli(), [*cli, "alerts", "--format", "json"])
    rows = json.loads(result.stdout)
    assert [r["account"] for r in rows] == ["Beta Ltd", "Acme Corp"] and rows[0]["values"]["score"] == 45.0
    result = CliRunner().invoke(build_cli(), [*cli, "alerts", "--account", "acme", "--format", "csv"])
    assert result.stdout.count("\n") == 2 and "Acme Corp: health 42 (red)" in result.stdout
    result = CliRunner().invoke(build_cli(), [*cli, "alerts", "--since", "July"])
    assert isinstance(result.exception, UsageError) and "--since 'July' is not a date" in str(result.exception)
    result = CliRunner().invoke(build_cli(), [*cli, "alerts", "send"])
    assert isinstance(result.exception, UsageError) and "no alert sinks configured" in str(result.exception)
