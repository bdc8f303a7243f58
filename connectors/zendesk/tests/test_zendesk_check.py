"""Options, authentication and `check`: every mistake is one line that says what to fix."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from csconnect import AuthError, ConfigError, HttpError
from csconnect.testing import Workspace
from csconnect_zendesk import ZendeskConnector

import zendesk_payloads as zp
import zendesk_scenario
from test_zendesk_suite import SETTINGS
from zendesk_fake import EMAIL, TOKEN, FakeZendesk


def connector(tmp_path: Path, **settings: Any) -> ZendeskConnector:
    given = {k: v for k, v in dict(SETTINGS, connector="zendesk", **settings).items() if v is not None}
    ws = Workspace(tmp_path, ZendeskConnector, connections={"zendesk": given})
    return ZendeskConnector("zendesk", ws.config.connections["zendesk"].settings, sleep=lambda s: None)


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and text.startswith("zendesk: ") and TOKEN not in text, text
    return text


def test_check_names_the_admin_and_the_account(tmp_path: Path, respx_mock: Any) -> None:
    fake = FakeZendesk(respx_mock)
    assert connector(tmp_path).check() == "Olive Ops (admin) on https://northwind.zendesk.com"
    assert fake.paths() == ["/api/v2/users/me.json"]


def test_a_wrong_token_is_one_line(tmp_path: Path, respx_mock: Any) -> None:
    FakeZendesk(respx_mock, token="the-right-one")
    with pytest.raises(AuthError) as info:
        connector(tmp_path).check()
    text = one_line(info)
    assert "the credentials were rejected (401): check email and api_token" in text
    assert "Couldn't authenticate you" in text


def test_a_wrong_subdomain_is_one_line(tmp_path: Path, respx_mock: Any) -> None:
    respx_mock.get("https://northwnd.zendesk.com/api/v2/users/me.json").respond(
        404, json=zp.no_help_desk("northwnd.zendesk.com"))
    with pytest.raises(HttpError) as info:
        connector(tmp_path, subdomain="northwnd").check()
    text = one_line(info)
    assert text.startswith("zendesk: GET /api/v2/users/me.json failed: HTTP 404: no Zendesk account at "
                           "https://northwnd.zendesk.com: check subdomain ('northwnd')")
    assert "No help desk at northwnd.zendesk.com" in text


def test_a_subdomain_that_does_not_resolve_is_one_line(tmp_path: Path, respx_mock: Any) -> None:
    respx_mock.get("https://no-such-desk.zendesk.com/api/v2/users/me.json").mock(
        side_effect=httpx.ConnectError("[Errno -2] Name or service not known"))
    with pytest.raises(HttpError) as info:
        connector(tmp_path, subdomain="no-such-desk").check()
    assert one_line(info) == ("zendesk: cannot reach https://no-such-desk.zendesk.com (host not found): "
                              "check subdomain ('no-such-desk')")


def test_a_redirect_away_from_the_account_is_one_line(tmp_path: Path, respx_mock: Any) -> None:
    respx_mock.get("https://northwind.zendesk.com/api/v2/users/me.json").respond(
        301, headers={"Location": "https://www.zendesk.com/"})
    with pytest.raises(HttpError) as info:
        connector(tmp_path).check()
    assert "https://northwind.zendesk.com redirects to https://www.zendesk.com/" in one_line(info)


def test_an_agent_is_told_exports_need_an_admin(tmp_path: Path, respx_mock: Any) -> None:
    FakeZendesk(respx_mock, role="agent")
    with pytest.raises(AuthError) as info:
        connector(tmp_path).check()
    assert "is agent, but incremental exports need an admin (403)" in one_line(info)


def test_an_anonymous_answer_is_a_rejected_credential(tmp_path: Path, respx_mock: Any) -> None:
    anonymous = {"user": {"id": None, "name": "Anonymous user", "email": "invalid@example.com", "role": "end-user"}}
    respx_mock.get("https://northwind.zendesk.com/api/v2/users/me.json").respond(200, json=anonymous)
    with pytest.raises(AuthError) as info:
        connector(tmp_path).check()
    assert "anonymous user" in one_line(info) and "(401)" in str(info.value)


def test_oauth_tokens_are_sent_as_bearer(tmp_path: Path, respx_mock: Any) -> None:
    fake = zendesk_scenario.populate(FakeZendesk(respx_mock, oauth="oauth-access-42"))
    ws = Workspace(tmp_path, ZendeskConnector, connections={"zendesk": {
        "subdomain": zp.SUBDOMAIN, "oauth_token": "oauth-access-42", "start_date": "2026-01-01"}})
    assert ws.sync().ok and len(ws.rows("tickets")) == 7
    assert {r.headers["Authorization"] for r in fake.calls} == {"Bearer oauth-access-42"}


def test_a_403_on_an_export_says_an_admin_token_is_needed(tmp_path: Path, respx_mock: Any) -> None:
    respx_mock.get(f"{zp.BASE}/api/v2/incremental/organizations.json").respond(403, json=zp.FORBIDDEN)
    c = connector(tmp_path)
    with pytest.raises(HttpError) as info:
        next(c.get_streams()[0].pages(None))
    text = one_line(info)
    assert text.startswith("zendesk: GET /api/v2/incremental/organizations.json failed: HTTP 403: incremental "
                           "exports need an admin: use an admin's API token or OAuth token (Zendesk said: "
                           "Forbidden: You do not have access to this page.")
    assert len(text) < 300


def test_error_envelopes_become_one_text(tmp_path: Path) -> None:
    c = connector(tmp_path)
    request = httpx.Request("GET", f"{zp.BASE}/api/v2/groups.json")
    assert c.error_message(httpx.Response(422, json=zp.error("InvalidValue", "page[size] is too big"),
                                          request=request)) == "InvalidValue: page[size] is too big"
    assert c.error_message(httpx.Response(404, json=zp.no_help_desk("x.zendesk.com"), request=request)) \
        .startswith("No help desk at x.zendesk.com: There is no help desk configured at this address.")
    assert c.error_message(httpx.Response(502, text="<html>Bad gateway</html>", request=request)) is None


@pytest.mark.parametrize("given, expected", [
    ("northwind", "northwind"), ("Northwind", "northwind"), ("northwind.zendesk.com", "northwind"),
    ("https://northwind.zendesk.com/", "northwind"), ("north-wind2", "north-wind2")])
def test_the_subdomain_gives_the_base_url(tmp_path: Path, given: str, expected: str) -> None:
    c = connector(tmp_path, subdomain=given)
    assert c.settings["base_url"] == f"https://{expected}.zendesk.com" == c.http.base_url


def test_base_url_overrides_the_subdomain(tmp_path: Path) -> None:
    c = connector(tmp_path, base_url="http://127.0.0.1:8089")
    assert c.http.base_url == "http://127.0.0.1:8089"


@pytest.mark.parametrize("settings, message", [
    ({"subdomain": "north wind"}, "subdomain: must be the account's subdomain"),
    ({"oauth_token": "o-1"}, "give either email + api_token or oauth_token, not both"),
    ({"api_token": None}, "api_token: is required (with email), or set oauth_token instead"),
    ({"email": None}, "email: is required with api_token"),
    ({"start_date": "soon"}, "start_date: must be a date (YYYY-MM-DD)"),
    ({"organization_fields": {"segment": 3}}, "organization_fields.segment: must be an organization field key"),
])
def test_setting_mistakes_are_one_line(tmp_path: Path, settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        connector(tmp_path, **settings)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
    ws = Workspace(tmp_path, ZendeskConnector, connections={"zendesk": {"subdomain": "acme", "email": EMAIL}})
    settings = ws.config.connections["zendesk"].settings
    assert settings["api_token"] == TOKEN and settings["rate_limit"] == pytest.approx(1.6)
    assert settings["export_rate_limit"] == 10 and settings["csat_lookback_days"] == 28
    c = ZendeskConnector("zendesk", settings, sleep=lambda s: None)
    assert abs(c.start_time - (time.time() - 730 * 86400)) < 5                # two years back
    assert c.settings["base_url"] == "https://acme.zendesk.com" and "{" not in c.http.base_url
