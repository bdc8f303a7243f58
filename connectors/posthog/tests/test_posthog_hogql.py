"""The HogQL text: literals escaped, accounts, filters, keyset, limits."""
from __future__ import annotations

from datetime import date

import pytest

from csconnect_posthog.hogql import DEFAULT_EXCLUDED, AccountSource, groups_query, literal, usage_query
from csconnect_posthog.streams import account_text


def query(**kw: object) -> str:
    args = dict(start=date(2026, 3, 1), end=date(2026, 3, 2), after=None, limit=100, account=AccountSource(),
                features=None, excluded=DEFAULT_EXCLUDED, anonymous=False)
    args.update(kw)
    return usage_query(**args)  # type: ignore[arg-type]


def test_literals_are_escaped() -> None:
    assert literal("it's") == "'it\\'s'"
    assert literal("a\\'; DROP") == "'a\\\\\\'; DROP'"


@pytest.mark.parametrize("text, kind, key, expr", [
    ("$group_2", "group", "2", "ifNull(toString(`$group_2`), '')"),
    ("company_id", "person", "company_id", "ifNull(toString(person.properties['company_id']), '')"),
    ("person.org id", "person", "org id", "ifNull(toString(person.properties['org id']), '')"),
    ("event.acct'x", "event", "acct'x", "ifNull(toString(properties['acct\\'x']), '')"),
    ("", None, "", None),
])
def test_account_sources(text: str, kind: str | None, key: str, expr: str | None) -> None:
    source = AccountSource.parse(text)
    assert (source.kind, source.key, source.expression()) == (kind, key, expr)


def test_the_usage_query_bounds_filters_and_limit() -> None:
    q = query(account=AccountSource.parse("$group_0"), limit=5000)
    assert "timestamp >= toDateTime('2026-03-01T00:00:00Z')" in q
    assert "timestamp < toDateTime('2026-03-02T00:00:00Z')" in q
    assert "event NOT IN ('$feature_flag_called', '$set'" in q
    assert "person_mode != 'propertyless'" in q
    assert "argMaxIf(ifNull(toString(`$group_0`), ''), timestamp" in q
    assert "GROUP BY event_day, uid, sid" in q and q.endswith("ORDER BY event_day, uid\nLIMIT 5000")
    assert "person_id) >" not in q


def test_the_keyset_condition_quotes_what_the_last_page_returned() -> None:
    q = query(after=("2026-03-01", "x' OR 1=1 --"))
    assert ("(toDate(toTimeZone(timestamp, 'UTC')) > toDate('2026-03-01') OR (toDate(toTimeZone(timestamp, 'UTC')) "
            "= toDate('2026-03-01') AND toString(person_id) > 'x\\' OR 1=1 --'))") in q


def test_features_anonymous_and_no_exclusions() -> None:
    q = query(features=["a", "b'c"], anonymous=True, excluded=())
    assert "groupUniqArrayIf(event, event IN ('a', 'b\\'c')) AS feats" in q
    assert "person_mode" not in q and "NOT IN" not in q
    assert "groupUniqArrayIf(event, 0)" in query(features=[])


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        query(limit=50_001)
    with pytest.raises(ValueError):
        groups_query(index=0, after=None, limit=0)


def test_groups_query() -> None:
    assert groups_query(index=1, after="o'k", limit=10) == (
        "SELECT key, properties, created_at FROM groups WHERE index = 1 AND key > 'o\\'k' ORDER BY key LIMIT 10")


@pytest.mark.parametrize("value, text", [(None, None), ("", None), (" acme ", "acme"), (42, "42"), (42.0, "42"),
                                         (4.5, "4.5"), (True, None), ({"a": 1}, None)])
def test_account_text(value: object, text: str | None) -> None:
    assert account_text(value) == text
