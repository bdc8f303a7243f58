"""Syncing the in-memory export end to end: days, late events, resume, gzip, errors, pacing, config."""
from __future__ import annotations

import base64
import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest

from csconnect import AuthError, ConfigError, HttpError
from csconnect.testing import Workspace
from csconnect_mixpanel import MixpanelConnector
from csconnect_mixpanel.connector import _Paced

import mixpanel_payloads as mp
from mixpanel_fake import FakeMixpanel, broken_body
from test_mixpanel_suite import SETTINGS, late_event


@pytest.fixture
def fake(respx_mock: Any) -> FakeMixpanel:
    f = FakeMixpanel(respx_mock)
    f.add(*mp.scenario())
    return f


def workspace(tmp_path, **settings: Any) -> Workspace:
    return Workspace(tmp_path, MixpanelConnector,
                     connections={"mp": dict(SETTINGS, connector="mixpanel", **settings)})


def usage(ws: Workspace) -> dict[str, dict]:
    return {r["source_id"]: r for r in ws.rows("usage_daily")}


def defaults() -> dict[str, Any]:
    """What csconnect's configuration would fill in for the options not given."""
    return {o.name: o.default for o in MixpanelConnector.all_options() if not o.required}


def connector(**settings: Any) -> MixpanelConnector:
    return MixpanelConnector("mp", {**defaults(), **SETTINGS, **settings}, sleep=lambda s: None)


def test_one_request_per_day_with_the_export_parameters(tmp_path, fake):
    ws = workspace(tmp_path)
    assert ws.sync().ok
    assert fake.days_requested() == [f"2026-03-0{d}" for d in range(1, 8)]
    first = fake.requests[0]
    assert first.url.path == "/api/2.0/export" and first.url.host == "data.mixpanel.com"
    assert dict(first.url.params) == {"project_id": str(mp.PROJECT_ID), "from_date": "2026-03-01",
                                      "to_date": "2026-03-01"}
    assert first.headers["Accept-Encoding"] == "gzip"
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(
        f"{mp.USERNAME}:{mp.SECRET}".encode()).decode()
    assert ws.store.get_state("mp", "usage") == {"next_day": "2026-03-08", "through": "2026-03-07"}
    assert not ws.store.db["raw_mp__usage"].exists()      # raw events are not kept by default


def test_rows_follow_the_aggregation_rules(tmp_path, fake):
    ws = workspace(tmp_path)
    assert ws.sync().ok and not ws.rejects()
    rows = usage(ws)
    ada = rows["ada@acme.example:2026-03-02"]        # a duplicate line dropped, two gap sessions
    assert (ada["events"], ada["sessions"], ada["active_seconds"]) == (4, 2, 1500)
    assert ada["features"] == '["Created Dashboard","Exported CSV","Viewed Report"]'
    assert ada["source_account_id"] == "acme" and ada["user_id"] == "ada@acme.example"
    bo = rows["bo@acme.example:2026-03-03"]          # $ae_session events: 750.4 s + "60.0" s
    assert (bo["events"], bo["sessions"], bo["active_seconds"]) == (4, 2, 810)
    assert rows["dee@freelance.example:2026-03-06"]["source_account_id"] is None
    assert rows["cy@globex.example:2026-03-04"]["source_account_id"] == "42"
    assert len(rows) == 13 and {r["source"] for r in rows.values()} == {"mp"}


def test_the_day_boundary_is_utc_midnight(tmp_path, fake):
    ws = workspace(tmp_path)
    assert ws.sync().ok
    rows = usage(ws)
    assert rows["cy@globex.example:2026-03-04"]["events"] == 1       # 23:59:59
    assert rows["cy@globex.example:2026-03-05"]["events"] == 1       # 00:00:00 the next day


def test_a_late_event_changes_its_day_and_never_doubles_it(tmp_path, fake):
    ws = workspace(tmp_path)
    assert ws.sync().ok
    before = usage(ws)
    fake.add(late_event())                           # 03-05 10:10, reaches the export after the first sync
    fake.reset_calls()
    assert ws.sync().ok
    assert fake.days_requested() == ["2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07"]
    after = usage(ws)
    assert set(after) == set(before)
    ada = after["ada@acme.example:2026-03-05"]
    assert (ada["events"], ada["sessions"], ada["active_seconds"]) == (2, 1, 600)
    assert ada["features"] == '["Exported CSV","Viewed Report"]'
    assert {k: v for k, v in after.items() if k != "ada@acme.example:2026-03-05"} == \
        {k: {**v, "synced_at": after[k]["synced_at"]} for k, v in before.items() if k != "ada@acme.example:2026-03-05"}
    assert ws.store.count("usage_daily") == 13


def test_a_re_read_day_drops_users_no_longer_in_the_export(tmp_path, fake):
    ws = workspace(tmp_path)
    assert ws.sync().ok
    fake.events = [e for e in fake.events if e["properties"].get("distinct_id") != "dee@freelance.example"]
    assert ws.sync().ok                              # 03-06 is in the look-back: its rows are replaced
    assert "dee@freelance.example:2026-03-06" not in usage(ws)


def test_a_crash_resumes_at_the_next_day_without_the_look_back(tmp_path, fake):
    ws = workspace(tmp_path)
    fake.fail = lambda r: (httpx.Response(400, json=mp.error("invalid where expression"))
                           if r.url.params["from_date"] == "2026-03-05" else None)
    report = ws.sync()
    assert not report.ok and "HTTP 400: invalid where expression" in report.results[0].error
    assert ws.store.get_state("mp", "usage") == {"next_day": "2026-03-05", "through": "2026-03-07"}
    assert {r["day"] for r in ws.rows("usage_daily")} == {"2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"}
    fake.fail = None
    fake.reset_calls()
    assert ws.sync().ok
    assert fake.days_requested() == ["2026-03-05", "2026-03-06", "2026-03-07"]
    assert ws.store.count("usage_daily") == 13
    fake.reset_calls()
    assert ws.sync().ok                              # finished: the next sync has its look-back again
    assert fake.days_requested()[0] == "2026-03-03"


def test_a_day_whose_body_breaks_off_is_read_again(tmp_path, fake, caplog):
    ws = workspace(tmp_path)
    broke = []

    def once(request):
        if request.url.params["from_date"] == "2026-03-02" and not broke:
            broke.append(1)
            return broken_body(mp.line(mp.scenario()[0]) + b"\n" + b'{"event":"Viewed Rep')
        return None

    fake.fail = once
    with caplog.at_level(logging.WARNING, "csconnect.mixpanel"):
        assert ws.sync().ok
    assert "the export of 2026-03-02 broke off (connection closed by the server)" in caplog.text
    assert usage(ws)["ada@acme.example:2026-03-02"]["events"] == 4 and not ws.rejects()
    fake.fail = lambda r: broken_body(b"")
    report = workspace(tmp_path / "again").sync()
    assert "mp: the export of 2026-03-01 broke off 2 times" in report.results[0].error


def test_gzip_and_plain_bodies_give_the_same_rows(tmp_path, respx_mock):
    gz = FakeMixpanel(respx_mock)
    gz.add(*mp.scenario())
    ws = workspace(tmp_path / "gz")
    assert ws.sync().ok and gz.served_gzip >= 5
    zipped = usage(ws)
    respx_mock.reset()
    respx_mock.routes.clear()
    plain = FakeMixpanel(respx_mock, gzip_body=False)
    plain.add(*mp.scenario())
    ws2 = workspace(tmp_path / "plain")
    assert ws2.sync().ok and plain.served_gzip == 0
    strip = lambda rows: {k: {c: v for c, v in r.items() if c != "synced_at"} for k, r in rows.items()}  # noqa: E731
    assert strip(usage(ws2)) == strip(zipped)


def test_a_malformed_line_is_a_reject_and_the_day_still_lands(tmp_path, fake):
    fake.add_line("2026-03-04", b'{"event":"Viewed Report","properties":{"time":17726')
    ws = workspace(tmp_path)
    assert ws.sync().ok
    (reject,) = ws.rejects()
    assert reject["stream"] == "usage" and reject["reason"].startswith("2026-03-04 line 5: not JSON")
    assert "Viewed Report" in reject["payload"]
    assert usage(ws)["cy@globex.example:2026-03-04"]["events"] == 1
    fake.add(mp.event("Viewed Report", "eve@initech.example", "2026-03-04 15:00:00", company="initech"))
    assert ws.sync().ok                                # read again, the bad line one further down
    (reject,) = ws.rejects()                           # the same reject, updated, not a second one
    assert reject["reason"].startswith("2026-03-04 line 6: not JSON")
    assert usage(ws)["eve@initech.example:2026-03-04"]["events"] == 4


def test_a_day_with_many_bad_lines_keeps_the_first_hundred_and_counts_the_rest(tmp_path, fake):
    for i in range(130):
        fake.add_line("2026-03-02", b"<html>gateway hiccup %d</html>" % i)
    ws = workspace(tmp_path)
    assert ws.sync().ok
    rejects = ws.rejects()
    assert len(rejects) == 101
    assert any(r["reason"] == "2026-03-02 export: 30 more lines were not events (only the first 100 are kept)"
               for r in rejects)
    assert usage(ws)["ada@acme.example:2026-03-02"]["events"] == 4


def test_keep_events_stores_each_raw_event_once(tmp_path, fake):
    fake.add_line("2026-03-04", b"not an event")
    ws = workspace(tmp_path, keep_events=True)
    report = ws.sync()
    assert report.ok and {r.stream for r in report.results} == {"usage", "events"}
    assert [r["stream"] for r in ws.rejects()] == ["usage"]     # a bad line is rejected once, by usage
    raw = ws.rows("raw_mp__events")
    assert len(raw) == len(mp.scenario()) - 1          # the duplicate line is one event
    first = mp.scenario()[0]["properties"]
    assert any(r["id"].startswith(first["$insert_id"] + ":ada@acme.example:") for r in raw)
    assert ws.sync().ok and len(ws.rows("raw_mp__events")) == len(raw)
    assert ws.store.get_state("mp", "events") == {"next_day": "2026-03-08", "through": "2026-03-07"}


def test_check_reads_one_event_of_yesterday(respx_mock):
    fake = FakeMixpanel(respx_mock)
    c = connector()
    yesterday = c.today() - timedelta(days=1)
    fake.add(mp.event("A", "ada", f"{yesterday} 23:00:00"), mp.event("B", "bo", f"{yesterday} 23:30:00"))
    assert c.check() == f"project {mp.PROJECT_ID} on data.mixpanel.com, service account"
    (request,) = fake.requests
    assert request.url.params["limit"] == "1"
    assert request.url.params["from_date"] == request.url.params["to_date"] == yesterday.isoformat()


def test_errors_are_one_line(respx_mock):
    FakeMixpanel(respx_mock, secret="another-secret")
    with pytest.raises(AuthError) as info:
        connector().check()
    text = str(info.value)
    assert text.startswith("mp: the credentials were rejected (401)") and "invalid credentials" in text
    assert mp.SECRET not in text and "\n" not in text
    respx_mock.routes.clear()
    FakeMixpanel(respx_mock, project_id=999)
    with pytest.raises(AuthError, match=r"\(403\).*does not have access to this project"):
        connector().check()


def test_a_missing_project_id_is_one_line(respx_mock, tmp_path):
    settings = {k: v for k, v in SETTINGS.items() if k != "project_id"}
    with pytest.raises(ConfigError, match=r"connections\.mp\.project_id: is required"):
        Workspace(tmp_path, MixpanelConnector, connections={"mp": dict(settings, connector="mixpanel")})
    fake = FakeMixpanel(respx_mock)
    fake.fail = lambda r: httpx.Response(400, json=mp.error("project_id is required when authenticating with a "
                                                            "service account"))
    with pytest.raises(HttpError) as info:
        connector().check()
    assert str(info.value) == ("mp: GET /api/2.0/export failed: HTTP 400: project_id is required when "
                               "authenticating with a service account")


def test_429_honours_retry_after_or_waits_for_the_hourly_quota(tmp_path, fake):
    answers = [httpx.Response(429, json=mp.error("rate limit exceeded"), headers={"Retry-After": "7"}),
               httpx.Response(429, json=mp.error("rate limit exceeded")),
               httpx.Response(429, json=mp.error("rate limit exceeded"))]
    fake.fail = lambda r: answers.pop(0) if answers else None
    ws = workspace(tmp_path)
    assert ws.sync().ok
    assert ws.waits[0] == 7
    assert 30 <= ws.waits[1] <= 60 and 60 <= ws.waits[2] <= 120       # a minute, then doubling
    assert len(ws.waits) == 3


def test_pacing_covers_the_hour_and_the_second(tmp_path):
    c = connector()
    limiter = c.http.rate_limiter
    assert isinstance(limiter, _Paced)
    per_second, hourly = limiter.limiters
    assert (per_second.rate, hourly.rate * 3600, hourly.burst) == (3.0, 60, 60)
    assert connector(rate_limit=0).http.rate_limiter is None          # no pacing at all (local servers)
    assert connector(queries_per_hour=30).http.rate_limiter.limiters[1].burst == 30


def test_region_and_base_url(tmp_path):
    assert connector(region="eu").http.base_url.startswith("https://data-eu.mixpanel.com")
    assert connector(region="in").http.base_url.startswith("https://data-in.mixpanel.com")
    assert connector(region="eu", base_url="http://127.0.0.1:8765").http.base_url.startswith("http://127.0.0.1")


def test_the_project_secret_still_works_with_a_warning(respx_mock, caplog):
    fake = FakeMixpanel(respx_mock, username="old-project-secret", secret="")
    settings = {k: v for k, v in SETTINGS.items() if not k.startswith("service_account")}
    with caplog.at_level(logging.WARNING, "csconnect.mixpanel"):
        c = MixpanelConnector("mp", {**defaults(), **settings, "api_secret": "old-project-secret"},
                              sleep=lambda s: None)
    assert "deprecated and Mixpanel retires it on 2027-03-03" in caplog.text
    assert c.check().endswith("project secret (deprecated)")
    assert fake.requests[0].headers["Authorization"] == "Basic " + base64.b64encode(b"old-project-secret:").decode()


@pytest.mark.parametrize("settings, message", [
    ({"service_account_secret": None}, "service_account_secret: is required with service_account_username"),
    ({"service_account_username": None}, "service_account_username: is required with service_account_secret"),
    ({"service_account_username": None, "service_account_secret": None}, "set service_account_username and"),
    ({"project_timezone": "Mars/Olympus"}, "project_timezone: unknown timezone"),
    ({"start_date": "03/01/2026"}, "start_date: '03/01/2026' is not a date"),
    ({"feature_events": ["ok", 3]}, "feature_events: must be a list of event names"),
    ({"account_property": " "}, "account_property: must name an event property"),
])
def test_configuration_errors_are_one_line(settings, message):
    with pytest.raises(ConfigError, match=message):
        connector(**settings)


def test_the_secret_comes_from_the_environment(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("MIXPANEL_SERVICE_ACCOUNT_SECRET", mp.SECRET)
    settings = {k: v for k, v in SETTINGS.items() if k != "service_account_secret"}
    ws = Workspace(tmp_path, MixpanelConnector, connections={"mp": dict(settings, connector="mixpanel")})
    assert ws.sync().ok


def test_event_and_where_filters_are_passed_on(tmp_path, fake):
    ws = workspace(tmp_path, events=["Viewed Report", "Ran Query"], where='properties["$os"] == "Android"')
    assert ws.sync().ok
    params = fake.requests[0].url.params
    assert params["event"] == '["Viewed Report","Ran Query"]' and params["where"] == 'properties["$os"] == "Android"'
    assert "bo@acme.example:2026-03-03" not in usage(ws)      # the fake applies `event` (not `where`)


def test_default_days_run_from_90_days_ago_to_today_in_the_project_timezone(monkeypatch):
    c = connector(start_date=None, end_date=None, project_timezone="Pacific/Kiritimati")
    assert (c.last_day() - c.first_day()).days == 90
    assert c.last_day() == c.today()


def test_accounts_seen_in_events_become_source_accounts_that_link(tmp_path, fake):
    ws = workspace(tmp_path, account_id_source="hubspot")
    assert ws.sync().ok
    accounts = {r["source_id"]: r for r in ws.rows("source_accounts")}
    assert set(accounts) == {"acme", "42", "initech"} and accounts["acme"]["external_ids"] == '{"hubspot":"acme"}'
    ws.store.conn.execute(       # the CRM's company with that id, as a HubSpot sync would write it
        "INSERT INTO source_accounts (id, source, source_id, source_account_id, name, synced_at) "
        "VALUES ('hubspot:acme', 'hubspot', 'acme', 'acme', 'Acme Inc', '2026-03-01T00:00:00Z')")
    ws.link()
    ada = usage(ws)["ada@acme.example:2026-03-02"]
    assert ada["account_id"] == ws.rows("account_links", "source = 'hubspot'")[0]["account_id"]
