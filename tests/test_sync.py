"""The sync engine: pages, state, crash safety, rejects, full refresh, rebuilds."""
from __future__ import annotations

import json
import os
import stat

import pytest

import plugin_fixtures as pf
from csconnect.errors import UsageError
from csconnect.testing import Workspace


def test_sync_writes_raw_canonical_and_state(ws):
    report = ws.sync()
    assert report.ok
    by_stream = {r.stream: r for r in report.results}
    assert (by_stream["accounts"].pages, by_stream["accounts"].records) == (3, 12)
    assert by_stream["accounts"].rows == 24                      # an account and a contact per record
    assert len(ws.rows("raw_fake__accounts")) == 12
    acme = ws.rows("source_accounts", "source_id = ?", ["acc00"])[0]
    assert acme["id"] == "fake:acc00" and acme["source"] == "fake" and acme["source_stream"] == "accounts"
    assert acme["created_at"] == "2023-11-14T22:13:20Z"
    assert json.loads(ws.rows("raw_fake__accounts")[0]["data"])["name"] == "Company 00"
    # a full-table stream starts over next time; an incremental one keeps its cursor
    assert ws.store.get_state("fake", "accounts") is None
    assert ws.store.get_state("fake", "tickets") == {"updated": 5}
    runs = ws.rows("_csconnect_runs")
    assert {(r["stream"], r["status"], r["pages"]) for r in runs} == {("accounts", "ok", 3), ("tickets", "ok", 3)}


def test_crash_after_page_k_then_rerun_equals_an_uninterrupted_run(tmp_path, fake_registry):
    clean = Workspace(tmp_path / "clean", registry=fake_registry, connections={"fake": {"token": "tok-1"}})
    assert clean.sync().ok
    crashed = Workspace(tmp_path / "crashed", registry=fake_registry,
                        connections={"fake": {"token": "tok-1", "fail_after": 2}})
    report = crashed.sync()
    accounts = {r.stream: r for r in report.results}["accounts"]
    assert accounts.status == "failed" and "injected crash before page 2" in accounts.error
    assert crashed.store.get_state("fake", "accounts") == {"page": 2}          # pages 0 and 1 committed
    assert len(crashed.rows("raw_fake__accounts")) == 8
    crashed.config.connections["fake"].settings["fail_after"] = None
    resumed = {r.stream: r for r in crashed.sync().results}["accounts"]
    assert resumed.status == "ok"
    assert resumed.pages == 1                                                # only the missing page
    assert crashed.snapshot() == clean.snapshot()


def test_one_failing_stream_does_not_stop_the_others(tmp_path, fake_registry):
    w = Workspace(tmp_path, registry=fake_registry, connections={"fake": {"token": "t-1234", "fail_after": 0}})
    report = w.sync()
    status = {r.stream: r.status for r in report.results}
    assert status == {"accounts": "failed", "tickets": "ok"} and not report.ok
    assert len(w.rows("tickets")) == 5


def test_a_page_is_all_or_nothing(ws, monkeypatch):
    """A write that fails half-way leaves neither raw rows, canonical rows nor state of that page."""
    real = ws.store.upsert_sql

    def explode(table):
        if table == "contacts":
            raise RuntimeError("disk full")
        return real(table)

    monkeypatch.setattr(ws.store, "upsert_sql", explode)
    with pytest.raises(RuntimeError):
        ws.sync(streams=["accounts"], concurrency=1)
    assert ws.rows("raw_fake__accounts") == [] and ws.rows("source_accounts") == []
    assert ws.store.get_state("fake", "accounts") is None
    assert ws.rows("_csconnect_runs")[0]["status"] == "interrupted"


def test_rejects_are_recorded_and_the_sync_goes_on(ws, monkeypatch):
    original = pf.AccountsStream.pages

    def with_bad(self, state):
        for page in original(self, state):
            page.records[0]["bad"] = True                 # normalize raises RejectError
            page.records[1].pop("id")                     # no primary key
            page.records[2]["created"] = "not a date"     # fails validation
            yield page

    monkeypatch.setattr(pf.AccountsStream, "pages", with_bad)
    report = ws.sync(streams=["accounts"])
    r = report.results[0]
    assert r.status == "ok" and r.records == 12 and r.rejects == 9
    reasons = sorted({x["reason"].split(" ", 1)[0] for x in ws.rejects()})
    assert any("marked bad" in x["reason"] for x in ws.rejects())
    assert any(x["reason"] == "record has no 'id'" for x in ws.rejects())
    assert any("source_accounts.created_at: not an ISO 8601 timestamp: 'not a date'" in x["reason"]
               for x in ws.rejects())
    assert reasons and len(ws.rows("source_accounts")) == 3
    # raw keeps rejected records that have an id, so a fixed connector can rebuild them
    assert len(ws.rows("raw_fake__accounts")) == 9
    # re-running does not double the rejects
    ws.sync(streams=["accounts"])
    assert len(ws.rejects()) == 9


def test_a_reject_clears_when_the_record_later_normalizes(ws, monkeypatch):
    original = pf.AccountsStream.pages
    pf.mark_first_record_bad(monkeypatch)
    ws.sync(streams=["accounts"])
    assert len(ws.rejects()) == 3
    monkeypatch.setattr(pf.AccountsStream, "pages", original)
    ws.sync(streams=["accounts"])
    assert ws.rejects() == []


def test_full_refresh_removes_what_the_source_no_longer_has(ws, monkeypatch):
    assert ws.sync().ok
    monkeypatch.setattr(pf.AccountsStream, "pages_total", 2)
    ws.sync()
    assert len(ws.rows("source_accounts")) == 12                  # a normal run never deletes
    report = ws.sync(full_refresh=True, streams=["accounts"])
    assert report.results[0].pruned == 12                         # 4 raw rows, 4 accounts, 4 contacts
    assert len(ws.rows("source_accounts")) == 8 and len(ws.rows("raw_fake__accounts")) == 8
    assert len(ws.rows("contacts")) == 8


def test_incremental_sync_reads_only_new_records(ws, monkeypatch):
    ws.sync()
    tickets = pf.FakeConnector.tickets + [{"id": "t9", "org": "acc01", "status": "new",
                                           "created": "2026-02-01T00:00:00Z", "updated": 9}]
    monkeypatch.setattr(pf.FakeConnector, "tickets", tickets)
    second = {r.stream: r for r in ws.sync().results}
    assert second["tickets"].records == 1
    assert len(ws.rows("tickets")) == 6
    assert ws.store.get_state("fake", "tickets") == {"updated": 9}


def test_unknown_enum_maps_to_other_and_keeps_the_original(ws, monkeypatch):
    tickets = [dict(pf.FakeConnector.tickets[0], channel="Carrier pigeon")]
    monkeypatch.setattr(pf.FakeConnector, "tickets", tickets)
    ws.sync(streams=["tickets"])
    row = ws.rows("tickets")[0]
    assert (row["channel"], row["source_type"]) == ("other", "Carrier pigeon")


def test_normalize_rebuilds_canonical_rows_without_the_network(ws):
    ws.sync()
    before = ws.snapshot()
    ws.store.conn.execute("DELETE FROM source_accounts")
    results = ws.normalize()
    assert {r.stream: r.records for r in results} == {"accounts": 12, "tickets": 5}
    assert ws.snapshot() == before


def test_unknown_connection_or_stream_is_a_usage_error(ws):
    with pytest.raises(UsageError, match="no connection named 'nope'.*connections: fake"):
        ws.sync("nope")
    with pytest.raises(UsageError, match="no stream named zzz in fake \\(streams: accounts, tickets\\)"):
        ws.sync(streams=["zzz"])


def test_database_is_private_to_its_owner(ws):
    mode = stat.S_IMODE(os.stat(ws.store.path).st_mode)
    assert mode == 0o600


def test_runs_left_running_by_a_dead_process_are_marked_interrupted(ws):
    run_id = ws.store.start_run("dead", "fake", "accounts", False)
    ws.sync(streams=["tickets"])
    status = ws.store.query("SELECT status FROM _csconnect_runs WHERE id = ?", [run_id])[0]["status"]
    assert status == "interrupted"


def test_secrets_never_reach_the_database(ws):
    ws.sync()
    ws.store.close()
    assert b"tok-123456" not in ws.store.path.read_bytes()


def test_delete_and_replace_from_normalize(tmp_path):
    from csconnect import Connector, Delete, Page, Replace, Stream

    class Invoices(Stream):
        name = "invoices"
        tables = ("invoices", "invoice_lines")

        def pages(self, state):
            yield Page(self.connector.served)

        def normalize(self, r):
            if r.get("deleted"):
                yield Delete("invoices", r["id"])
                return
            yield Replace("invoice_lines", "invoice_id", self.ref(r["id"]))
            yield "invoices", {"source_id": r["id"], "status": "draft", "currency": "usd"}
            for i, amount in enumerate(r["lines"]):
                yield "invoice_lines", {"source_id": f"{r['id']}-{i}-{amount}", "invoice_id": self.ref(r["id"]),
                                        "kind": "subscription", "amount": amount, "currency": "usd"}

    class Billing(Connector):
        name, category, streams = "lines", "billing", (Invoices,)
        served: list = []

    w = Workspace(tmp_path, Billing, connections={"b": {"connector": "lines"}})
    Billing.served = [{"id": "in_1", "lines": [100, 200]}, {"id": "in_2", "lines": [5]}]
    w.sync()
    assert sorted(r["amount"] for r in w.rows("invoice_lines")) == [5, 100, 200]
    Billing.served = [{"id": "in_1", "lines": [300]}, {"id": "in_2", "deleted": True}]
    w.sync()
    assert sorted((r["invoice_id"], r["amount"]) for r in w.rows("invoice_lines")) == [("b:in_1", 300),
                                                                                          ("b:in_2", 5)]
    assert [r["id"] for r in w.rows("invoices")] == ["b:in_1"]


def test_replaced_children_keep_their_linked_account(tmp_path):
    from csconnect import Connector, Page, Replace, Stream

    class Invoices(Stream):
        name = "invoices"

        def pages(self, state):
            yield Page([{"id": "in_1", "lines": self.connector.lines}])

        def normalize(self, r):
            yield Replace("invoice_lines", "invoice_id", self.ref(r["id"]))
            for amount in r["lines"]:
                yield "invoice_lines", {"source_id": f"l{amount}", "source_account_id": "cus_1", "amount": amount,
                                        "invoice_id": self.ref(r["id"]), "kind": "subscription", "currency": "usd"}

    class Billing(Connector):
        name, category, streams = "keep", "billing", (Invoices,)
        lines = [100, 200]

    w = Workspace(tmp_path, Billing, connections={"b": {"connector": "keep"}})
    w.sync()
    w.store.conn.execute("UPDATE invoice_lines SET account_id = 'acme'")
    Billing.lines = [100]
    w.sync()
    assert [(r["amount"], r["account_id"]) for r in w.rows("invoice_lines")] == [(100, "acme")]
