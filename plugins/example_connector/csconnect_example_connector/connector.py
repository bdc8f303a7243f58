"""Feedback Board: NPS, CSAT and CES answers, and the companies that gave them.

The API (pinned to version 2024-06-01, Bearer token):

- `GET /v1/me` -> `{"workspace": {"id", "name"}}` (the cheap check);
- `GET /v1/companies?limit=&cursor=` -> `{"data": [company], "next_cursor": str | null}`;
- `GET /v1/responses?limit=&cursor=&updated_since=` -> the same envelope, oldest update first;
  `updated_since` is inclusive (answers updated at or after it).

Errors come as `{"error": {"message": "..."}}`. The `companies` stream is read whole every
sync (companies are few and change in place); `responses` is incremental on `updated_at`.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from csconnect import ConfigError, Connector, Option, Page, Row, Stream, utc_timestamp
from csconnect.http import CursorPaginator

API_VERSION = "2024-06-01"
# The scale and polarity of each kind of survey when the API leaves them out.
SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
ATTRIBUTES = ("segment", "plan", "seats", "country", "industry")


def next_cursor() -> CursorPaginator:
    """Feedback Board pagination: send `cursor`, read the next one from `next_cursor`."""
    return CursorPaginator("cursor", cursor="next_cursor")


class Companies(Stream):
    """Every company; a full read each sync."""

    name = "companies"
    tables = ("source_accounts",)

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        params = {"limit": self.connector.settings["page_size"]}
        for page in self.connector.http.paginate("/v1/companies", next_cursor(), params=params, start=state):
            # page.state is {"cursor": ...} until the last page: a crash resumes from the next page.
            yield Page(page.records, page.state)

    def normalize(self, record: dict[str, Any]) -> Iterable[Row]:
        yield "source_accounts", {
            "source_id": record["id"],
            "source_account_id": record["id"],
            "name": record.get("name"),
            "domain": record.get("domain"),
            "created_at": record.get("created_at"),
            "attributes": {k: record[k] for k in ATTRIBUTES if record.get(k) not in (None, "")},
        }


class Responses(Stream):
    """Survey answers, incremental on `updated_at` (an edited comment or score is read again)."""

    name = "responses"
    incremental = True
    cursor_field = "updated_at"
    tables = ("survey_responses", "contacts")

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        # State: {"updated_since"} between syncs; {"updated_since", "cursor", "newest"} inside one.
        state = state or {}
        since = state.get("updated_since") or self.connector.start_date
        newest = state.get("newest") or since
        params = {"limit": self.connector.settings["page_size"]}
        if since:
            params["updated_since"] = since
        start = {"cursor": state["cursor"]} if state.get("cursor") else None
        for page in self.connector.http.paginate("/v1/responses", next_cursor(), params=params, start=start):
            for record in page.records:
                newest = max(filter(None, (newest, _timestamp(record.get("updated_at")))), default=None)
            if page.state:      # more pages: resume here, keep asking from the same point
                after = {"updated_since": since, "cursor": page.state["cursor"], "newest": newest}
            else:               # done: next sync asks for what changed since the newest answer seen
                after = {"updated_since": newest}
            yield Page(page.records, {k: v for k, v in after.items() if v})

    def normalize(self, record: dict[str, Any]) -> Iterable[Row]:
        survey = record.get("survey") or {}
        kind = survey.get("kind") or "other"
        low, high = SCALES.get(kind, (None, None))
        person = record.get("respondent") or {}
        company = record.get("company_id")
        yield "survey_responses", {
            "source_id": record["id"],
            "source_account_id": company,
            "kind": kind,                    # an unknown kind becomes `other`, kept in source_type
            "score": record.get("score"),    # a score that is not a number rejects the record
            "scale_min": survey.get("scale_min", low),
            "scale_max": survey.get("scale_max", high),
            "polarity": "higher_better",
            "comment": record.get("comment"),
            "contact_id": self.ref(person.get("id")),
            "channel": record.get("channel"),
            "responded_at": record.get("answered_at"),
        }
        if person.get("id"):
            yield "contacts", {
                "source_id": person["id"],
                "source_account_id": company,
                "email": person.get("email"),
                "name": person.get("name"),
            }


class ExampleConnector(Connector):
    """Feedback Board (an example survey tool): the connector a plugin author starts from."""

    name = "example_connector"
    title = "Feedback Board (example connector)"
    category = "survey"
    default_base_url = "https://api.feedbackboard.example"
    default_rate_limit = 5.0
    auth_hint = "check api_token (Feedback Board: Settings > API tokens)"
    options = (
        Option("api_token", str, help="Feedback Board API token", secret=True, env="EXAMPLE_CONNECTOR_TOKEN"),
        Option("start_date", str, None, "first sync: only answers updated on or after this date (YYYY-MM-DD)"),
        Option("page_size", int, 100, "records per request (the API allows 1 to 100)", min=1, max=100),
    )
    streams = (Companies, Responses)

    def __init__(self, connection: str, settings: Any, **kw: Any):
        super().__init__(connection, settings, **kw)
        self.settings.setdefault("page_size", 100)
        start = self.settings.get("start_date")
        self.start_date = _timestamp(start)
        if start and self.start_date is None:   # types and bounds are checked by csconnect; this is ours
            raise ConfigError(f"connections.{connection}.start_date: not a date (YYYY-MM-DD): {start!r}")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings['api_token']}", "FeedbackBoard-Version": API_VERSION,
                "Accept": "application/json"}

    def error_message(self, response: Any) -> str | None:
        try:
            return response.json()["error"]["message"]
        except Exception:
            return None

    def check(self) -> str | None:
        workspace = (self.http.get_json("/v1/me") or {}).get("workspace") or {}
        return f"workspace {workspace['name']}" if workspace.get("name") else None


def _timestamp(value: Any) -> str | None:
    try:
        return utc_timestamp(value)
    except ValueError:
        return None
