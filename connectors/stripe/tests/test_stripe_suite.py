"""csconnect's standard connector suite, run against an in-memory Stripe."""
from __future__ import annotations

from typing import Any

from csconnect.testing import ConnectorSuite
from csconnect_stripe import StripeConnector

import stripe_payloads as sp
import stripe_scenario
from stripe_fake import FakeStripe

API_KEY = "sk_test_csconnect_fake_key"
SETTINGS = {"api_key": API_KEY}


class TestStripeConnector(ConnectorSuite):
    connector = StripeConnector
    settings = SETTINGS

    def mock_api(self, respx_mock: Any) -> FakeStripe:
        return stripe_scenario.populate(FakeStripe(respx_mock, API_KEY))

    def add_new_data(self, api: FakeStripe) -> dict[str, int]:
        return stripe_scenario.add_changes(api)

    def mock_unauthorized(self, respx_mock: Any) -> None:
        FakeStripe(respx_mock, api_key="sk_test_some_other_key")

    def mock_malformed(self, respx_mock: Any) -> None:
        fake = stripe_scenario.populate(FakeStripe(respx_mock, API_KEY))
        broken = sp.invoice("in_broken", "cus_acme", [
            sp.line("il_broken", "in_broken", stripe_scenario.P["price_pro"], 3_000, subscription="sub_acme",
                    subscription_item="si_acme")], subscription="sub_acme", created=sp.T0 + 5)
        broken["currency"] = None
        fake.add_invoice(broken)
