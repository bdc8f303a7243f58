"""The HubSpot connector: options, the private-app token, rate limits, errors and shared lookups."""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Mapping

from csconnect import AuthError, ConfigError, Connector, HttpError, Option
from csconnect.http import CursorPaginator, RateLimiter, RetryDecision, parse_retry_after

from .streams import STREAMS

log = logging.getLogger("csconnect.hubspot")

# Private apps may send 100 requests per 10 s (Free/Starter) or 190 (Professional/Enterprise),
# per app. 9/s with a burst of 9 stays under 100 in any 10-second window on every tier; raise it
# to 18 on Professional/Enterprise. The search endpoints have their own limit of 5 requests per
# second per account (all apps together, and they send no rate-limit headers): 4/s leaves room.
DEFAULT_RATE_LIMIT = 9.0
DEFAULT_SEARCH_RATE_LIMIT = 4.0
TEN_SECONDS = 10.0
READ_SCOPES = ("crm.objects.companies.read", "crm.objects.contacts.read", "crm.objects.deals.read",
               "crm.objects.owners.read", "tickets", "crm.objects.feedback_submissions.read")
KINDS = ("new_business", "renewal", "expansion", "other")
# HubSpot's default `dealtype` values, plus the words portals commonly add; `deal_types` extends it.
DEAL_TYPES = {"newbusiness": "new_business", "new_business": "new_business", "new": "new_business",
              "existingbusiness": "expansion", "expansion": "expansion", "upsell": "expansion",
              "cross_sell": "expansion", "renewal": "renewal", "renewals": "renewal"}


class Lookups:
    """Owners, pipelines and account details: read once per sync, shared by the streams."""

    def __init__(self, connector: "HubSpotConnector"):
        self.connector = connector
        self._lock = threading.Lock()
        self._owners: dict[str, dict] | None = None
        self._pipelines: dict[str, dict[str, dict]] = {}
        self.account: dict[str, Any] = {}
        self._account_read = False

    def owner_name(self, owner_id: Any) -> str | None:
        """An owner id -> the owner's email (else their name, else the id itself)."""
        key = str(owner_id or "").strip()
        if not key:
            return None
        with self._lock:
            if self._owners is None:
                self._owners = self._read_owners()
            owner = self._owners.get(key)
        if not owner:
            return key
        name = " ".join(p for p in (owner.get("firstName"), owner.get("lastName")) if p)
        return owner.get("email") or name or key

    def pipelines(self, object_type: str) -> dict[str, dict]:
        """Pipeline id -> {"id", "label", "stages": {stage id -> stage}} for deals or tickets."""
        with self._lock:
            if object_type not in self._pipelines:
                self._pipelines[object_type] = self._read_pipelines(object_type)
            return self._pipelines[object_type]

    def load_account(self) -> dict[str, Any]:
        """The portal's details (id, time zone, company currency); {} when unreadable."""
        with self._lock:
            if not self.account and not self._account_read:
                self._account_read = True
                try:
                    body = self.connector.http.get_json("/account-info/v3/details")
                    self.account = body if isinstance(body, dict) else {}
                except (AuthError, HttpError) as exc:
                    if not _lasting(exc):
                        raise
                    log.warning("%s: account details unreadable (%s)", self.connector.connection, exc)
            return self.account

    def _read_owners(self) -> dict[str, dict]:
        owners: dict[str, dict] = {}
        try:
            for archived in ("false", "true"):     # deals keep the owner who left
                for page in self.connector.owner_pages(archived):
                    owners.update({str(o.get("id")): o for o in page.records if isinstance(o, dict)})
        except (AuthError, HttpError) as exc:
            if not _lasting(exc):
                raise
            log.warning("%s: owners unreadable, owner ids are kept instead of emails (%s)",
                        self.connector.connection, exc)
        return owners

    def _read_pipelines(self, object_type: str) -> dict[str, dict]:
        try:
            body = self.connector.http.get_json(f"/crm/v3/pipelines/{object_type}")
        except (AuthError, HttpError) as exc:
            if not _lasting(exc):
                raise
            log.warning("%s: %s pipelines unreadable, stages stay unmapped (%s)",
                        self.connector.connection, object_type, exc)
            return {}
        out = {}
        for p in (body or {}).get("results") or []:
            if isinstance(p, dict) and p.get("id") is not None:
                stages = {str(s.get("id")): s for s in p.get("stages") or [] if isinstance(s, dict)}
                out[str(p["id"])] = {"id": str(p["id"]), "label": p.get("label"), "stages": stages}
        return out


class HubSpotConnector(Connector):
    """HubSpot CRM and Service Hub through a private-app token."""

    name = "hubspot"
    title = "HubSpot"
    category = "crm"
    default_base_url = "https://api.hubapi.com"
    default_rate_limit = DEFAULT_RATE_LIMIT
    auth_hint = "check token (a HubSpot private-app access token, pat-…)"
    options: ClassVar[tuple[Option, ...]] = (
        Option("token", str, help="private-app access token (pat-…) with read scopes for companies, contacts, "
                                  "deals, owners, tickets and feedback submissions", secret=True, env="HUBSPOT_TOKEN"),
        Option("search_rate_limit", float, DEFAULT_SEARCH_RATE_LIMIT,
               "search requests per second (HubSpot allows 5 per account; 0 = no extra limit)", min=0),
        Option("lookback_minutes", int, 10, "re-read changes this far before the last sync's newest "
                                            "(search results lag writes by a few moments)", min=0),
        Option("renewal_pipelines", list, [], "deal pipelines (ids or labels) whose deals are renewals"),
        Option("expansion_pipelines", list, [], "deal pipelines (ids or labels) whose deals are expansions"),
        Option("deal_type_property", str, "dealtype", "deal property that says new business, renewal or expansion"),
        Option("deal_types", dict, {}, "its values -> kind (new_business, renewal, expansion, other), added to "
                                       "newbusiness = new_business, existingbusiness = expansion, renewal = renewal"),
        Option("default_currency", str, None, "currency of deals without deal_currency_code "
                                              "(default: the account's company currency)"),
        Option("segment_property", str, None, "company property holding the customer segment (e.g. tier)"),
        Option("external_id_properties", dict, {}, "company properties holding another system's id, e.g. "
                                                   "{ stripe_customer_id = \"stripe\" }"),
        Option("read_deletions", bool, True, "each sync, list archived records and delete their rows "
                                             "(HubSpot keeps them 90 days; merged-away records always go)"),
        Option("skip_streams", list, [], "streams not to sync (e.g. [\"tickets\"] without Service Hub)"),
    )
    streams = STREAMS

    def __init__(self, connection: str, settings: Mapping[str, Any], **kw: Any):
        super().__init__(connection, settings, **kw)
        key = f"connections.{connection}"
        s = self.settings
        known = {st.name for st in STREAMS}
        unknown = [n for n in s.get("skip_streams") or [] if not isinstance(n, str) or n not in known]
        if unknown:
            raise ConfigError(f"{key}.skip_streams: no stream named {', '.join(map(str, unknown))} "
                              f"(streams: {', '.join(sorted(known))})")
        self.deal_types = {**DEAL_TYPES, **{str(k).strip().lower(): str(v) for k, v in
                                            (s.get("deal_types") or {}).items()}}
        bad = sorted({v for v in self.deal_types.values() if v not in KINDS})
        if bad:
            raise ConfigError(f"{key}.deal_types: kinds must be {', '.join(KINDS)}, got {', '.join(bad)}")
        self.renewal_pipelines = {str(p).strip().lower() for p in s.get("renewal_pipelines") or []}
        self.expansion_pipelines = {str(p).strip().lower() for p in s.get("expansion_pipelines") or []}
        self.lookback_ms = max(0, int(s.get("lookback_minutes", 10))) * 60_000
        search_rate = float(s.get("search_rate_limit") or 0)
        # Like the core's limiter: real pacing only when the connector really sleeps (not in tests).
        pace = time.sleep if self._sleep is time.sleep else (lambda seconds: None)
        self.search_limiter = RateLimiter(search_rate, burst=1, sleep=pace) if search_rate > 0 else None
        self.lookups = Lookups(self)
        self._errors = threading.local()

    def get_streams(self) -> list:
        skip = set(self.settings.get("skip_streams") or [])
        return [s(self) for s in self.streams if s.name not in skip]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings['token']}", "Accept": "application/json"}

    # -- requests the streams share ----------------------------------------------------------
    def search(self, object_type: str, body: dict[str, Any]) -> Any:
        """One CRM search request, paced by the account-wide search limit."""
        if self.search_limiter is not None:
            self.search_limiter.acquire()
        return self.http.post_json(f"/crm/v3/objects/{object_type}/search", json=body)

    def owner_pages(self, archived: str = "false", start: dict | None = None):
        """Pages of `GET /crm/v3/owners` (active or deactivated owners), 100 at a time."""
        return self.http.paginate("/crm/v3/owners", CursorPaginator("after", cursor="paging.next.after"),
                                  params={"limit": 100, "archived": archived}, records="results", start=start)

    def companies_of(self, object_type: str, ids: list[str]) -> dict[str, list[dict]]:
        """Object id -> its associated companies (v4 `to` entries), by batch reads of 1,000 ids."""
        out: dict[str, list[dict]] = {}
        unique = list(dict.fromkeys(str(i) for i in ids if i not in (None, "")))
        for start in range(0, len(unique), 1000):
            chunk = unique[start:start + 1000]
            body = self.http.post_json(f"/crm/v4/associations/{object_type}/companies/batch/read",
                                       json={"inputs": [{"id": i} for i in chunk]})
            for result in (body or {}).get("results") or []:
                source = (result.get("from") or {}).get("id") if isinstance(result, dict) else None
                if source is not None:
                    out.setdefault(str(source), []).extend(t for t in result.get("to") or [] if isinstance(t, dict))
        return out

    # -- errors and retries ------------------------------------------------------------------
    def classify(self, response: Any) -> RetryDecision | None:
        """429: the daily quota stops the sync; burst limits wait (Retry-After, else the window)."""
        if response.status_code != 429:
            return None
        body = _body(response)
        policy = str(body.get("policyName") or "").upper()
        if policy == "DAILY" or "daily limit" in str(body.get("message") or "").lower():
            return RetryDecision(retry=False, message=self.daily_message(response))
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None:
            interval = _number(response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
            wait = interval / 1000 if interval else (1.0 if policy == "SECONDLY" else TEN_SECONDS)
        return RetryDecision(retry=True, wait=wait)

    def daily_message(self, response: Any, now: datetime | None = None) -> str:
        limit = response.headers.get("X-HubSpot-RateLimit-Daily")
        quota = f" of {int(limit):,} requests" if str(limit or "").isdigit() else ""
        when = "at midnight in the HubSpot account's time zone"
        zone = self.lookups.account.get("timeZone")
        if zone:
            try:
                from zoneinfo import ZoneInfo
                local = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone))
                midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
                hours, rest = divmod(int((midnight - local).total_seconds()), 3600)
                reset = midnight.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                when = f"at midnight {zone} ({reset}, in {hours} h {rest // 60} min)"
            except Exception:  # an unknown zone or no tz database: say it in words
                pass
        return (f"the daily API quota{quota} of this HubSpot account is spent; it resets {when}. "
                "Sync again after that")

    def error_message(self, response: Any) -> str | None:
        """`{"status":"error","message","correlationId","category"}` -> "message (category) [correlation …]"."""
        body = _body(response)
        message = str(body.get("message") or "").strip()
        if not message:
            return None
        category = body.get("category") or body.get("errorType")
        scopes = _required_scopes(body)
        text = message + (f" ({category})" if category and str(category) not in message else "")
        if scopes:   # first: the message is long and errors are cut to 200 characters
            text = f"the token lacks the scope {' or '.join(scopes)}: {text}"
        if body.get("correlationId"):
            text += f" [correlationId {body['correlationId']}]"
        self._errors.last = (response.status_code, text)
        return text

    def check(self) -> str | None:
        self._errors.last = None
        try:
            details = self.http.get_json("/account-info/v3/details")
        except AuthError as exc:
            last = getattr(self._errors, "last", None)
            code = exc.status_code or (last[0] if last else 401)
            said = (last[1] if last else "no reason given").split(" [correlationId")[0]
            hint = ("create a private app (Settings > Integrations > Private apps) and use its access token"
                    if code == 401 else f"give the private app the scopes {', '.join(READ_SCOPES)}")
            raise AuthError(f"{self.connection}: the HubSpot token was rejected ({code}): {said}; {hint}") from None
        if isinstance(details, dict):
            self.lookups.account = details
            return (f"portal {details.get('portalId')} ({details.get('accountType', '?')}, "
                    f"{details.get('timeZone', '?')}, {details.get('companyCurrency', '?')})")
        return None


def _lasting(exc: Exception) -> bool:
    """A lookup refused for good (a scope the token lacks, a 404): go on without it.

    Anything else (a quota, a timeout) fails the stream, so that no record is saved with a
    half-resolved lookup that a later incremental sync would never revisit.
    """
    return isinstance(exc, AuthError) or getattr(exc, "status_code", None) == 404


def _body(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _required_scopes(body: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for err in body.get("errors") or []:
        context = err.get("context") if isinstance(err, dict) else None
        for key in ("requiredGranularScopes", "requiredScopes"):
            for scope in (context or {}).get(key) or []:
                if scope not in found:
                    found.append(str(scope))
    return found


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
