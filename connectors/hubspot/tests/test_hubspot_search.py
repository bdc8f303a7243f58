"""Incremental search: keyset restarts, the 10,000-result ceiling, ties, look-back, resume."""
from __future__ import annotations

from functools import partial
from types import SimpleNamespace
from typing import Any

from csconnect.testing import Workspace
from csconnect_hubspot import HubSpotConnector
from csconnect_hubspot.search import ChangeReader
from hubspot_fake import BASE, MINUTE, SETTINGS, T0, TOKEN, FakeHubSpot, iso, standard


def workspace(tmp_path: Any, **settings: Any) -> Workspace:
    return Workspace(tmp_path, HubSpotConnector, connections={"hs": {"connector": "hubspot", **SETTINGS, **settings}})


def crowded_portal(respx_mock: Any, ceiling: int) -> tuple[FakeHubSpot, int]:
    """More contacts than one search may page through: pairs and triples share a modification
    time (so pages end inside them), and a bulk update gave 450 contacts one and the same time."""
    api = FakeHubSpot(respx_mock)
    api.ceiling = ceiling
    n = 0
    for i in range(300):                                   # triples: T0, T0, T0, T0+1s, ...
        api.add("contacts", 10_000 + n, T0, updated=T0 + (i // 3) * 1000, email=f"c{n}@x.example")
        n += 1
    bulk = T0 + 200_000
    for i in range(450):                                   # one bulk update
        api.add("contacts", 10_000 + n, T0, updated=bulk, email=f"c{n}@x.example")
        n += 1
    for i in range(484):                                   # then one change a second
        api.add("contacts", 10_000 + n, T0, updated=bulk + 1000 * (i + 1), email=f"c{n}@x.example")
        n += 1
    return api, n


def test_more_results_than_the_search_ceiling_are_read_once_each(tmp_path: Any, respx_mock: Any) -> None:
    api, total = crowded_portal(respx_mock, ceiling=1000)   # the fake refuses `after` past 1,000 (HubSpot: 10,000)
    ws = workspace(tmp_path)
    report = ws.sync(streams=["contacts"])
    assert report.ok, [r.error for r in report.results]
    (result,) = report.results
    assert total > api.ceiling
    assert result.records == total                           # every contact read, none yielded twice
    assert ws.store.query("SELECT COUNT(*) AS n FROM raw_hs__contacts")[0]["n"] == total
    bodies = [b for kind, b in api.searches if kind == "contacts"]
    assert all("after" not in b for b in bodies)             # never an offset: nothing can hit the ceiling
    filters = [b["filterGroups"][0]["filters"] for b in bodies]
    assert filters[0] == [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]
    # the second search restarts at the last modification time of the first page (GTE): its
    # 200th record is the 200th of the triples, modified at T0 + 66 s
    assert filters[1] == [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(T0 + 66_000)}]
    assert all(b["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
               for b, f in zip(bodies, filters) if f[0]["operator"] != "EQ")
    # a full page of one instant (the bulk update) is read by id, then the search goes on after it
    ties = [(b, f) for b, f in zip(bodies, filters) if f[0]["operator"] == "EQ"]
    assert len(ties) == 3 and all(f[0]["value"] == str(T0 + 200_000) for _, f in ties)
    assert ties[0][1][1:] == [] and ties[1][1][1]["propertyName"] == "hs_object_id"
    assert all(b["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}] for b, _ in ties)
    after_ties = filters[filters.index(ties[-1][1]) + 1]
    assert after_ties == [{"propertyName": "lastmodifieddate", "operator": "GT", "value": str(T0 + 200_000)}]
    assert all(b["limit"] == 200 for b in bodies)


def test_a_crashed_sync_resumes_at_the_next_page(respx_mock: Any) -> None:
    api, total = crowded_portal(respx_mock, ceiling=10_000)
    connector = HubSpotConnector("hs", {**SETTINGS, "base_url": BASE, "lookback_minutes": 10},
                                 sleep=lambda seconds: None)
    reader = ChangeReader(partial(connector.search, "contacts"), "lastmodifieddate", ["email"], 600_000)
    seen: list[str] = []
    pages = reader.pages(None)
    for _ in range(4):
        records, state = next(pages)
        seen += [r["id"] for r in records]
    assert "query" in state and set(state) == {"modified_after", "recent", "query"}
    pages.close()                                            # the crash
    for records, state in reader.pages(state):               # the next run, from the last committed state
        seen += [r["id"] for r in records]
    assert "query" not in state
    assert len(seen) == len(set(seen)) == total


def test_records_changed_during_a_sync_are_neither_skipped_nor_stale(tmp_path: Any, respx_mock: Any) -> None:
    """An offset would skip a record when an earlier one moves to the end; the keyset cannot."""
    api = FakeHubSpot(respx_mock)
    for i in range(450):
        api.add("companies", 20_000 + i, T0, updated=T0 + i * 1000, name=f"Co {i}")

    def edit(searches: int) -> None:
        if searches == 1:                                   # after the first page: an early record changes
            api.touch("companies", 20_005, T0 + 3_600_000, name="Co 5 renamed")

    api.after_search.append(edit)
    ws = workspace(tmp_path)
    (result,) = ws.sync(streams=["companies"]).results
    assert result.records == 451                             # all 450, and the edited one again
    assert ws.store.query("SELECT COUNT(*) AS n FROM source_accounts")[0]["n"] == 450
    assert ws.rows("source_accounts", "source_id = '20005'")[0]["name"] == "Co 5 renamed"


def test_second_sync_looks_back_and_skips_what_it_has_read(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    ws = workspace(tmp_path, lookback_minutes=10)
    assert ws.sync(streams=["contacts"]).ok
    newest = T0 + 2 * MINUTE
    state = ws.store.get_state("hs", "contacts")
    assert state == {"modified_after": newest, "recent": {"7001": T0, "7002": T0 + MINUTE, "7003": newest},
                     "archived_after": 0}
    # a change HubSpot indexed late: older than the newest record read, inside the look-back window
    api.add("contacts", 7009, T0 - 5 * MINUTE, updated=newest - 3 * MINUTE, email="late@northwind.example",
            associatedcompanyid="5001")
    # and one older than the window: search lag is seconds, so it is out of reach (by design)
    api.add("contacts", 7010, T0 - 60 * MINUTE, updated=newest - 30 * MINUTE, email="old@northwind.example")
    before = len(api.searches)
    (result,) = ws.sync(streams=["contacts"]).results
    assert result.records == 1                               # 7009; 7001-7003 come back but are skipped
    first = api.searches[before][1]["filterGroups"][0]["filters"][0]
    assert first == {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(newest - 10 * MINUTE)}
    assert ws.rows("contacts", "source_id = '7009'")[0]["source_account_id"] == "5001"
    assert not ws.rows("contacts", "source_id = '7010'")


def test_a_change_to_a_record_already_read_is_read_again(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    ws = workspace(tmp_path)
    assert ws.sync(streams=["deals"]).ok
    api.touch("deals", 8003, T0 + 3 * MINUTE, amount="150")   # inside the look-back window, a new version
    (result,) = ws.sync(streams=["deals"]).results
    assert result.records == 1
    assert ws.rows("deals", "source_id = '8003'")[0]["amount"] == 15000


def test_search_requests_go_through_the_account_wide_search_limiter(respx_mock: Any) -> None:
    api = FakeHubSpot(respx_mock)
    for i in range(500):
        api.add("calls", 30_000 + i, T0, updated=T0 + i, hs_timestamp=iso(T0))
    connector = HubSpotConnector("hs", {**SETTINGS, "base_url": BASE, "search_rate_limit": 4.0})
    assert (connector.search_limiter.rate, connector.search_limiter.burst) == (4.0, 1)
    acquired: list[int] = []
    connector.search_limiter = SimpleNamespace(acquire=lambda: acquired.append(1))
    reader = ChangeReader(partial(connector.search, "calls"), "hs_lastmodifieddate", [], 0)
    assert sum(len(records) for records, _ in reader.pages(None)) == 500
    assert len(acquired) == len(api.searches) == 3
    off = HubSpotConnector("hs", {**SETTINGS, "base_url": BASE, "search_rate_limit": 0})
    assert off.search_limiter is None


def test_the_request_body_follows_the_search_schema(respx_mock: Any) -> None:
    reader = ChangeReader(lambda body: body, "hs_lastmodifieddate", ["amount", "dealstage"], 0)
    body = reader.request({"op": "GTE", "value": T0})
    assert body == {
        "filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(T0)}]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["amount", "dealstage", "hs_lastmodifieddate", "hs_object_id"], "limit": 200}
    assert TOKEN not in str(body)
