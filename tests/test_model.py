"""The canonical model: coercion, enums, required columns, timestamps."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from csconnect.errors import RejectError
from csconnect.model import TABLES, describe, utc_timestamp, validate_row

BASE = {"id": "s:1", "source": "s", "source_id": "1", "synced_at": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize("value,expected", [
    (1_767_225_600, "2026-01-01T00:00:00Z"),                   # unix seconds (Stripe, Intercom)
    (1_767_225_600_000, "2026-01-01T00:00:00Z"),               # epoch milliseconds (HubSpot filters)
    ("1767225600000", "2026-01-01T00:00:00Z"),
    ("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00Z"),       # HubSpot records
    ("2026-01-01T01:00:00.000+0100", "2026-01-01T00:00:00Z"),   # Salesforce
    ("2025-12-31T19:00:00-05:00", "2026-01-01T00:00:00Z"),      # RFC 3339 offsets
    ("2026-01-01", "2026-01-01T00:00:00Z"),
    (datetime(2026, 1, 1), "2026-01-01T00:00:00Z"),
    (datetime(2026, 1, 1, tzinfo=timezone.utc), "2026-01-01T00:00:00Z"),
    (None, None), ("", None),
])
def test_timestamps_become_utc_iso(value, expected):
    assert utc_timestamp(value) == expected


def test_coercion_of_strings_from_sources():
    row = validate_row("deals", {**BASE, "amount": "1250", "is_closed": "true", "is_won": "false",
                                 "close_date": "2026-03-05T12:00:00Z", "kind": "Renewal"})
    assert (row["amount"], row["is_closed"], row["is_won"], row["close_date"], row["kind"]) == \
        (1250, 1, 0, "2026-03-05", "renewal")


def test_unknown_enum_with_other_keeps_the_original():
    row = validate_row("activities", {**BASE, "kind": "Webinar", "occurred_at": 1_767_225_600})
    assert (row["kind"], row["source_type"]) == ("other", "Webinar")


def test_unknown_enum_without_other_is_a_reject():
    with pytest.raises(RejectError, match=r"subscriptions.status: unknown value 'zombie' \(expected one of: "
                                          r"trialing, active, past_due, paused, canceled, ended\)"):
        validate_row("subscriptions", {**BASE, "status": "zombie"})


@pytest.mark.parametrize("row,message", [
    ({"status": "paid"}, "invoices.currency is required"),
    ({"status": "paid", "currency": "dollars"}, "invoices.currency: not an ISO 4217 code: 'dollars'"),
    ({"status": "paid", "currency": "usd", "total": "12.x"}, "invoices.total: could not convert"),
    ({"status": "paid", "currency": "usd", "colour": "red"}, "invoices: unknown column(s) colour"),
    ({"status": "paid", "currency": "usd", "total": True}, "invoices.total: not an integer: True"),
])
def test_bad_values_are_rejects_naming_the_column(row, message):
    with pytest.raises(RejectError) as info:
        validate_row("invoices", {**BASE, **row})
    assert str(info.value).startswith(message)


def test_currency_is_upper_cased_and_json_serialized():
    row = validate_row("tickets", {**BASE, "status": "open", "created_at": "2026-01-01T00:00:00Z",
                                   "tags": ["vip", "escalated"]})
    assert row["tags"] == '["vip","escalated"]'
    assert validate_row("invoices", {**BASE, "status": "paid", "currency": "eur"})["currency"] == "EUR"


def test_every_table_is_described_with_its_columns():
    described = {t["table"]: t for t in describe()}
    assert set(described) == set(TABLES)
    tickets = {c["name"]: c for c in described["tickets"]["columns"]}
    assert tickets["status"]["enum"] == ["new", "open", "pending", "solved", "closed"]
    assert tickets["id"]["required"] and tickets["created_at"]["type"] == "timestamp"
