"""Every HubSpot property value is a string: parsing numbers, booleans, dates and domains."""
from __future__ import annotations

from decimal import Decimal

import pytest

from csconnect_hubspot.normalize import local_date
from csconnect_hubspot.search import ChangeReader
from csconnect_hubspot.streams import primary_company
from csconnect_hubspot.values import boolean, domain, millis, number, number_or_none, prop, timestamp


def test_numbers() -> None:
    assert number("1234.5") == Decimal("1234.5")
    assert number("1,234.50") == Decimal("1234.50")
    assert number("0") == 0 and number("-3") == -3
    assert number("") is None and number(None) is None and number("  ") is None
    with pytest.raises(ValueError, match="not a number"):
        number("n/a")
    with pytest.raises(ValueError):
        number("NaN")
    assert number_or_none("12 seats") is None


def test_booleans() -> None:
    assert boolean("true") is True and boolean("FALSE") is False
    assert boolean("") is None and boolean(None) is None
    with pytest.raises(ValueError, match="not a boolean"):
        boolean("maybe")


def test_datetimes_iso_with_milliseconds_and_epoch_milliseconds() -> None:
    assert millis("2026-01-05T10:00:00.123Z") == 1_767_607_200_123
    assert millis("1767607200123") == 1_767_607_200_123
    assert millis("1767607200") == 1_767_607_200_000                     # seconds, just in case
    assert millis("2026-01-05T11:00:00+01:00") == 1_767_607_200_000
    assert timestamp("2026-01-05T10:00:00.999Z") == "2026-01-05T10:00:00Z"
    assert timestamp("1767607200123") == "2026-01-05T10:00:00Z"
    assert timestamp("2026-01-05") == "2026-01-05T00:00:00Z"               # date properties
    assert timestamp("") is None and millis(None) is None
    with pytest.raises(ValueError):
        millis("next week")


def test_close_dates_are_dates_in_the_account_time_zone() -> None:
    assert local_date("2026-03-30T22:00:00.000Z", "Europe/Berlin") == "2026-03-31"
    assert local_date("2026-03-30T22:00:00.000Z", None) == "2026-03-30"
    assert local_date("1774908000000", "America/New_York") == "2026-03-30"
    assert local_date(None, "Europe/Berlin") is None


def test_domains() -> None:
    assert domain("northwind.example") == "northwind.example"
    assert domain("https://www.Northwind.example/about?x=1") == "northwind.example"
    assert domain("http://shop.northwind.example:8080") == "shop.northwind.example"
    assert domain("") is None and domain("not a domain") is None


def test_properties_and_modification_times() -> None:
    record = {"id": "1", "properties": {"amount": " 12 ", "empty": "", "none": None},
              "updatedAt": "2026-01-05T10:00:00.500Z"}
    assert prop(record, "amount") == "12" and prop(record, "empty") is None and prop(record, "missing") is None
    reader = ChangeReader(lambda b: b, "hs_lastmodifieddate", [], 0)
    assert reader.modified_ms(record) == 1_767_607_200_500                # falls back to updatedAt
    record["properties"]["hs_lastmodifieddate"] = "1767607201000"
    assert reader.modified_ms(record) == 1_767_607_201_000


def test_primary_company_prefers_the_primary_label() -> None:
    to = [{"toObjectId": 11, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None}]},
          {"toObjectId": 22, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"}]}]
    assert primary_company(to) == "22"                     # ids may come as numbers
    assert primary_company(to[:1]) == "11"
    assert primary_company([]) is None and primary_company(None) is None
