"""One day of export lines -> usage_daily rows: duplicates, sessions, features, accounts, bad lines."""
from __future__ import annotations

from datetime import date

import pytest

from csconnect.model import validate_row
from csconnect_mixpanel.aggregate import (BadLine, DayAggregate, Rules, decode, gap_sessions, parse_line, seconds,
                                          session_length)

import mixpanel_payloads as mp

DAY = date(2026, 3, 2)


def aggregate(*events, rules: Rules = Rules(), raw: tuple[bytes, ...] = ()) -> DayAggregate:
    agg = DayAggregate(DAY, rules)
    agg.add_lines([mp.line(e) for e in events] + list(raw))
    return agg


def rows_by_user(agg: DayAggregate) -> dict[str, dict]:
    rows = list(agg.rows())
    for row in rows:
        validate_row("usage_daily", dict(row, id=f"mp:{row['source_id']}", source="mp", source_stream="usage",
                                         synced_at="2026-03-03T00:00:00Z"))
    return {r["user_id"]: r for r in rows}


def test_a_duplicate_counts_once_and_needs_all_of_its_identity():
    a = mp.event("Viewed Report", "ada", "2026-03-02 09:00:00", iid="same-id")
    same_id_other_time = mp.event("Viewed Report", "ada", "2026-03-02 09:00:01", iid="same-id")
    same_id_other_event = mp.event("Exported CSV", "ada", "2026-03-02 09:00:00", iid="same-id")
    same_id_other_user = mp.event("Viewed Report", "bo", "2026-03-02 09:00:00", iid="same-id")
    no_id = mp.event("Viewed Report", "ada", "2026-03-02 09:05:00", iid=None)
    rows = rows_by_user(aggregate(a, a, a, same_id_other_time, same_id_other_event, same_id_other_user,
                                  no_id, no_id))
    assert rows["ada"]["events"] == 5      # a once, the two look-alikes, and both lines without $insert_id
    assert rows["bo"]["events"] == 1


def test_gap_sessions_split_at_the_timeout_and_span_their_events():
    t = mp.ts("2026-03-02 08:00:00")
    assert gap_sessions([t], 1800) == (1, 0)
    assert gap_sessions([t + 600, t, t + 1200], 1800) == (1, 1200)          # order does not matter
    assert gap_sessions([t, t + 1799], 1800) == (1, 1799)
    assert gap_sessions([t, t + 1800], 1800) == (2, 0)                      # 30 minutes without events
    assert gap_sessions([t, t + 60, t + 4000, t + 4100, t + 9000], 1800) == (3, 160)
    assert gap_sessions([], 1800) == (0, 0)


def test_sessions_come_from_ae_session_events_when_the_user_has_them():
    evs = [mp.event("Opened Screen", "bo", "2026-03-02 08:00:00", lib="android"),
           mp.session("bo", "2026-03-02 08:10:00", 600.4),
           mp.event("Opened Screen", "bo", "2026-03-02 08:11:00", lib="android"),
           mp.session("bo", "2026-03-02 21:00:00", "1,234.5")]   # some Android SDKs send a formatted string
    dup = evs[1]
    rows = rows_by_user(aggregate(*evs, dup, mp.event("Viewed Report", "ada", "2026-03-02 10:00:00"),
                                  mp.event("Viewed Report", "ada", "2026-03-02 10:00:30")))
    assert (rows["bo"]["sessions"], rows["bo"]["active_seconds"], rows["bo"]["events"]) == (2, 1835, 4)
    assert (rows["ada"]["sessions"], rows["ada"]["active_seconds"]) == (1, 30)


def test_an_ae_session_without_a_length_is_an_ordinary_event():
    evs = [mp.event("$ae_session", "bo", "2026-03-02 08:00:00", lib="android"),
           mp.event("Opened Screen", "bo", "2026-03-02 08:05:00", lib="android")]
    row = rows_by_user(aggregate(*evs))["bo"]
    assert (row["sessions"], row["active_seconds"], row["events"]) == (1, 300, 2)


@pytest.mark.parametrize("value, seconds_", [(12, 12.0), (12.5, 12.5), ("12.5", 12.5), ("12,5", 12.5),
                                             ("1,234.5", 1234.5), ("1\u00a0234,5", 1234.5), (-1, None),
                                             ("soon", None), (None, None), (True, None)])
def test_session_lengths_are_read_leniently(value, seconds_):
    assert session_length(value) == seconds_


def test_features_are_distinct_sorted_names_without_mixpanel_events():
    evs = [mp.event(name, "ada", "2026-03-02 09:00:00") for name in
           ("Viewed Report", "Exported CSV", "Viewed Report", "$mp_web_page_view", "$identify", "Created Dashboard")]
    evs.append(mp.session("ada", "2026-03-02 09:10:00", 60))
    assert rows_by_user(aggregate(*evs))["ada"]["features"] == ["Created Dashboard", "Exported CSV", "Viewed Report"]
    chosen = Rules(feature_events=frozenset({"Exported CSV", "$identify"}))
    assert rows_by_user(aggregate(*evs, rules=chosen))["ada"]["features"] == ["$identify", "Exported CSV"]


def test_the_account_is_the_one_on_most_of_the_users_events():
    evs = [mp.event("A", "ada", "2026-03-02 09:00:00", company="acme"),
           mp.event("A", "ada", "2026-03-02 09:01:00", company="globex"),
           mp.event("A", "ada", "2026-03-02 09:02:00", company="globex"),
           mp.event("A", "ada", "2026-03-02 09:03:00"),
           mp.event("A", "bo", "2026-03-02 09:00:00", company="zeta"),
           mp.event("A", "bo", "2026-03-02 09:01:00", company="alpha"),     # a tie: the smaller wins
           mp.event("A", "cy", "2026-03-02 09:00:00", company=42.0),
           mp.event("A", "dee", "2026-03-02 09:00:00", company=["initech", "acme"]),
           mp.event("A", "dee", "2026-03-02 09:01:00", company=["initech"]),
           mp.event("A", "eve", "2026-03-02 09:00:00", company="")]
    rows = rows_by_user(aggregate(*evs))
    assert {u: r["source_account_id"] for u, r in rows.items()} == {
        "ada": "globex", "bo": "alpha", "cy": "42", "dee": "initech", "eve": None}


def test_user_property_falls_back_to_distinct_id_and_events_without_a_user_are_counted():
    evs = [mp.event("A", "device-1", "2026-03-02 09:00:00", **{"$user_id": "ada"}),
           mp.event("A", "device-2", "2026-03-02 09:00:00"),
           mp.event("A", None, "2026-03-02 09:00:00")]
    del evs[1]["properties"]["$user_id"]
    agg = aggregate(*evs, rules=Rules(user_property="$user_id"))
    assert sorted(rows_by_user(agg)) == ["ada", "device-2"]
    assert agg.no_user == 1


def test_row_ids_are_stable_per_user_and_day():
    row = rows_by_user(aggregate(mp.event("A", "ada@acme.example", "2026-03-02 09:00:00")))["ada@acme.example"]
    assert row["source_id"] == "ada@acme.example:2026-03-02" and row["day"] == "2026-03-02"


def test_the_day_boundary_and_events_outside_the_day():
    evs = [mp.event("A", "ada", "2026-03-02 00:00:00"), mp.event("A", "ada", "2026-03-02 23:59:59"),
           mp.event("A", "ada", "2026-03-03 00:00:00"), mp.event("A", "ada", "2026-03-01 23:59:59")]
    agg = aggregate(*evs)
    assert agg.outside == 2                 # counted on the export's day all the same, and reported
    assert rows_by_user(agg)["ada"]["events"] == 4


def test_bad_lines_are_kept_for_rejects_and_the_rest_counts():
    good = mp.event("A", "ada", "2026-03-02 09:00:00")
    raw = (b'{"event":"A","properties":{"time":17', b"[1, 2]", b'{"event":"A"}', b'{"event":"A","properties":{}}',
           b'{"event":"","properties":{"time":1}}', b'{"event":"A","properties":{"time":"soon"}}', b"\xff\xfe",
           b"", b"   ")
    agg = aggregate(good, raw=raw)
    assert agg.bad_total == 7 and agg.events == 1
    reasons = [reason for _, reason, _ in agg.bad]
    assert reasons[0].startswith("not JSON") and "no properties object" in reasons
    assert "no properties.time" in reasons and "no event name" in reasons
    assert rows_by_user(agg)["ada"]["events"] == 1


def test_times_in_milliseconds_and_strings_are_seconds():
    assert seconds(1_772_409_600) == 1_772_409_600
    assert seconds(1_772_409_600_123) == 1_772_409_600
    assert seconds(1_772_409_600.9) == 1_772_409_600
    assert seconds("1772409600") == 1_772_409_600
    for bad in (True, None, float("nan"), "x"):
        with pytest.raises((ValueError, TypeError)):
            seconds(bad)


@pytest.mark.parametrize("raw, value", [
    (b'{"a":1}', {"a": 1}), (b'  {"a":1}', {"a": 1}), (b'{"a":1}\r', {"a": 1}),
    (b'{"n":123456789012345678901234567890}', {"n": 123456789012345678901234567890}),   # beyond orjson's 64 bits
    ('{"name":"Zo\u00eb \u2713"}'.encode(), {"name": "Zo\u00eb \u2713"}),
])
def test_decode_gives_the_standard_librarys_result(raw, value):
    assert decode(raw, exact=True) == value
    if "n" not in value:                    # orjson (when installed) rounds integers beyond 64 bits
        assert decode(raw) == value


def test_ids_beyond_64_bits_keep_every_digit_with_or_without_orjson():
    big = 123456789012345678901234567890
    raw = (b'{"event":"A","properties":{"time":1772442000,"distinct_id":%d,"company_id":%d,"$insert_id":%d}}'
           % (big, big + 1, big + 2))
    row = rows_by_user(aggregate(raw=(raw,)))[str(big)]
    assert row["source_account_id"] == str(big + 1) and row["events"] == 1


@pytest.mark.parametrize("raw", [b'{"a":1} trailing', b"\xff{}", b"{", b""])
def test_decode_refuses_what_is_not_one_json_value(raw):
    with pytest.raises(ValueError):
        decode(raw)


def test_parse_line_returns_the_event():
    ev = mp.event("A", "ada", "2026-03-02 09:00:00")
    assert parse_line(mp.line(ev)) == ev
    with pytest.raises(BadLine):
        parse_line(b"nope")
