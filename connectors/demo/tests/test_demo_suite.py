"""The standard connector suite, plus the contract points that are particular to the demo."""
from __future__ import annotations

import pytest

from csconnect import ConfigError
from csconnect.model import CONNECTOR_TABLES
from csconnect.testing import ConnectorSuite, Workspace
from csconnect_demo import DemoConnector
from csconnect_demo.connector import PARTS

TINY = {"accounts": 20, "months": 6, "end_month": "2026-10", "usage_scale": 0.5, "page_size": 50}
PART_TABLES = {
    "billing": {"source_accounts", "subscriptions", "invoices", "invoice_lines", "costs"},
    "crm": {"source_accounts", "contacts", "deals", "activities"},
    "helpdesk": {"source_accounts", "contacts", "tickets", "survey_responses"},
    "product": {"source_accounts", "usage_daily"},
}


class TestDemoConnector(ConnectorSuite):
    connector = DemoConnector
    settings = TINY
    connection = "demo"

    def mock_api(self, respx_mock):
        """No HTTP: the world is simulated in-process (respx fails any request that slips out)."""
        return None


def test_each_part_emits_only_its_own_tables(tmp_path):
    ws = Workspace(tmp_path, DemoConnector,
                   connections={f"demo_{p}": dict(TINY, connector="demo", part=p) for p in PART_TABLES})
    report = ws.sync()
    assert report.ok, [r.error for r in report.results if r.error]
    assert not ws.rejects()
    for part, expected in PART_TABLES.items():
        written = {t for t in CONNECTOR_TABLES if ws.store.count(t, "source=?", (f"demo_{part}",))}
        assert written == expected, part
    ids = {p: {r["source_account_id"] for r in ws.rows("source_accounts", "source=?", (f"demo_{p}",))}
           for p in PART_TABLES}
    assert all(i.startswith("cus_") for i in ids["billing"])
    assert all(i.isdigit() and len(i) == 10 for i in ids["crm"])
    assert all(i.isdigit() and len(i) == 12 for i in ids["helpdesk"])
    assert not any(i.isdigit() or i.startswith("cus_") for i in ids["product"])
    ws.close()


def test_streams_follow_the_part_option():
    names = {p: [s.name for s in DemoConnector("x", {"part": p}).get_streams()] for p in PARTS}
    assert names["billing"] == ["customers", "subscriptions", "invoices", "pending_items", "costs"]
    assert names["crm"] == ["companies", "contacts", "deals", "activities"]
    assert names["helpdesk"] == ["organizations", "users", "tickets", "survey_responses"]
    assert names["product"] == ["groups", "usage"]
    assert len(names["all"]) == sum(len(v) for k, v in names.items() if k != "all")
    declared = {t for s in DemoConnector.streams for t in s.tables}
    assert declared == set().union(*PART_TABLES.values())


def test_check_describes_the_world_without_credentials():
    text = DemoConnector("demo_crm", {"part": "crm", "accounts": 300, "end_month": "2026-10"}).check()
    assert text == "simulated company (crm part), 300 accounts, 2024-11 … 2026-10"
    assert DemoConnector("demo", {"months": 6, "end_month": "2026-01"}).check().endswith("2025-08 … 2026-01")
    assert not any(o.secret for o in DemoConnector.all_options())


@pytest.mark.parametrize("settings, key", [
    ({"end_month": "October"}, "end_month"), ({"end_month": "2026-13"}, "end_month"),
    ({"accounts": 0}, "accounts"), ({"months": 0}, "months"), ({"months": 500}, "months"),
    ({"page_size": 0}, "page_size"), ({"usage_scale": -1.0}, "usage_scale"), ({"part": "erp"}, "part"),
])
def test_bad_options_are_one_line_errors(settings, key):
    with pytest.raises(ConfigError) as info:
        DemoConnector("demo", settings)
    assert str(info.value).startswith(f"connections.demo.{key}") and "\n" not in str(info.value)


def test_wrong_choice_of_part_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="part"):
        Workspace(tmp_path, DemoConnector, connections={"demo": {"part": "erp"}})


def test_billing_carries_the_crm_id_under_the_crm_connection_name():
    assert DemoConnector("demo_billing", {"part": "billing"}).crm_key == "demo_crm"
    assert DemoConnector("acme_billing", {"part": "billing"}).crm_key == "acme_crm"
    assert DemoConnector("demo", {"part": "all"}).crm_key == "demo"
    assert DemoConnector("finance", {"part": "billing"}).crm_key == "demo"   # the connector name matches too


def test_plugin_registers_the_connector_by_entry_point(monkeypatch):
    from csconnect.plugins import build_registry
    monkeypatch.setenv("CSCONNECT_LOAD_PLUGINS", "demo")
    registry = build_registry([], entry_points=True)
    assert registry.connector("demo") is DemoConnector
    info = registry.connectors["demo"].plugin
    assert info.distribution == "csconnect-demo"


def test_a_malformed_record_lands_in_rejects_and_the_rest_syncs(tmp_path, monkeypatch):
    from csconnect_demo.world import World
    original = World.records

    def with_a_broken_invoice(self, stream):
        records = original(self, stream)
        return records[:3] + [{"id": "in_broken", "customer": "cus_x", "status": "paid"}] + records[3:] \
            if stream == "invoices" else records

    monkeypatch.setattr(World, "records", with_a_broken_invoice)
    ws = Workspace(tmp_path, DemoConnector, connections={"demo": dict(TINY, connector="demo", part="billing")})
    assert ws.sync().ok
    rejects = ws.rejects()
    assert [r["record_id"] for r in rejects] == ["in_broken"] and "\n" not in rejects[0]["reason"]
    assert ws.store.count("invoices") == len(original(DemoConnector("demo", TINY).world, "invoices"))
    ws.close()


def test_ticket_state_from_another_world_starts_over(tmp_path):
    ws = Workspace(tmp_path, DemoConnector, connections={"demo": dict(TINY, connector="demo", part="helpdesk")})
    first = {r.stream: r.records for r in ws.sync().results}
    assert first["tickets"] and {r.stream: r.records for r in ws.sync().results}["tickets"] == 0
    state = ws.store.get_state("demo", "tickets")
    ws.store.set_state("demo", "tickets", dict(state, world="seed=1 accounts=20 2020-01..2020-06 usage_scale=1.0"))
    assert {r.stream: r.records for r in ws.sync().results}["tickets"] == first["tickets"]
    ws.close()
