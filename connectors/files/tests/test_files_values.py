"""Reading values: money in major and minor units, date formats and time zones, numbers, lists, mappings."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from csconnect.testing import Workspace

from csconnect_files import FilesConnector
from csconnect_files.values import (lookup, parse_date, parse_json, parse_money, parse_number, parse_timestamp)
from files_testdata import jsonl, write

UTC, BERLIN = timezone.utc, ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize("value, currency, decimal, expected", [
    ("12.50", "USD", ".", 1250),
    ("$1,234.50", "USD", ".", 123450),
    ("-$12.00", "usd", ".", -1200),
    ("(12.00)", "USD", ".", -1200),
    ("USD 1 234.5", "USD", ".", 123450),
    ("12,50 €", "EUR", ",", 1250),
    ("1.234,50", "EUR", ",", 123450),
    ("¥1,200", "JPY", ".", 1200),
    ("1200", "JPY", ".", 1200),
    ("1,200.4", "JPY", ".", 1200),
    ("0.125", "KWD", ".", 125),
    ("33.335", "USD", ".", 3334),          # half up
    (12.5, "USD", ".", 1250),
    (9000.5, "USD", ".", 900050),
    (7, "EUR", ".", 700),
    ("", "USD", ".", None),
])
def test_major_units_become_minor_units(value: Any, currency: str, decimal: str, expected: int | None) -> None:
    assert parse_money(value, currency, "major", decimal) == expected


@pytest.mark.parametrize("value, expected", [("12345", 12345), ("1,234", 1234), (500, 500), ("-75", -75)])
def test_minor_units_are_taken_as_they_are(value: Any, expected: int) -> None:
    assert parse_money(value, None, "minor") == expected


@pytest.mark.parametrize("value, currency, units, decimal, message", [
    ("12.5", "USD", "minor", ".", "'12.5' is not a whole number of minor units"),
    ("12.50", None, "major", ".", "needs a currency"),
    ("1.234,50", "EUR", "major", ".", "not an amount: '1.234,50'"),
    ("twelve", "USD", "major", ".", "not an amount: 'twelve'"),
    ("1e5", "USD", "major", ".", "not an amount: '1e5'"),
    (True, "USD", "major", ".", "not an amount: True"),
])
def test_bad_amounts_say_why(value: Any, currency: str | None, units: str, decimal: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_money(value, currency, units, decimal)


@pytest.mark.parametrize("value, formats, tz, expected", [
    ("03/01/2026 09:30", ["%m/%d/%Y %H:%M"], UTC, "2026-03-01T09:30:00Z"),
    ("03/01/2026 09:30", ["%m/%d/%Y %H:%M"], BERLIN, "2026-03-01T08:30:00Z"),
    ("07/01/2026 09:30", ["%m/%d/%Y %H:%M"], BERLIN, "2026-07-01T07:30:00Z"),     # summer time
    ("2026-07-01", ["%m/%d/%Y %H:%M", "%Y-%m-%d"], UTC, "2026-07-01T00:00:00Z"),
    ("01.07.2026 09:30 +0200", ["%d.%m.%Y %H:%M %z"], UTC, "2026-07-01T07:30:00Z"),
    ("2026-03-01T12:00:00Z", [], BERLIN, "2026-03-01T12:00:00Z"),
    ("2026-03-01 12:00", [], BERLIN, "2026-03-01T11:00:00Z"),
    ("2026-03-01T12:00:00.123+0000", [], UTC, "2026-03-01T12:00:00Z"),
    ("1767225600", [], BERLIN, "2026-01-01T00:00:00Z"),
    (1767225600000, [], UTC, "2026-01-01T00:00:00Z"),
    (" ", [], UTC, None),
    (date(2026, 1, 1), [], BERLIN, "2025-12-31T23:00:00Z"),                       # TOML dates in `values`
    (datetime(2026, 1, 1, 12, 0, tzinfo=UTC), [], BERLIN, "2026-01-01T12:00:00Z"),
])
def test_timestamps(value: Any, formats: list[str], tz: Any, expected: str | None) -> None:
    assert parse_timestamp(value, formats, tz) == expected


def test_timestamps_that_do_not_parse_say_why() -> None:
    with pytest.raises(ValueError, match=r"^'31/02/2026' does not match date_format '%d/%m/%Y' or '%Y-%m-%d'$"):
        parse_timestamp("31/02/2026", ["%d/%m/%Y", "%Y-%m-%d"], UTC)
    with pytest.raises(ValueError, match="not an ISO 8601 timestamp: 'yesterday' \\(set date_format"):
        parse_timestamp("yesterday", [], UTC)


@pytest.mark.parametrize("value, formats, expected", [
    ("31.01.2026", ["%d.%m.%Y"], "2026-01-31"),
    ("2026-01-31", [], "2026-01-31"),
    ("2026-01-31T23:30:00-05:00", [], "2026-02-01"),
    ("2026-01-31 23:30", [], "2026-01-31"),
    (date(2026, 1, 31), [], "2026-01-31"),
    (datetime(2026, 1, 31, 23, 30), [], "2026-01-31"),
])
def test_dates(value: Any, formats: list[str], expected: str) -> None:
    assert parse_date(value, formats, BERLIN) == expected


def test_numbers_lists_and_lookups() -> None:
    assert parse_number("9") == 9 and parse_number(" 8.5 ") == 8.5 and parse_number("8,5", ",") == 8.5
    assert parse_number(7) == 7 and parse_number("") is None
    with pytest.raises(ValueError, match="not a number: 'nine'"):
        parse_number("nine")
    assert parse_json("billing, urgent,", "tags") == ["billing", "urgent"]
    assert parse_json('{"plan": "pro"}', "attributes") == {"plan": "pro"}
    with pytest.raises(ValueError, match="expected a JSON object"):
        parse_json("pro", "attributes")
    fields = {"Score ": "9", "answers": {"nps": 10}, "a.b": 1}
    assert lookup(fields, "score") == "9" and lookup(fields, "answers.nps") == 10 and lookup(fields, "a.b") == 1
    assert lookup(fields, "answers.csat") is None and lookup(fields, "missing") is None


# -- mappings, end to end ---------------------------------------------------------------------
def sync(tmp_path: Path, *entries: dict[str, Any]) -> Workspace:
    ws = Workspace(tmp_path, FilesConnector, connections={"cs": {
        "connector": "files", "base_dir": str(tmp_path / "in"), "files": list(entries)}})
    report = ws.sync()
    assert report.ok, [r.error for r in report.results]
    return ws


def test_subscriptions_from_a_spreadsheet(tmp_path: Path) -> None:
    write(tmp_path / "in", "subs.csv",
          "Contract,Customer,Status,Plan,Price,Currency,Seats,Billing,Start,Cancelled\n"
          'C1,acme,Live,Pro,"$1,200.00",USD,10,Annual,2025-04-01,\n'
          "C2,globex,Past Due,Team,49.5,usd,3,Monthly,01/02/2026,\n"
          "C3,initech,Cancelled,Pro,120000,JPY,5,monthly,2025-01-15,2026-01-31\n")
    ws = sync(tmp_path, {
        "name": "subscriptions", "path": "subs.csv", "table": "subscriptions", "id": "Contract",
        "columns": {"source_account_id": "Customer", "status": "Status", "plan_name": "Plan", "amount": "Price",
                    "currency": "Currency", "quantity": "Seats", "interval": "Billing", "started_at": "Start",
                    "canceled_at": "Cancelled"},
        "values": {"interval_count": 1},
        "value_map": {"status": {"live": "active", "Cancelled": "canceled"}, "interval": {"Annual": "year"}},
        "date_format": ["%Y-%m-%d", "%d/%m/%Y"]})
    rows = {r["source_id"]: r for r in ws.rows("subscriptions")}
    assert {k: (r["status"], r["interval"], r["amount"], r["currency"], r["quantity"]) for k, r in rows.items()} == {
        "C1": ("active", "year", 120000, "USD", 10),
        "C2": ("past_due", "month", 4950, "USD", 3),
        "C3": ("canceled", "month", 120000, "JPY", 5)}
    assert rows["C2"]["started_at"] == "2026-02-01T00:00:00Z"
    assert rows["C3"]["canceled_at"] == "2026-01-31T00:00:00Z" and rows["C1"]["canceled_at"] is None


def test_references_point_at_this_or_another_connection(tmp_path: Path) -> None:
    write(tmp_path / "in", "csat.jsonl", jsonl([
        {"id": 1, "answers": {"rating": 5}, "at": "2026-03-01T10:00:00+01:00", "who": {"email": "a@acme.com"},
         "ticket": 4711, "account": 42},
        {"id": 2, "answers": {"rating": "3"}, "at": "2026-03-02T10:00:00Z", "who": {}, "ticket": None}]))
    ws = sync(tmp_path, {
        "name": "csat", "path": "csat.jsonl", "table": "survey_responses", "id": "id", "id_prefix": "delighted:",
        "columns": {"score": "answers.rating", "responded_at": "at", "contact_id": "who.email",
                    "ticket_id": "ticket", "source_account_id": "account"},
        "values": {"kind": "csat", "scale_min": 1, "scale_max": 5}, "refs": {"ticket_id": "zendesk"}})
    rows = ws.rows("survey_responses")
    assert [(r["id"], r["score"], r["contact_id"], r["ticket_id"], r["source_account_id"], r["responded_at"])
            for r in rows] == [
        ("cs:delighted:1", 5, "cs:a@acme.com", "zendesk:4711", "42", "2026-03-01T09:00:00Z"),
        ("cs:delighted:2", 3, None, None, None, "2026-03-02T10:00:00Z")]


def test_a_european_surveymonkey_export(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ces.tsv").write_bytes(
        "Umfrage März\n"
        "Respondent ID\tWie einfach?\tEnde\tKommentar\tBetrag\n"
        "\tResponse\t\t\t\n"
        "7\t6,5\t01.03.2026 10:00\tGanz schön\t1.234,50\n".encode("cp1252"))
    ws = sync(tmp_path, {
        "name": "ces", "path": "ces.tsv", "table": "survey_responses", "id": "Respondent ID",
        "header_row": 2, "skip_rows": 1, "encoding": "cp1252", "decimal": ",", "date_format": "%d.%m.%Y %H:%M",
        "timezone": "Europe/Berlin",
        "columns": {"score": "Wie einfach?", "responded_at": "Ende", "comment": "Kommentar"},
        "values": {"kind": "ces", "scale_min": 1, "scale_max": 7, "polarity": "higher_better"}})
    [row] = ws.rows("survey_responses")
    assert (row["score"], row["responded_at"], row["comment"]) == (6.5, "2026-03-01T09:00:00Z", "Ganz schön")
    assert ws.rows("raw_cs__ces")[0]["cursor"] == "4"


def test_accounts_tickets_and_activities(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "accounts.csv", "id,name,site,segment,owner,hubspot\n"
                                  "a1,Acme,https://www.Acme.com/about,Enterprise,Jo,101\n")
    write(folder, "tickets.csv", "id,acct,status,channel,created,tags,escalated\n"
                                 't1,a1,Open,Carrier pigeon,2026-03-01T10:00:00Z,"billing, urgent",yes\n')
    write(folder, "touch.csv", "Account,Date,Type,Seconds\na1,2026-03-01,QBR,3600\na1,2026-03-02,Lunch,\n")
    ws = sync(tmp_path,
              {"name": "accounts", "path": "accounts.csv", "table": "source_accounts", "id": "id",
               "columns": {"name": "name", "domain": "site", "attributes": {"segment": "segment", "owner": "owner"},
                           "external_ids": {"hubspot": "hubspot"}},
               "values": {"attributes": {"lifecycle_stage": "customer"}}},
              {"name": "tickets", "path": "tickets.csv", "table": "tickets", "id": "id",
               "columns": {"source_account_id": "acct", "status": "status", "channel": "channel",
                           "created_at": "created", "tags": "tags", "escalated": "escalated"}},
              {"name": "activities", "path": "touch.csv", "table": "activities", "id": ["Account", "Date", "Type"],
               "columns": {"source_account_id": "Account", "occurred_at": "Date", "kind": "Type",
                           "duration_seconds": "Seconds"}})
    [account] = ws.rows("source_accounts")
    assert (account["source_account_id"], account["domain"], account["external_ids"]) == \
        ("a1", "acme.com", '{"hubspot":"101"}')
    assert account["attributes"] == '{"lifecycle_stage":"customer","owner":"Jo","segment":"Enterprise"}'
    [ticket] = ws.rows("tickets")
    assert (ticket["status"], ticket["channel"], ticket["source_type"], ticket["tags"], ticket["escalated"]) == \
        ("open", "other", "Carrier pigeon", '["billing","urgent"]', 1)
    acts = ws.rows("activities")
    assert [(a["source_id"], a["kind"], a["source_type"], a["duration_seconds"]) for a in acts] == [
        ("a1:2026-03-01:QBR", "qbr", None, 3600), ("a1:2026-03-02:Lunch", "other", "Lunch", None)]
