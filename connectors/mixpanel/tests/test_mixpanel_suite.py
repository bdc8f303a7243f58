"""csconnect's standard connector suite, run against an in-memory Mixpanel export.

The `usage` stream's pages carry aggregated rows, not records: its one record per page is
the day marker that replaces the day's rows, so its record count is the number of days
read. A second sync re-reads the `lookback_days` days before its saved position (late
events), which is the suite's `incremental_overlap`.
"""
from __future__ import annotations

from typing import Any

from csconnect.testing import ConnectorSuite
from csconnect_mixpanel import MixpanelConnector
from csconnect_mixpanel.streams import EventsStream, UsageStream

import mixpanel_payloads as mp
from mixpanel_fake import FakeMixpanel

SETTINGS = {"project_id": mp.PROJECT_ID, "service_account_username": mp.USERNAME,
            "service_account_secret": mp.SECRET, "start_date": mp.START, "end_date": mp.END,
            "lookback_days": mp.LOOKBACK}
LATE_DAY = "2026-03-05"
# Events of the look-back days (03-03 .. 03-07) that a second sync reads again.
_LOOKBACK_EVENTS = sum(1 for e in mp.scenario() if "2026-03-03" <= mp.day_of(e) <= mp.END)


def late_event() -> dict[str, Any]:
    """An event of an already synced day that reaches the export only later (a queued mobile event)."""
    return mp.event("Exported CSV", "ada@acme.example", f"{LATE_DAY} 10:10:00", company="acme")


class TestMixpanelConnector(ConnectorSuite):
    connector = MixpanelConnector
    settings = SETTINGS
    # The late event's day is new data; the other look-back days are read again on purpose.
    incremental_overlap = {"usage": mp.LOOKBACK - 1}

    def mock_api(self, respx_mock: Any) -> FakeMixpanel:
        fake = FakeMixpanel(respx_mock)
        fake.add(*mp.scenario())
        return fake

    def add_new_data(self, api: FakeMixpanel) -> dict[str, int]:
        api.add(late_event())
        return {"usage": 1}

    def mock_unauthorized(self, respx_mock: Any) -> None:
        FakeMixpanel(respx_mock, secret="a-different-secret")

    def mock_malformed(self, respx_mock: Any) -> None:
        fake = self.mock_api(respx_mock)
        fake.add_line("2026-03-04", b'{"event":"Viewed Report","properties":{"time":17726')


class _KeepEventsConnector(MixpanelConnector):
    # The suite reads the class's `streams`; a connection with keep_events = true has both.
    streams = (UsageStream, EventsStream)


class TestMixpanelKeepEvents(TestMixpanelConnector):
    """The same suite with `keep_events = true`: raw events in raw_<connection>__events too."""

    connector = _KeepEventsConnector
    settings = dict(SETTINGS, keep_events=True)
    incremental_overlap = {"usage": mp.LOOKBACK - 1, "events": _LOOKBACK_EVENTS}

    def add_new_data(self, api: FakeMixpanel) -> dict[str, int]:
        api.add(late_event())
        return {"usage": 1, "events": 1}
