"""The Mixpanel connector: options, authentication, data residency, pacing, errors and check()."""
from __future__ import annotations

import logging
import random
import threading
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, ClassVar, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from csconnect import ConfigError, Connector, ConnectorError, Option
from csconnect.http import RateLimiter, RetryDecision

from .aggregate import Rules
from .export import BodyBrokeOff, export_params, lines
from .streams import EventsStream, UsageStream

log = logging.getLogger("csconnect.mixpanel")

HOSTS = {"us": "https://data.mixpanel.com", "eu": "https://data-eu.mixpanel.com",
         "in": "https://data-in.mixpanel.com"}
# The raw export allows 60 queries an hour and 3 a second per project. csconnect paces both
# (the hour as a bucket of `queries_per_hour` that refills evenly) so a sync does not meet 429s.
PER_SECOND = 3.0
QUERIES_PER_HOUR = 60
# A 429 without Retry-After most likely means the hourly quota: wait a minute, then longer.
QUOTA_WAIT, QUOTA_WAIT_MAX = 60.0, 600.0
API_SECRET_RETIRES = "2027-03-03"
SERVICE_ACCOUNT_ENV = "MIXPANEL_SERVICE_ACCOUNT_SECRET"


class _Paced:
    """Two token buckets in a row: the per-second one and the hourly quota."""

    def __init__(self, *limiters: RateLimiter):
        self.limiters = limiters

    def acquire(self) -> None:
        for limiter in self.limiters:
            limiter.acquire()


def _day(connection: str, key: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"connections.{connection}.{key}: {value!r} is not a date (YYYY-MM-DD)") from None


class MixpanelConnector(Connector):
    """Mixpanel: product usage from the raw event export, aggregated per user and day."""

    name = "mixpanel"
    title = "Mixpanel"
    category = "product_analytics"
    default_base_url = HOSTS["us"]
    default_rate_limit = PER_SECOND
    auth_hint = ("check service_account_username and service_account_secret, and that the service account "
                 "is a member of project_id")
    options: ClassVar[tuple[Option, ...]] = (
        Option("project_id", int, help="the Mixpanel project id (Project Settings → Overview)", min=1),
        Option("service_account_username", str, "", "service account username (Organization Settings → "
                                                    "Service Accounts)", env="MIXPANEL_SERVICE_ACCOUNT_USERNAME"),
        Option("service_account_secret", str, None, "service account secret", secret=True, env=SERVICE_ACCOUNT_ENV),
        Option("api_secret", str, None, f"deprecated project API secret (Mixpanel retires it on "
                                        f"{API_SECRET_RETIRES}); used only without a service account",
               secret=True, env="MIXPANEL_API_SECRET"),
        Option("region", str, "us", "data residency: us, eu or in (sets base_url)", choices=("us", "eu", "in")),
        Option("project_timezone", str, "UTC", "the project's timezone, for projects created before 2023 "
                                               "(their export days are project days)"),
        Option("start_date", str, None, "first day to read, YYYY-MM-DD (default: 90 days ago)"),
        Option("end_date", str, None, "last day to read, YYYY-MM-DD (default: today in project_timezone)"),
        Option("lookback_days", int, 5, "days before the saved position that every sync reads again "
                                        "(late events: mobile SDKs queue up to 5 days)", min=0, max=60),
        Option("user_property", str, "distinct_id", "event property holding the user id (falls back to "
                                                    "distinct_id)"),
        Option("account_property", str, "company_id", "event property (a Group Analytics key) holding the "
                                                      "customer account id"),
        Option("account_id_source", str, None, "the connection or connector whose account ids the account "
                                               "property holds (e.g. \"hubspot\"), so `csconnect link` joins them"),
        Option("feature_events", list, None, "event names counted as features (default: every event whose "
                                             "name does not start with $)"),
        Option("events", list, None, "export only these event names (Mixpanel's `event` parameter)"),
        Option("where", str, None, "export only events matching this Mixpanel expression"),
        Option("session_timeout_minutes", int, 30, "minutes without events that end a session (when the "
                                                   "user's day has no $ae_session events)", min=1, max=1440),
        Option("keep_events", bool, False, "also store every raw event (an `events` stream; doubles the "
                                           "export queries)"),
        Option("timeout", float, 300.0, "seconds to wait for the export's next bytes (Mixpanel may take "
                                        "minutes to start a large day)", min=1),
        Option("queries_per_hour", int, QUERIES_PER_HOUR, "export queries per hour (Mixpanel allows 60 per "
                                                          "project)", min=1, max=3600),
    )
    # `events` joins only with keep_events = true (get_streams); the class lists what every connection has.
    streams = (UsageStream,)

    def __init__(self, connection: str, settings: Mapping[str, Any], *,
                 sleep: Callable[[float], None] = time.sleep, **kw: Any):
        super().__init__(connection, settings, sleep=sleep, **kw)
        s = self.settings
        self._real_sleep = sleep is time.sleep
        self._pace_lock = threading.Lock()
        self._quota_hits = 0
        self.auth_kind = self._check_auth()
        region = s.get("region") or "us"
        if s.get("base_url") in (None, self.default_base_url) and region != "us":
            s["base_url"] = HOSTS[region]
        try:
            self.tz = ZoneInfo(str(s.get("project_timezone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"connections.{connection}.project_timezone: unknown timezone "
                              f"{s.get('project_timezone')!r} (use a name such as UTC or America/New_York)") from None
        self.start_day = _day(connection, "start_date", s.get("start_date"))
        self.end_day = _day(connection, "end_date", s.get("end_date"))
        for key in ("user_property", "account_property"):
            if not str(s.get(key) or "").strip():
                raise ConfigError(f"connections.{connection}.{key}: must name an event property")
        features = s.get("feature_events")
        if features is not None and not all(isinstance(f, str) and f for f in features):
            raise ConfigError(f"connections.{connection}.feature_events: must be a list of event names")
        self.rules = Rules(user_property=str(s.get("user_property") or "distinct_id"),
                           account_property=str(s.get("account_property") or "company_id"),
                           feature_events=frozenset(features) if features is not None else None,
                           session_timeout=int(s.get("session_timeout_minutes") or 30) * 60)

    def _check_auth(self) -> str:
        s, where = self.settings, f"connections.{self.connection}"
        user, secret, old = s.get("service_account_username"), s.get("service_account_secret"), s.get("api_secret")
        if user and secret:
            return "service account"
        if user and not secret:
            raise ConfigError(f"{where}.service_account_secret: is required with service_account_username "
                              f"(or set the environment variable {SERVICE_ACCOUNT_ENV})")
        if secret and not user:
            raise ConfigError(f"{where}.service_account_username: is required with service_account_secret")
        if old:
            log.warning("%s: api_secret (project secret) authentication is deprecated and Mixpanel retires it "
                        "on %s; create a service account and set service_account_username and "
                        "service_account_secret", self.connection, API_SECRET_RETIRES)
            return "project secret (deprecated)"
        raise ConfigError(f"{where}: set service_account_username and service_account_secret (environment "
                          f"variable {SERVICE_ACCOUNT_ENV}); see the csconnect-mixpanel README")

    # -- HTTP ----------------------------------------------------------------------------------
    def auth(self) -> tuple[str, str]:
        s = self.settings
        if s.get("service_account_username") and s.get("service_account_secret"):
            return str(s["service_account_username"]), str(s["service_account_secret"])
        return str(s["api_secret"]), ""

    def headers(self) -> dict[str, str]:
        return {"Accept": "text/plain", "Accept-Encoding": "gzip"}

    @property
    def http(self):
        """The shared client, paced for the hourly quota as well as per second (rate_limit = 0: no pacing)."""
        client = super().http
        with self._pace_lock:
            if client.rate_limiter is not None and not isinstance(client.rate_limiter, _Paced):
                qph = int(self.settings.get("queries_per_hour") or QUERIES_PER_HOUR)
                pace = time.sleep if self._real_sleep else (lambda seconds: None)
                client.rate_limiter = _Paced(client.rate_limiter, RateLimiter(qph / 3600.0, burst=qph, sleep=pace))
        return client

    def classify(self, response: Any) -> RetryDecision | None:
        """A 429 without Retry-After waits for the hourly quota: 30-60 s, then doubling up to 10 minutes."""
        status = response.status_code
        if status == 429 and not response.headers.get("Retry-After"):
            with self._pace_lock:
                self._quota_hits += 1
                step = min(QUOTA_WAIT_MAX, QUOTA_WAIT * 2 ** (self._quota_hits - 1))
            return RetryDecision(retry=True, wait=step / 2 + random.random() * step / 2)
        if response.is_success:
            with self._pace_lock:
                self._quota_hits = 0
        return None

    def error_message(self, response: Any) -> str | None:
        """Mixpanel's `{"error": "...", "request": "..."}` -> the error text."""
        try:
            body = response.json()
        except Exception:  # not JSON, or a streamed body not read
            return None
        error = body.get("error") if isinstance(body, dict) else None
        return str(error) if error else None

    # -- days ------------------------------------------------------------------------------------
    def today(self) -> date:
        """Today in the project's timezone (export days are UTC days, or project days before 2023)."""
        return datetime.now(timezone.utc).astimezone(self.tz).date()

    def first_day(self) -> date:
        return self.start_day or self.today() - timedelta(days=90)

    def last_day(self) -> date:
        return self.end_day or self.today()

    # -- contract --------------------------------------------------------------------------------
    def check(self) -> str | None:
        yesterday = self.today() - timedelta(days=1)
        try:
            for _ in lines(self.http, export_params(self, yesterday, limit=1)):
                break
        except BodyBrokeOff as exc:
            raise ConnectorError(f"{self.connection}: the test export of {yesterday} broke off ({exc})") from None
        host = str(self.settings.get("base_url") or self.default_base_url).split("//")[-1]
        return f"project {self.settings['project_id']} on {host}, {self.auth_kind}"

    def get_streams(self) -> list:
        wanted = [UsageStream] + ([EventsStream] if self.settings.get("keep_events") else [])
        return [s(self) for s in wanted]
