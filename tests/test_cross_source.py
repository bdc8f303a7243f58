"""Identity across sources: one customer in a CRM, a billing system and a helpdesk becomes one account.

Northwind Traders is HubSpot company 5001 (domain northwind.example, tier "strategic"), Stripe
customer cus_northwind (billing email at northwind.example, metadata `hubspot_company_id = 5001`,
its own spelling of the name and segment) and a helpdesk organization with the domain
northwind.example. The real connectors sync each through respx from the fakes their own tests
use, among those fakes' other customers; `link` must then give one account with HubSpot's name
and segment, three links (Stripe -> HubSpot by external id, the helpdesk by domain) and the
account id on Stripe's invoices and HubSpot's deals.

The helpdesk is, in turn, the Zendesk connector with its fake (when csconnect-zendesk is
installed) and a tiny in-test helpdesk connector that writes one organization as a
`source_accounts` row, as a third-party helpdesk plugin would.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from csconnect import Connector, Page, Project, Stream
from csconnect.plugins import build_registry
from csconnect.testing import plugin_for

ROOT = Path(__file__).resolve().parents[1]
for folder in ("connectors/stripe/tests", "connectors/hubspot/tests", "connectors/zendesk/tests"):
    sys.path.insert(0, str(ROOT / folder))       # the fakes are test helpers, not packages

import hubspot_fake  # noqa: E402
import stripe_payloads as sp  # noqa: E402
import stripe_scenario  # noqa: E402
from csconnect_hubspot import HubSpotConnector  # noqa: E402
from csconnect_stripe import StripeConnector  # noqa: E402
from stripe_fake import FakeStripe  # noqa: E402


def _zendesk() -> Any:
    """(connector class, fake module, scenario module, payloads module) when csconnect-zendesk is installed."""
    try:
        from csconnect_zendesk import ZendeskConnector
        import zendesk_fake
        import zendesk_payloads
        import zendesk_scenario
    except ImportError:
        return None
    return ZendeskConnector, zendesk_fake, zendesk_scenario, zendesk_payloads


ZENDESK = _zendesk()
DOMAIN = "northwind.example"


class _Organizations(Stream):
    name = "organizations"
    tables = ("source_accounts",)

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        yield Page([{"id": "org_77", "name": "Northwind (support)", "domains": ["https://www.Northwind.example/"],
                     "created_at": "2025-06-01T00:00:00Z", "segment": "enterprise"}])

    def normalize(self, record: dict[str, Any]) -> Any:
        yield "source_accounts", {"source_id": record["id"], "source_account_id": record["id"],
                                  "name": record["name"], "domain": record["domains"][0],
                                  "created_at": record["created_at"], "attributes": {"segment": record["segment"]}}


class TinyHelpdesk(Connector):
    """A helpdesk with one organization, standing in for Zendesk."""

    name = "tiny_helpdesk"
    title = "Tiny helpdesk"
    category = "helpdesk"
    streams = (_Organizations,)

    def check(self) -> str:
        return "ok"


def _northwind_in_stripe(fake: FakeStripe) -> None:
    fake.add("customers", sp.customer("cus_northwind", email="AP@Northwind.example", name="NORTHWIND TRADERS GMBH",
                                      created=sp.T0 + 5, country="DE",
                                      metadata={"hubspot_company_id": "5001", "segment": "mid-market"}))
    p = stripe_scenario.P["price_pro"]
    fake.add("subscriptions", sp.subscription("sub_northwind", "cus_northwind", [
        sp.subscription_item("si_northwind", "sub_northwind", p, quantity=10)], created=sp.T0 + 5))
    fake.add_invoice(sp.invoice("in_northwind_1", "cus_northwind", [
        sp.line("il_northwind_1", "in_northwind_1", p, 30_000, quantity=10, subscription="sub_northwind",
                subscription_item="si_northwind")], subscription="sub_northwind", created=sp.T0 + 5,
        paid_at=sp.T0 + 65))


def _helpdesk(kind: str, respx_mock: Any) -> tuple[type[Connector], str, str]:
    """Serve the helpdesk; (connector class, connections.helpdesk TOML lines, its organization id)."""
    if kind == "in-test":
        return TinyHelpdesk, 'connector = "tiny_helpdesk"', "org_77"
    connector, zendesk_fake, zendesk_scenario, zp = ZENDESK
    respx_mock.calls.reset = respx_mock.calls.clear        # as Zendesk's own suite does (see there)
    zendesk_scenario.populate(zendesk_fake.FakeZendesk(respx_mock))
    toml = (f'connector = "zendesk"\nsubdomain = "{zp.SUBDOMAIN}"\nemail = "{zendesk_fake.EMAIL}"\n'
            f'api_token = "${{ZENDESK_API_TOKEN}}"\nstart_date = "{zendesk_scenario.START_DATE}"')
    return connector, toml, str(zendesk_scenario.NORTHWIND)


@pytest.mark.parametrize("helpdesk", [
    pytest.param("zendesk", marks=pytest.mark.skipif(ZENDESK is None, reason="csconnect-zendesk is not installed")),
    "in-test"])
def test_a_crm_company_billing_customer_and_helpdesk_org_become_one_account(
        helpdesk: str, tmp_path: Path, respx_mock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stripe = stripe_scenario.populate(FakeStripe(respx_mock, "sk_test_cross_source"))
    _northwind_in_stripe(stripe)
    hubspot = hubspot_fake.standard(respx_mock)
    hubspot.touch("companies", 5001, hubspot_fake.T0, tier="strategic")
    helpdesk_cls, helpdesk_toml, org_id = _helpdesk(helpdesk, respx_mock)
    zendesk_token = ZENDESK[1].TOKEN if ZENDESK else ""
    for name, value in (("STRIPE_API_KEY", "sk_test_cross_source"), ("HUBSPOT_TOKEN", hubspot_fake.TOKEN),
                        ("ZENDESK_API_TOKEN", zendesk_token)):
        monkeypatch.setenv(name, value)
    (tmp_path / "csconnect.toml").write_text(f"""\
[connections.stripe]
api_key = "${{STRIPE_API_KEY}}"

[connections.hubspot]
token = "${{HUBSPOT_TOKEN}}"
segment_property = "tier"

[connections.helpdesk]
{helpdesk_toml}
""", encoding="utf-8")
    registry = build_registry([plugin_for(StripeConnector, HubSpotConnector, helpdesk_cls)], entry_points=False)
    waits: list[float] = []
    with Project(tmp_path / "csconnect.toml", registry=registry) as project:
        report = project.sync(sleep=waits.append)
        assert report.ok, [r.error for r in report.results if r.error]
        summary = project.link()
        store = project.store

        (account,) = store.query("SELECT * FROM accounts WHERE domain = ?", (DOMAIN,))
        assert account["account_id"] == "hubspot:5001"               # the CRM record names the account
        assert (account["name"], account["segment"]) == ("Northwind Traders", "strategic")
        assert json.loads(account["sources"]) == sorted(["hubspot:5001", "stripe:cus_northwind", f"helpdesk:{org_id}"])
        links = {(r["source"], r["source_account_id"]): r for r in store.query(
            "SELECT * FROM account_links WHERE account_id = 'hubspot:5001'")}
        assert {k: (r["rule"], r["confidence"]) for k, r in links.items()} == {
            ("hubspot", "5001"): ("external_id", 0.95), ("stripe", "cus_northwind"): ("external_id", 0.95),
            ("helpdesk", org_id): ("domain", 0.8)}
        assert links[("helpdesk", org_id)]["detail"] == DOMAIN

        invoices = store.query("SELECT id, account_id FROM invoices WHERE source_account_id = 'cus_northwind'")
        lines = store.query("SELECT account_id FROM invoice_lines WHERE source_account_id = 'cus_northwind'")
        deals = store.query("SELECT id, account_id FROM deals WHERE source = 'hubspot' AND source_account_id = '5001'")
        assert [r["id"] for r in invoices] == ["stripe:in_northwind_1"] and len(deals) == 2
        assert {r["account_id"] for r in invoices + lines + deals} == {"hubspot:5001"}
        # the other customers of the three fakes stay apart, each linked once
        assert summary.source_accounts == store.count("account_links") == store.count("source_accounts")
        assert store.query("SELECT count(*) AS n FROM accounts WHERE account_id <> 'hubspot:5001' AND domain = ?",
                           (DOMAIN,))[0]["n"] == 0
