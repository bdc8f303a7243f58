"""Identity resolution on the tricky cases: shared domains, free mail, overrides, CRM-only prospects."""
from __future__ import annotations

import json

import pytest

from csconnect import Connector
from csconnect.errors import ConfigError
from csconnect.identity import link, normalize_domain, normalize_name
from csconnect.testing import Workspace


class Crm(Connector):
    name, category = "crm_x", "crm"


class Billing(Connector):
    name, category = "billing_x", "billing"


class Helpdesk(Connector):
    name, category = "helpdesk_x", "helpdesk"


@pytest.fixture
def w(tmp_path):
    ws = Workspace(tmp_path, Crm, Billing, Helpdesk,
                   connections={"hubspot": {"connector": "crm_x"}, "stripe": {"connector": "billing_x"},
                                "zendesk": {"connector": "helpdesk_x"}})
    yield ws
    ws.close()


def add(ws, source, sid, name=None, domain=None, external_ids=None, created="2025-01-01T00:00:00Z", **attrs):
    ws.store.conn.execute(
        "INSERT INTO source_accounts (id, source, source_id, source_account_id, name, domain, external_ids, "
        "created_at, attributes, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (f"{source}:{sid}", source, sid, sid, name, domain, json.dumps(external_ids or {}), created,
         json.dumps(attrs), "2026-01-01T00:00:00Z"))


def add_contact(ws, source, account, email):
    ws.store.conn.execute(
        "INSERT INTO contacts (id, source, source_id, source_account_id, email, synced_at) VALUES (?,?,?,?,?,?)",
        (f"{source}:{email}", source, email, account, email, "2026-01-01T00:00:00Z"))


def links(ws):
    return {(r["source"], r["source_account_id"]): (r["account_id"], r["rule"]) for r in ws.rows("account_links")}


def test_one_domain_across_crm_billing_and_helpdesk_is_one_account(w):
    add(w, "hubspot", "101", "Northwind Labs", "https://www.northwind-labs.com/", segment="mid_market",
        owner="dana@vendor.io")
    add(w, "stripe", "cus_9", "Northwind Labs Inc.", None, seats=40)
    add_contact(w, "stripe", "cus_9", "billing@northwind-labs.com")      # domain from contacts' email
    add(w, "zendesk", "7", "Northwind", "northwind-labs.com")
    summary = link(w.store, w.config, w.registry)
    assert summary.accounts == 1 and summary.source_accounts == 3
    got = links(w)
    assert {v[0] for v in got.values()} == {"hubspot:101"}                # the CRM record leads
    assert got[("stripe", "cus_9")][1] == "domain"
    account = w.rows("accounts")[0]
    assert (account["name"], account["segment"], account["seats"], account["domain"]) == \
        ("Northwind Labs", "mid_market", 40, "northwind-labs.com")
    assert json.loads(account["sources"]) == ["hubspot:101", "stripe:cus_9", "zendesk:7"]


def test_free_mail_contacts_do_not_link_accounts(w):
    add(w, "stripe", "cus_1", "Ann's Bakery")
    add_contact(w, "stripe", "cus_1", "ann@gmail.com")
    add(w, "stripe", "cus_2", "Bob's Garage")
    add_contact(w, "stripe", "cus_2", "bob@gmail.com")
    add(w, "hubspot", "5", "Gmail", "gmail.com")
    summary = link(w.store, w.config, w.registry)
    assert summary.accounts == 3
    assert all(rule == "self" for _, rule in links(w).values())


def test_an_override_wins_over_a_domain_match(w):
    add(w, "hubspot", "1", "Acme Global", "acme.com")
    add(w, "stripe", "cus_emea", "Acme EMEA", "acme.com")
    w.config.identity = {"overrides": {"stripe:cus_emea": "acme-emea"}}
    link(w.store, w.config, w.registry)
    got = links(w)
    assert got[("stripe", "cus_emea")] == ("acme-emea", "override")
    assert got[("hubspot", "1")] == ("hubspot:1", "self")


def test_overrides_from_csv(w, tmp_path):
    add(w, "stripe", "cus_a", "A")
    add(w, "zendesk", "9", "Totally different")
    (tmp_path / "overrides.csv").write_text("source,source_account_id,account_id\nstripe,cus_a,acct-1\n"
                                            "zendesk,9,acct-1\n")
    w.config.identity = {"overrides_csv": "overrides.csv"}
    summary = link(w.store, w.config, w.registry)
    assert summary.accounts == 1 and summary.rules["override"] == 2


def test_a_bad_override_is_one_line(w):
    w.config.identity = {"overrides": {"cus_a": "x"}}
    with pytest.raises(ConfigError, match=r'identity.overrides.cus_a: \'cus_a\' must be written as '
                                          r'"<connection>:<source account id>"'):
        link(w.store, w.config, w.registry)


def test_shared_external_id_links_even_without_domain_or_name(w):
    add(w, "hubspot", "555", "Contoso Ltd", "contoso.example")
    add(w, "stripe", "cus_x", "C. Holdings", None, external_ids={"hubspot": "555"})
    add(w, "zendesk", "3", "Contoso (support)", None, external_ids={"crm_x": "555"})   # by connector name
    link(w.store, w.config, w.registry)
    got = links(w)
    assert got[("stripe", "cus_x")] == ("hubspot:555", "external_id")
    assert got[("zendesk", "3")] == ("hubspot:555", "external_id")


def test_two_crm_companies_on_one_domain_are_a_conflict_not_a_merge(w):
    add(w, "hubspot", "1", "Globex US", "globex.com", created="2024-01-01T00:00:00Z")
    add(w, "hubspot", "2", "Globex EU", "globex.com", created="2025-01-01T00:00:00Z")
    add(w, "stripe", "cus_g", "Globex", "globex.com")
    summary = link(w.store, w.config, w.registry)
    got = links(w)
    assert got[("hubspot", "1")][0] != got[("hubspot", "2")][0]
    assert got[("stripe", "cus_g")][0] == "hubspot:1"                       # the oldest wins
    conflicts = w.rows("_csconnect_identity_conflicts")
    assert conflicts and conflicts[0]["kind"] == "shared_domain" and conflicts[0]["value"] == "globex.com"
    assert json.loads(conflicts[0]["members"]) == ["hubspot:1", "hubspot:2"]
    assert "1 conflict(s)" in summary.line()


def test_a_crm_only_prospect_stays_its_own_account(w):
    add(w, "hubspot", "77", "Prospect Co", "prospect.example", lifecycle_stage="lead")
    add(w, "stripe", "cus_p", "Paying Customer", "paying.example")
    link(w.store, w.config, w.registry)
    accounts = {a["account_id"]: a for a in w.rows("accounts")}
    assert accounts["hubspot:77"]["lifecycle_stage"] == "lead"
    assert links(w)[("hubspot", "77")] == ("hubspot:77", "self")


def test_exact_normalized_name_links_last(w):
    add(w, "hubspot", "1", "ACME, Inc.")
    add(w, "stripe", "cus_1", "Acme Inc")
    link(w.store, w.config, w.registry)
    assert links(w)[("stripe", "cus_1")] == ("hubspot:1", "name")


def test_account_id_is_stamped_on_canonical_rows_and_follows_relinks(w):
    add(w, "stripe", "cus_1", "Acme")
    w.store.conn.execute("INSERT INTO tickets (id, source, source_id, source_account_id, status, created_at, "
                         "synced_at) VALUES ('zendesk:1', 'zendesk', '1', '9', 'open', '2026-01-01T00:00:00Z', "
                         "'2026-01-01T00:00:00Z')")
    add(w, "zendesk", "9", "Other")
    link(w.store, w.config, w.registry)
    assert w.rows("tickets")[0]["account_id"] == "zendesk:9"
    w.config.identity = {"overrides": {"zendesk:9": "acme", "stripe:cus_1": "acme"}}
    link(w.store, w.config, w.registry)
    assert w.rows("tickets")[0]["account_id"] == "acme"


@pytest.mark.parametrize("raw,expected", [("https://www.Acme.com/about", "acme.com"), ("ops@acme.co.uk", "acme.co.uk"),
                                          ("not a domain", None), ("", None)])
def test_normalize_domain(raw, expected):
    assert normalize_domain(raw) == expected


def test_normalize_name():
    assert normalize_name("ACME, Inc.") == normalize_name("Acme Inc") == "acme"
    assert normalize_name("Smith & Sons GmbH") == "smith and sons"
