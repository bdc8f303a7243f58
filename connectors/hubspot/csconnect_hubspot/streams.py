"""HubSpot streams: CRM objects read incrementally through search, plus the owners list.

Each page of search results is enriched before it is yielded (see normalize.py for the
`_csconnect` key): the associated company through a v4 associations batch read (one request
per page), the owner's email, and for deals and tickets their pipeline and stage.

Deletions: search never returns archived (deleted) records, so after the search each sync
lists the object's archived records (`GET /crm/v3/objects/{type}?archived=true`, which HubSpot
keeps for 90 days) and yields those archived since the last pass; and a record that absorbed
others in a merge names them in `hs_merged_object_ids`. Both become tombstones: the raw row
is replaced by the archived record (or `{"id", "archived": true, "_csconnect": {"merged_into"}}`)
and `normalize` yields `Delete` for it, so `csconnect normalize` cannot bring it back.
"""
from __future__ import annotations

from functools import partial
from typing import Any, ClassVar, Iterable, Iterator

from csconnect import Delete, Page, Row, Stream
from csconnect.http import CursorPaginator

from . import normalize as nz
from .search import ChangeReader
from .values import millis, prop


def primary_company(targets: list[dict] | None) -> str | None:
    """The company of a v4 association list: the one labelled Primary, else the first."""
    if not targets:
        return None
    for target in targets:
        for kind in target.get("associationTypes") or []:
            if str((kind or {}).get("label") or "").lower() == "primary":
                return str(target.get("toObjectId"))
    return str(targets[0].get("toObjectId"))


class SearchStream(Stream):
    """A CRM object type read through `POST /crm/v3/objects/{type}/search` (see search.py)."""

    object_type: ClassVar[str]
    modified: ClassVar[str] = "hs_lastmodifieddate"
    properties: ClassVar[tuple[str, ...]] = ()
    company_property: ClassVar[str | None] = None     # a property already naming the primary company
    associate_companies: ClassVar[bool] = True        # read v4 associations to companies
    pipeline_type: ClassVar[str | None] = None        # "deals" / "tickets": map pipeline stages
    pipeline_property: ClassVar[str] = "hs_pipeline"
    stage_property: ClassVar[str] = "hs_pipeline_stage"
    mergeable: ClassVar[bool] = False                 # records may absorb others (hs_merged_object_ids)
    primary_key = "id"
    incremental = True
    cursor_field = "updatedAt"

    def search_properties(self) -> list[str]:
        return list(self.properties) + (["hs_merged_object_ids"] if self.mergeable else [])

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        """The changes (search), then the deletions (archived list); see the module docstring."""
        c = self.connector
        c.lookups.load_account()      # once per sync: the time zone and currency (and when quotas reset)
        state = dict(state or {})
        archive = state.pop("archive", None)
        if not isinstance(archive, dict):                   # not resuming a crashed deletion pass
            keep = {"archived_after": state["archived_after"]} if "archived_after" in state else {}
            reader = ChangeReader(partial(c.search, self.object_type), self.modified, self.search_properties(),
                                  c.lookback_ms, what=f"{c.connection}.{self.name}")
            for records, after in reader.pages(state):
                good = [r for r in records if isinstance(r, dict) and r.get("id") not in (None, "")]
                self.enrich(good)
                state = {**after, **keep}
                yield Page(records + self.merged_away(good), state)
            archive = {}
        if c.settings.get("read_deletions", True):
            yield from self.deletions(state, archive)

    def deletions(self, state: dict[str, Any], archive: dict[str, Any]) -> Iterator[Page]:
        """Records archived since the last pass (none on the first: there is nothing to delete yet)."""
        since = state.get("archived_after")
        newest = archive.get("newest", since)
        start = {"cursor": archive["cursor"]} if archive.get("cursor") else None
        params = {"archived": "true", "limit": 100, "properties": self.modified}
        for page in self.connector.http.paginate(f"/crm/v3/objects/{self.object_type}", _after(), params=params,
                                                 records="results", start=start):
            gone = []
            for r in page.records:
                at = _millis(r.get("archivedAt")) if isinstance(r, dict) else None
                if at is None:
                    continue
                if since is not None and at > since:
                    gone.append(r)
                newest = at if newest is None else max(newest, at)
            if page.state:
                after = {**state, "archive": {"cursor": page.state["cursor"], "newest": newest}}
            else:                                           # 0: a pass has run, there was nothing yet
                after = {**state, "archived_after": newest if newest is not None else 0}
            yield Page(gone, after)

    def merged_away(self, records: list[dict]) -> list[dict]:
        """Tombstones for the records merged into these (their ids are gone from HubSpot)."""
        out = []
        for r in records if self.mergeable else ():
            for merged in (prop(r, "hs_merged_object_ids") or "").split(";"):
                if merged.strip() and merged.strip() != str(r["id"]):
                    out.append({"id": merged.strip(), "archived": True, "archivedAt": r.get("updatedAt"),
                                "_csconnect": {"merged_into": str(r["id"])}})
        return out

    def normalize(self, record: dict) -> Iterable[Any]:
        if record.get("archived"):
            return [Delete(table, record["id"]) for table in self.tables]
        return self.rows(record)

    def rows(self, record: dict) -> Iterable[Row]:
        return ()

    def enrich(self, records: list[dict]) -> None:
        companies = self.company_ids(records) if records else {}
        for r in records:
            ctx: dict[str, Any] = {"company_id": companies.get(str(r["id"]))}
            owner = prop(r, "hubspot_owner_id")
            if owner:
                ctx["owner"] = self.connector.lookups.owner_name(owner)
            if self.pipeline_type:
                ctx.update(self.stage_of(r))
            ctx.update(self.more_context(r))
            r["_csconnect"] = {k: v for k, v in ctx.items() if v is not None}

    def company_ids(self, records: list[dict]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        missing = []
        for r in records:
            given = prop(r, self.company_property) if self.company_property else None
            out[str(r["id"])] = given
            if not given:
                missing.append(str(r["id"]))
        if missing and self.associate_companies:
            found = self.connector.companies_of(self.object_type, missing)
            out.update({rid: primary_company(found.get(rid)) for rid in missing})
        return out

    def stage_of(self, r: dict) -> dict[str, Any]:
        pipelines = self.connector.lookups.pipelines(self.pipeline_type)
        pid, sid = prop(r, self.pipeline_property), prop(r, self.stage_property)
        pipeline = pipelines.get(pid or "") or {}
        stage = (pipeline.get("stages") or {}).get(sid or "")
        if stage is None and not pid:          # no pipeline given: the stage id is unique enough
            stage = next((p["stages"][sid] for p in pipelines.values() if sid in p["stages"]), None)
        out: dict[str, Any] = {"pipeline": {"id": pid, "label": pipeline.get("label")} if pid else None}
        if stage:
            out["stage"] = {"id": sid, "label": stage.get("label"), "metadata": stage.get("metadata") or {}}
        return out

    def more_context(self, r: dict) -> dict[str, Any]:
        return {}


class Companies(SearchStream):
    name = "companies"
    object_type = "companies"
    mergeable = True
    tables = ("source_accounts",)
    associate_companies = False
    properties = ("name", "domain", "website", "industry", "country", "lifecyclestage", "hubspot_owner_id",
                  "type", "numberofemployees", "createdate")

    def search_properties(self) -> list[str]:
        s = self.connector.settings
        extra = [s["segment_property"]] if s.get("segment_property") else []
        return super().search_properties() + extra + list(s.get("external_id_properties") or {})

    def enrich(self, records: list[dict]) -> None:
        super().enrich(records)
        for r in records:
            r["_csconnect"].pop("company_id", None)

    def rows(self, record: dict) -> Iterable[Row]:
        return nz.company(self.connector, record)


class Contacts(SearchStream):
    name = "contacts"
    object_type = "contacts"
    modified = "lastmodifieddate"
    mergeable = True
    tables = ("contacts",)
    company_property = "associatedcompanyid"
    properties = ("email", "firstname", "lastname", "jobtitle", "associatedcompanyid", "createdate")

    def rows(self, record: dict) -> Iterable[Row]:
        return nz.contact(self.connector, record)


class Deals(SearchStream):
    name = "deals"
    object_type = "deals"
    mergeable = True
    tables = ("deals",)
    pipeline_type = "deals"
    pipeline_property = "pipeline"
    stage_property = "dealstage"
    properties = ("dealname", "amount", "deal_currency_code", "dealstage", "pipeline", "closedate", "createdate",
                  "hubspot_owner_id", "hs_is_closed", "hs_is_closed_won")

    def search_properties(self) -> list[str]:
        return super().search_properties() + [self.connector.settings.get("deal_type_property") or "dealtype"]

    def more_context(self, r: dict) -> dict[str, Any]:
        account = self.connector.lookups.load_account()
        currency = self.connector.settings.get("default_currency") or account.get("companyCurrency")
        return {"currency": currency, "time_zone": account.get("timeZone")}

    def rows(self, record: dict) -> Iterable[Row]:
        return nz.deal(self.connector, record)


class Tickets(SearchStream):
    name = "tickets"
    object_type = "tickets"
    mergeable = True
    tables = ("tickets",)
    pipeline_type = "tickets"
    properties = ("subject", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority", "hs_ticket_category",
                  "source_type", "createdate", "closed_date", "first_agent_reply_date",
                  "hs_first_agent_reply_date", "time_to_first_agent_reply", "time_to_close", "hubspot_owner_id")

    def rows(self, record: dict) -> Iterable[Row]:
        return nz.ticket(self.connector, record)


class FeedbackSubmissions(SearchStream):
    """Survey answers (NPS, CSAT, CES); their company is the one of the contact who answered."""

    name = "feedback_submissions"
    object_type = "feedback_submissions"
    tables = ("survey_responses",)
    properties = ("hs_survey_type", "hs_survey_name", "hs_survey_id", "hs_value", "hs_response_value",
                  "hs_response_group", "hs_content", "hs_survey_channel", "hs_submission_timestamp",
                  "hs_contact_id", "hs_ticket_id", "hs_sentiment", "hs_createdate")

    def company_ids(self, records: list[dict]) -> dict[str, str | None]:
        contact_of = {str(r["id"]): prop(r, "hs_contact_id") for r in records}
        wanted = [c for c in contact_of.values() if c]
        found = self.connector.companies_of("contacts", wanted) if wanted else {}
        return {rid: primary_company(found.get(cid)) if cid else None for rid, cid in contact_of.items()}

    def rows(self, record: dict) -> Iterable[Row]:
        return nz.survey_response(self.connector, record)


class Meetings(SearchStream):
    name = "meetings"
    object_type = "meetings"
    tables = ("activities",)
    properties = ("hs_meeting_title", "hs_meeting_start_time", "hs_meeting_end_time", "hs_meeting_outcome",
                  "hs_activity_type", "hs_timestamp", "hubspot_owner_id", "hs_createdate")

    def rows(self, record: dict) -> Iterable[Row]:
        return nz.meeting(self.connector, record)


class Calls(SearchStream):
    name = "calls"
    object_type = "calls"
    tables = ("activities",)
    properties = ("hs_call_title", "hs_call_duration", "hs_call_direction", "hs_call_status",
                  "hs_call_disposition", "hs_timestamp", "hubspot_owner_id", "hs_createdate")

    def rows(self, record: dict) -> Iterable[Row]:
        return nz.call(self.connector, record)


class Owners(Stream):
    """Every owner, active and deactivated (raw only: deals, tickets and companies name them)."""

    name = "owners"
    primary_key = "id"
    tables = ()

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        phases = ["false", "true"]
        begin = state.get("archived") if state.get("archived") in phases else "false"
        for archived in phases[phases.index(begin):]:
            start = {"cursor": state["cursor"]} if archived == begin and state.get("cursor") else None
            for page in self.connector.owner_pages(archived, start):
                if page.state:
                    after: dict | None = {"archived": archived, **page.state}
                else:
                    after = {"archived": "true"} if archived == "false" else None
                yield Page(page.records, after)


STREAMS = (Companies, Contacts, Deals, Tickets, FeedbackSubmissions, Meetings, Calls, Owners)


def _after() -> CursorPaginator:
    return CursorPaginator("after", cursor="paging.next.after")


def _millis(value: Any) -> int | None:
    try:
        return millis(value)
    except ValueError:
        return None
