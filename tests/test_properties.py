"""Property-based tests (hypothesis): normalizers and the configuration loader only fail politely.

Normalizers: every first-party connector's streams are fed arbitrary JSON-ish records and real
records (from the connectors' own test fakes) with fields replaced by junk or removed. Through
the sync's own path (`Normalizer.batch`, then `Store.write_page`) each record must end as valid
canonical rows or as one reject with a one-line reason; nothing may raise, and nothing may
reach SQLite that it cannot store (integers beyond 64 bits, say).

The configuration loader: arbitrary TOML text, and arbitrary values for the keys it knows,
raise only ConfigError (or load).
"""
from __future__ import annotations

import copy
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csconnect.config import load_config
from csconnect.errors import ConfigError
from csconnect.plugins import build_registry
from csconnect.store import Store
from csconnect.sync import Normalizer
from csconnect.testing import Workspace, plugin_for

ROOT = Path(__file__).resolve().parents[1]
for folder in ("stripe", "hubspot", "zendesk", "files"):
    sys.path.insert(0, str(ROOT / f"connectors/{folder}/tests"))    # the fakes are test helpers, not packages

# CSCONNECT_HYPOTHESIS_EXAMPLES=1000 hunts longer; the default keeps the module well under 40 s.
EXAMPLES = int(os.environ.get("CSCONNECT_HYPOTHESIS_EXAMPLES", "60"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])

# -- JSON-ish values ------------------------------------------------------------------------------
leaves = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2 ** 62, max_value=2 ** 80)
          | st.floats() | st.text(max_size=12)
          | st.sampled_from(["", "0", "-1", "1e400", "NaN", "2026-13-45T99:99:99Z", "2026-03-01T12:00:00Z",
                             "1772366400000", "true", "usd", "EUR", "@", "x@gmail.com", "a@b.example",
                             "https://evil.example/", "deleted", "active", "canceled", "paid", "open"]))
junk = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path into a JSON value (dict keys and list indexes)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield prefix + (k,)
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            yield prefix + (i,)
            yield from paths(v, prefix + (i,))


def mutate(record: dict, changes: list[tuple[tuple, Any, bool]]) -> dict:
    out = copy.deepcopy(record)
    for path, value, remove in changes:
        node = out
        try:
            for part in path[:-1]:
                node = node[part]
            if remove and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue            # an earlier change removed or replaced a parent
    return out


@st.composite
def records_like(draw: Any, samples: list[dict]) -> Any:
    """A real record with up to four fields replaced by junk or removed, or junk altogether."""
    choice = draw(st.integers(0, 9))
    if choice == 0 or not samples:
        return draw(junk)
    sample = draw(st.sampled_from(samples))
    if choice == 1:
        keys = list(sample) + ["id", "properties", "data"]
        return draw(st.dictionaries(st.sampled_from(keys), junk, max_size=6))
    every = list(paths(sample))
    chosen = draw(st.lists(st.sampled_from(every), min_size=1, max_size=4)) if every else []
    return mutate(sample, [(p, draw(junk), draw(st.booleans())) for p in chosen])


# -- the connectors and their real records -------------------------------------------------------
def _stripe() -> tuple[type, dict, dict[str, list[dict]]]:
    import stripe_scenario
    from csconnect_stripe import StripeConnector
    from stripe_fake import FakeStripe
    fake = stripe_scenario.populate(FakeStripe(None))
    return StripeConnector, {"api_key": "sk_test_property_key"}, dict(fake.objects)


def _hubspot() -> tuple[type, dict, dict[str, list[dict]]]:
    from csconnect_hubspot import HubSpotConnector
    from hubspot_fake import SETTINGS, standard
    api = standard(respx.MockRouter())
    samples = {kind: list(objs.values()) for kind, objs in api.objects.items()}
    for kind, records in samples.items():            # as enriched by the stream before normalize
        for r in records:
            r["_csconnect"] = {"company_id": "5001", "owner": "jane@vendor.example", "currency": "EUR",
                               "time_zone": "Europe/Berlin",
                               "stage": {"id": "closedwon", "label": "Closed won", "metadata": {"isClosed": "true"}},
                               "pipeline": {"id": "default", "label": "Sales Pipeline"}}
    samples["owners"] = api.owners
    return HubSpotConnector, dict(SETTINGS), samples


def _zendesk() -> tuple[type, dict, dict[str, list[dict]]]:
    import zendesk_payloads as zp
    import zendesk_scenario
    from csconnect_zendesk import ZendeskConnector
    from zendesk_fake import EMAIL, TOKEN, FakeZendesk
    fake = zendesk_scenario.populate(FakeZendesk(respx.MockRouter()))
    tickets = []
    for tid, t in fake.tickets.items():
        t = copy.deepcopy(t)
        if tid in fake.metric_sets:
            t["metric_set"] = fake.metric_sets[tid]
        t["_csconnect"] = {"assignee": "Ada Agent", "group": "Tier 1"}
        tickets.append(t)
    settings_ = {"subdomain": zp.SUBDOMAIN, "email": EMAIL, "api_token": TOKEN, "start_date": "2026-01-01"}
    return ZendeskConnector, settings_, {"organizations": list(fake.organizations.values()),
                                         "users": list(fake.users.values()), "tickets": tickets,
                                         "satisfaction_ratings": list(fake.ratings.values())}


def _posthog() -> tuple[type, dict, dict[str, list[dict]]]:
    from csconnect_posthog import PostHogConnector
    person = {"id": "018f0000-0000-0000-0000-000000000001", "uuid": "018f0000-0000-0000-0000-000000000001",
              "name": "ana@acme.example", "distinct_ids": ["u1"], "created_at": "2026-01-02T03:04:05.123000Z",
              "properties": {"email": "ana@acme.example", "name": "Ana", "title": "COO", "$group_0": "acme"},
              "is_identified": True}
    group = {"key": "acme", "created_at": "2026-01-02T03:04:05Z",
             "properties": {"name": "Acme", "domain": "acme.example", "plan": "pro"}}
    return PostHogConnector, {"api_key": "phx_property_key", "project_id": 1, "start_date": "2026-03-01"}, {
        "persons": [person], "groups": [group], "usage": [{"day": "2026-03-02"}]}


def _mixpanel() -> tuple[type, dict, dict[str, list[dict]]]:
    from csconnect_mixpanel import MixpanelConnector
    event = {"event": "Report Viewed", "properties": {"time": 1772366400, "distinct_id": "u1", "$insert_id": "abc",
                                                      "company_id": "acme", "mp_lib": "web"}}
    return MixpanelConnector, {"project_id": 7, "service_account_username": "sa.user", "service_account_secret":
                               "mp-property-secret", "start_date": "2026-03-01", "end_date": "2026-03-03",
                               "keep_events": True}, {
        "usage": [{"day": "2026-03-02"}, {"day": "2026-03-02", "reason": "not JSON", "line": 3, "text": "{oops"}],
        "events": [event]}


def _files() -> tuple[type, dict, dict[str, list[dict]]]:
    import files_testdata as fd
    from csconnect_files import FilesConnector
    return FilesConnector, fd.settings(), {
        "nps": [{"id": "R1", "file": "nps-1.csv", "line": 2, "fields": {
            "Response ID": "R1", "Score": "9", "Why?": "Great", "Submitted At": "03/01/2026 09:30",
            "Email": "ana@acme.com", "Company": "acme"}}],
        "costs": [{"id": "cs|2026-01", "file": "costs.jsonl", "line": 1, "fields": dict(fd.COSTS[0])}],
        "accounts": [{"id": "acme", "file": "accounts.csv", "line": 2, "fields": {
            "Account ID": "acme", "Company": "Acme Corp", "Website": "acme.com", "Segment": "Enterprise",
            "CSM": "Jo", "HubSpot ID": "101"}}]}


def _demo() -> tuple[type, dict, dict[str, list[dict]]]:
    from csconnect_demo import DemoConnector
    options = {"accounts": 12, "months": 4, "usage_scale": 0.01}
    connector = DemoConnector("demo", {**{o.name: o.default for o in DemoConnector.all_options()}, **options})
    samples = {}
    for stream in connector.get_streams():
        try:
            samples[stream.name] = stream.source()[:5]
        except Exception:          # streams built from pages only (usage aggregates)
            samples[stream.name] = []
    return DemoConnector, options, samples


SOURCES = {"stripe": _stripe, "hubspot": _hubspot, "zendesk": _zendesk, "posthog": _posthog,
           "mixpanel": _mixpanel, "files": _files, "demo": _demo}


@lru_cache(maxsize=None)
def connection(name: str, root: str) -> tuple[Workspace, dict[str, Any], dict[str, list[dict]]]:
    cls, given_settings, samples = SOURCES[name]()
    ws = Workspace(root, cls, connections={"prop": {"connector": cls.name, **given_settings}})
    connector = cls("prop", ws.config.connections["prop"].settings, root=root)
    streams = {s.name: s for s in connector.get_streams()}
    return ws, streams, samples


@pytest.fixture(scope="module")
def folder() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as path:
        yield path


def normalize_and_write(ws: Workspace, stream: Any, record: Any) -> None:
    store: Store = ws.store
    batch = Normalizer(stream).batch([record])
    assert batch.records == 1
    assert len(batch.rejects) + len(batch.good_ids) == 1, (batch.rejects, batch.good_ids)
    for reject in batch.rejects:
        assert reject.reason and "\n" not in reject.reason, reject.reason
    raw = store.ensure_raw_table("prop", stream.name) if stream.store_raw else None
    store.write_page(run_id=None, connection="prop", stream=stream.name, raw_table=raw, raw_rows=batch.raw_rows,
                     rows=batch.rows, rejects=batch.rejects, state=None, records=batch.records,
                     deletes=batch.deletes, replaces=batch.replaces)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_normalizers_turn_any_record_into_rows_or_one_reject(name: str, folder: str) -> None:
    root = str(Path(folder) / name)
    Path(root).mkdir(exist_ok=True)
    ws, streams, samples = connection(name, root)

    @FAST
    @given(data=st.data())
    def check(data: Any) -> None:
        stream = streams[data.draw(st.sampled_from(sorted(streams)))]
        record = data.draw(records_like(samples.get(stream.name) or []))
        with respx.mock(assert_all_called=False):      # a normalizer never reaches the network
            normalize_and_write(ws, stream, record)

    check()


def test_the_real_records_themselves_normalize_without_rejects(folder: str) -> None:
    """The starting points of the mutations are good records (so the mutations are what fail)."""
    for name in ("stripe", "hubspot", "zendesk", "demo"):
        root = str(Path(folder) / f"real-{name}")
        Path(root).mkdir(exist_ok=True)
        ws, streams, samples = connection(name, root)
        for stream_name, records in samples.items():
            if stream_name in streams and records:
                batch = Normalizer(streams[stream_name]).batch(copy.deepcopy(records))
                assert not batch.rejects, (name, stream_name, batch.rejects[0].reason)


# -- the configuration loader ---------------------------------------------------------------------
@lru_cache(maxsize=None)
def registry() -> Any:
    classes = [SOURCES[name]()[0] for name in sorted(SOURCES)]
    return build_registry([plugin_for(*classes)], entry_points=False)


def load_text(text: str, environ: dict[str, str] | None = None) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "csconnect.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_config(path, registry=registry(), environ=environ or {})
        except ConfigError as exc:
            assert str(exc) and "\n" not in str(exc)


toml_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
toml_like = st.lists(st.sampled_from([
    "[connections.stripe]\n", "connector = \"stripe\"\n", "api_key = \"${STRIPE_API_KEY}\"\n", "[fx_rates]\n",
    "EUR = 1.1\n", "database = \"x.db\"\n", "[sync]\n", "concurrency = 2\n", "[packs.health]\n", "= =\n",
    "page_size = \"7\"\n", "[connections.hs]\n", "connector = \"hubspot\"\n", "token = \"${T:-pat-1}\"\n",
    "[identity]\n", "overrides = {}\n", "reporting_currency = \"eur\"\n", "\"\" = 1\n", "[[connections]]\n",
]), max_size=12).map("".join)


@FAST
@given(text=toml_text | toml_like)
def test_any_text_loads_or_fails_with_one_config_error(text: str) -> None:
    load_text(text)


def toml_value(value: Any) -> str:
    """A Python value as TOML (inline)."""
    import json as _json
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else "nan"
    if isinstance(value, str):
        return _json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    return '""'


toml_values = st.recursive(st.booleans() | st.integers(-2 ** 63, 2 ** 63 - 1) | st.floats(allow_nan=False)
                           | st.text(max_size=10) | st.sampled_from(["${HOME}", "${NOPE}", "${NOPE:-x}", "${",
                                                                     "0", "-5", "true", "EUR", "sk_test_x"]),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
TOP_KEYS = ["database", "reporting_currency", "fx_rates", "connections", "packs", "identity", "sync", "alerts",
            "targets"]
REQUIRED = {"stripe": {"api_key": "sk_test_x"}, "hubspot": {"token": "pat-na1-x"},
            "zendesk": {"subdomain": "northwind", "email": "a@b.example", "api_token": "zd-x"},
            "posthog": {"api_key": "phx_x", "project_id": 1}, "mixpanel": {"project_id": 1},
            "files": {}, "demo": {}}


@FAST
@given(key=st.sampled_from(TOP_KEYS), value=toml_values)
def test_any_value_of_a_top_level_key_loads_or_fails_with_one_config_error(key: str, value: Any) -> None:
    load_text(f"{key} = {toml_value(value)}\n")


@FAST
@given(connector=st.sampled_from(sorted(REQUIRED)), data=st.data())
def test_any_option_value_loads_or_fails_with_one_config_error(connector: str, data: Any) -> None:
    cls = registry().connector(connector)
    key = data.draw(st.sampled_from([o.name for o in cls.all_options()]))
    table = {**REQUIRED[connector], key: data.draw(toml_values)}
    text = f"[connections.c]\nconnector = \"{connector}\"\n" + "".join(f"{k} = {toml_value(v)}\n"
                                                                       for k, v in table.items())
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "csconnect.toml"
        path.write_text(text, encoding="utf-8")
        try:
            cfg = load_config(path, registry=registry(), environ={"HOME": "/home/x"})
            # the connector built from what loaded must not raise anything else either
            cls("c", cfg.connections["c"].settings, root=d).get_streams()
        except ConfigError as exc:
            assert str(exc) and "\n" not in str(exc)
