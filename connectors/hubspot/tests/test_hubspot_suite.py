"""The standard connector suite against the fake HubSpot portal."""
from __future__ import annotations

from typing import Any

from csconnect.testing import ConnectorSuite
from csconnect_hubspot import HubSpotConnector
from hubspot_fake import MINUTE, SETTINGS, T0, FakeHubSpot, standard


class TestHubSpot(ConnectorSuite):
    connector = HubSpotConnector
    settings = SETTINGS
    # The look-back window re-reads the last sync's newest records; they are recognised and not
    # yielded again, so no overlap is allowed for.
    incremental_overlap: dict[str, int] = {}

    def mock_api(self, respx_mock: Any) -> FakeHubSpot:
        return standard(respx_mock)

    def add_new_data(self, api: FakeHubSpot) -> dict[str, int]:
        later = T0 + 60 * MINUTE
        api.add("companies", 5004, later, name="Umbrella", domain="umbrella.example", lifecyclestage="customer")
        api.add("contacts", 7004, later, email="uma@umbrella.example", firstname="Uma", associatedcompanyid="5004")
        api.touch("deals", 8002, later, dealstage="9002")                      # the renewal is won
        api.add("tickets", 9104, later, company=5004, subject="SSO setup", hs_pipeline="0", hs_pipeline_stage="3",
                source_type="PHONE")
        api.add("feedback_submissions", 6004, later, hs_survey_type="NPS", hs_value="3", hs_contact_id="7004")
        api.add("meetings", 4003, later, company=5004, hs_meeting_title="Kickoff",
                hs_timestamp="2026-01-09T10:00:00.000Z")
        api.add("calls", 3003, later, company=5004, hs_call_title="Follow-up", hs_call_duration="60000",
                hs_timestamp="2026-01-09T11:00:00.000Z")
        return {"companies": 1, "contacts": 1, "deals": 1, "tickets": 1, "feedback_submissions": 1,
                "meetings": 1, "calls": 1}

    def mock_unauthorized(self, respx_mock: Any) -> None:
        FakeHubSpot(respx_mock, token="pat-na1-someone-else")

    def mock_malformed(self, respx_mock: Any) -> None:
        api = standard(respx_mock)
        api.objects["deals"]["8003"]["properties"]["amount"] = "n/a"
