"""utc_timestamp turns whole unix seconds (and milliseconds) into text by arithmetic, not datetimes:
it must give exactly what the datetime path gives, at day, year and range edges too."""
from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from csconnect.model import utc_timestamp


def by_datetime(value: int | float) -> str:
    seconds = value / 1000 if abs(value) >= 1e11 else value
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


EDGES = [0, 1, 59, 60, 3599, 3600, 86399, 86400, 951_782_400, 951_868_799,   # 2000-02-29
         1_700_000_000, 99_999_999_999, 100_000_000_000, 100_000_000_999, 1_767_225_599_999,
         253_402_300_799, 253_402_300_799_999, -1, -86_401, 253_402_300_800]


@pytest.mark.parametrize("value", EDGES)
def test_whole_seconds_and_milliseconds_match_the_datetime_path(value: int) -> None:
    assert utc_timestamp(value) == by_datetime(value)


def test_random_seconds_and_milliseconds_match_the_datetime_path() -> None:
    rnd = random.Random(8)
    values = [rnd.randrange(0, 253_402_300_800) for _ in range(3000)]
    values += [rnd.randrange(100_000_000_000, 253_402_300_800_000) for _ in range(3000)]
    assert [utc_timestamp(v) for v in values] == [by_datetime(v) for v in values]


def test_values_out_of_range_still_fail_as_before() -> None:
    with pytest.raises((OverflowError, OSError, ValueError)):
        utc_timestamp(10 ** 20)
    with pytest.raises(ValueError):
        utc_timestamp(True)
