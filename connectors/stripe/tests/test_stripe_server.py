"""The fake Stripe over real HTTP: the same FakeStripe as the respx tests, on a local port."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from csconnect import AuthError
from csconnect.testing import Workspace
from csconnect_stripe import STRIPE_VERSION, StripeConnector

import stripe_scenario
from stripe_fake import API_KEY, VERSION, FakeStripe
from stripe_server import StripeServer, stripe_server  # noqa: F401  (fixture)

AUTH = {"Authorization": f"Bearer {API_KEY}", "Stripe-Version": VERSION}


def over_http(path: Path, server: StripeServer, **settings: Any) -> Workspace:
    return Workspace(path, StripeConnector, connections={"stripe": {
        "api_key": API_KEY, "base_url": server.base_url, **settings}})


def test_the_fake_renders_the_version_the_connector_pins() -> None:
    assert VERSION == STRIPE_VERSION


def test_a_sync_over_http_writes_what_the_respx_sync_writes(tmp_path: Path, stripe_server: StripeServer) -> None:
    stripe_scenario.populate(stripe_server.fake)
    ws = over_http(tmp_path / "http", stripe_server, page_size=2)
    assert ws.sync().ok
    with respx.mock(assert_all_called=False) as mock:
        stripe_scenario.populate(FakeStripe(mock, API_KEY))
        in_process = Workspace(tmp_path / "respx", StripeConnector, connections={"stripe": {"api_key": API_KEY}})
        assert in_process.sync().ok
    assert ws.snapshot() == in_process.snapshot()
    assert ws.rows("invoice_lines") and not ws.rejects()
    customers = stripe_server.targets("/v1/customers")
    assert customers == ["/v1/customers?limit=2", "/v1/customers?limit=2&starting_after=cus_solo"]
    assert all(s.headers["Authorization"] == f"Bearer {API_KEY}" and s.headers["Stripe-Version"] == VERSION
               and s.status == 200 for s in stripe_server.served)


def test_lists_page_with_limit_and_starting_after(stripe_server: StripeServer) -> None:
    stripe_scenario.populate(stripe_server.fake)
    with httpx.Client(base_url=stripe_server.base_url, headers=AUTH) as client:
        first = client.get("/v1/customers", params={"limit": 2})
        assert first.status_code == 200 and first.headers["Request-Id"].startswith("req_")
        body = first.json()
        assert (body["object"], body["url"], body["has_more"]) == ("list", "/v1/customers", True)
        assert [c["id"] for c in body["data"]] == ["cus_tokyo", "cus_solo"]          # newest first
        rest = client.get("/v1/customers", params={"limit": 2, "starting_after": "cus_solo"}).json()
        assert ([c["id"] for c in rest["data"]], rest["has_more"]) == (["cus_acme"], False)
        gone = client.get("/v1/customers", params={"starting_after": "cus_gone"})
        assert gone.status_code == 400 and gone.json()["error"]["code"] == "resource_missing"
        too_many = client.get("/v1/customers", params={"limit": 101})
        assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "limit"
        one = client.get("/v1/customers/cus_acme").json()
        assert (one["object"], one["name"]) == ("customer", "Acme Corp")
        missing = client.get("/v1/invoices/in_nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"


def test_a_wrong_key_or_a_missing_version_is_refused_with_stripes_envelope(stripe_server: StripeServer) -> None:
    with httpx.Client(base_url=stripe_server.base_url) as client:
        wrong = client.get("/v1/customers", headers={**AUTH, "Authorization": "Bearer sk_test_other"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == {"message": "Invalid API Key provided: sk_test_********************_key",
                                         "type": "invalid_request_error"}
        unpinned = client.get("/v1/customers", headers={"Authorization": AUTH["Authorization"]})
        assert unpinned.status_code == 400 and "Stripe-Version" in unpinned.json()["error"]["message"]
        other = client.get("/v1/customers", headers={**AUTH, "Stripe-Version": "2024-06-20"})
        assert other.status_code == 400
        assert other.json()["error"]["message"] == "Invalid Stripe API version: 2024-06-20"


def test_check_over_http_turns_401_into_one_line(tmp_path: Path, stripe_server: StripeServer) -> None:
    stripe_server.fake.api_key = "sk_test_someone_else"
    ws = over_http(tmp_path, stripe_server)
    connector = StripeConnector("stripe", ws.config.connections["stripe"].settings)
    with pytest.raises(AuthError) as info:
        connector.check()
    connector.close()
    assert str(info.value).startswith("stripe: the API key was rejected (401): Invalid API Key provided")
    assert API_KEY not in str(info.value)
