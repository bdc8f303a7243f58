"""Deleted (archived) and merged-away records leave the canonical tables, and stay gone."""
from __future__ import annotations

import json
from typing import Any

from csconnect.testing import Workspace
from csconnect_hubspot import HubSpotConnector
from csconnect_hubspot.streams import Deals
from hubspot_fake import BASE, MINUTE, SETTINGS, T0, standard


def workspace(tmp_path: Any, **settings: Any) -> Workspace:
    return Workspace(tmp_path, HubSpotConnector, connections={"hs": {"connector": "hubspot", **SETTINGS, **settings}})


def raw(ws: Workspace, stream: str, oid: str) -> dict:
    (row,) = ws.store.query(f"SELECT data FROM raw_hs__{stream} WHERE id = ?", (oid,))
    return json.loads(row["data"])


def test_a_deal_deleted_in_hubspot_is_deleted_here(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    ws = workspace(tmp_path)
    assert ws.sync(streams=["deals"]).ok
    assert ws.store.get_state("hs", "deals")["archived_after"] == 0          # a pass ran; nothing archived
    api.archive("deals", 8003, T0 + 10 * MINUTE)
    (result,) = ws.sync(streams=["deals"]).results
    assert result.records == 1
    assert {r["source_id"] for r in ws.rows("deals")} == {"8001", "8002"}
    assert raw(ws, "deals", "8003")["archived"] is True                       # the raw row is the tombstone
    ws.normalize()
    assert {r["source_id"] for r in ws.rows("deals")} == {"8001", "8002"}      # and a rebuild keeps it gone
    assert ws.store.get_state("hs", "deals")["archived_after"] == T0 + 10 * MINUTE
    (again,) = ws.sync(streams=["deals"]).results
    assert again.records == 0                                                 # deleted once, not every sync


def test_the_first_sync_only_notes_what_was_archived_before(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    api.archive("companies", 5003, T0 + 5 * MINUTE)
    ws = workspace(tmp_path)
    (result,) = ws.sync(streams=["companies"]).results
    assert result.records == 2 and not ws.rows("source_accounts", "source_id = '5003'")
    assert ws.store.get_state("hs", "companies")["archived_after"] == T0 + 5 * MINUTE
    assert ws.store.query("SELECT COUNT(*) AS n FROM raw_hs__companies")[0]["n"] == 2


def test_a_merged_away_contact_is_deleted(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    ws = workspace(tmp_path)
    assert ws.sync(streams=["contacts"]).ok
    del api.objects["contacts"]["7003"]                                       # merged into 7001
    api.touch("contacts", 7001, T0 + 30 * MINUTE, hs_merged_object_ids="7003")
    (result,) = ws.sync(streams=["contacts"]).results
    assert result.records == 2                                                # the survivor and a tombstone
    assert {r["source_id"] for r in ws.rows("contacts")} == {"7001", "7002"}
    assert raw(ws, "contacts", "7003")["_csconnect"] == {"merged_into": "7001"}
    ws.normalize()
    assert {r["source_id"] for r in ws.rows("contacts")} == {"7001", "7002"}


def test_a_crashed_deletion_pass_resumes_without_searching_again(respx_mock: Any) -> None:
    api = standard(respx_mock)
    for i in range(150):
        api.add("deals", 100 + i, T0)
        api.archive("deals", 100 + i, T0 + i * 1000)
    connector = HubSpotConnector("hs", {**SETTINGS, "base_url": BASE}, sleep=lambda s: None)
    state = {"modified_after": T0, "recent": {}, "archived_after": T0 + 99_000,
             "archive": {"cursor": "100", "newest": T0 + 99_000}}
    pages = list(Deals(connector).pages(state))
    assert not api.searches
    listed = [c.request.url for c in respx_mock.calls if c.request.url.path == "/crm/v3/objects/deals"]
    assert [u.params["after"] for u in listed] == ["100"]
    assert [r["id"] for r in pages[0].records] == [str(100 + i) for i in range(100, 150)]
    assert pages[-1].state == {"modified_after": T0, "recent": {}, "archived_after": T0 + 149_000}


def test_deletions_can_be_switched_off(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    ws = workspace(tmp_path, read_deletions=False)
    assert ws.sync(streams=["deals"]).ok
    assert not [c for c in respx_mock.calls if c.request.url.path == "/crm/v3/objects/deals"]
    assert "archived_after" not in ws.store.get_state("hs", "deals")
    assert api.searches
