"""csconnect's standard connector suite, run against an in-memory PostHog."""
from __future__ import annotations

from typing import Any

import pytest

from csconnect.testing import ConnectorSuite
from csconnect_posthog import PostHogConnector
from csconnect_posthog import streams as posthog_streams

import posthog_scenario as scenario
from posthog_fake import API_KEY, PROJECT, FakePostHog

SETTINGS = {"api_key": API_KEY, "project_id": PROJECT, "start_date": scenario.START}


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(posthog_streams, "utc_today", lambda: scenario.TODAY)


class TestPostHogConnector(ConnectorSuite):
    connector = PostHogConnector
    settings = SETTINGS
    # Every sync re-reads the last lookback_days (3) complete days and today: 4 day records.
    incremental_overlap = {"usage": 4}

    def mock_api(self, respx_mock: Any) -> FakePostHog:
        return scenario.populate(FakePostHog(respx_mock))

    def add_new_data(self, api: FakePostHog) -> dict[str, int]:
        scenario.add_late_event(api)      # lands on a day inside the look-back window
        return {}                         # usage records are days; the re-read days are the overlap

    def mock_unauthorized(self, respx_mock: Any) -> None:
        FakePostHog(respx_mock, api_key="phx_some_other_key")

    def mock_malformed(self, respx_mock: Any) -> None:
        fake = scenario.populate(FakePostHog(respx_mock))
        fake.corrupt[("2026-03-04", scenario.BOB)] = {"event_count": "lots"}
