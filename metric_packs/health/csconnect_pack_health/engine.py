"""Scores at many instants, set-based: population × instants in chunks, one row per (instant, account).

Per chunk of instants:
1. `h_pop`: the accounts scored at each instant (customers, or every account);
2. `h_raw`: one row per (instant, account) with the numbers each input needs, looked up through
   indexes (correlated subqueries on small temp tables and on account_metrics' primary key);
   driver details only for the as-of instant;
3. `h_sc`: each input's raw value and 0-100 score (the profile's rule, as SQL);
4. `h_tot`: the overall score (rounded to 2 decimals) and band;
then the chunk's history rows, month-end scores, and the as-of and trend rows are kept.
Chunks hold about CHUNK_ROWS rows, so memory does not grow with history or account count.
"""
from __future__ import annotations

from typing import Any

from .catalogue import INPUTS
from .combine import band_sql, by_profile, capped_sql
from .settings import Settings
from .sources import Instant

CHUNK_ROWS = 150_000
NAMES = [i.name for i in INPUTS]
CHUNK_TABLES = ("h_pop", "h_raw", "h_peer", "h_peer_all", "h_sc", "h_tot")
KEEP_TABLES = ("h_month", "h_prev", "h_now")


def _now(expr: str) -> str:
    return f"CASE WHEN t.is_now THEN {expr} END"


_WIN = "WHERE x.account_id = p.account_id AND x.ts > t.win_ts AND x.ts <= t.ts"
_DUE = ("FROM temp.h_inv i WHERE i.account_id = p.account_id AND i.created <= t.due_ts "
        "AND (i.paid IS NULL OR i.paid > t.ts)")
_NPS = ("FROM temp.h_nps n WHERE n.account_id = p.account_id AND n.ts <= t.ts AND n.ts > t.nps_lo "
        "ORDER BY n.ts DESC LIMIT 1")
_CSAT = "FROM temp.h_mon c WHERE c.account_id = p.account_id AND c.month BETWEEN t.m_csat_lo AND t.m_now"
_LAST_TOUCH = ("(SELECT c.ts FROM temp.h_touch c WHERE c.account_id = p.account_id AND c.ts <= t.ts "
               "ORDER BY c.ts DESC LIMIT 1)")
_UT = "(SELECT u.value FROM temp.h_ut u WHERE u.account_id = p.account_id AND u.grain = '{}' AND u.period = t.{})"

# (column, SQL): what h_raw holds per (instant, account); md/mt are the account's h_mon rows of the
# latest complete month and of the MRR trend's earlier month. Columns wrapped in _now are driver details.
RAW_COLUMNS: list[tuple[str, str]] = [
    ("su", "md.su"),
    ("su_mau", _now("md.mau")),
    ("su_seats", _now("md.seats")),
    ("ut", f"CASE WHEN t.is_now AND EXISTS (SELECT 1 FROM temp.h_ut u WHERE u.account_id = p.account_id "
           f"AND u.grain = 'day' AND u.period = t.day) THEN {_UT.format('day', 'day')} "
           f"ELSE {_UT.format('week', 'w_key')} END"),
    ("fb_n", "CASE WHEN a.f_first <= t.dn THEN (SELECT f.n FROM temp.h_fc f WHERE f.account_id = p.account_id "
             "AND f.dn <= t.dn ORDER BY f.dn DESC LIMIT 1) END"),
    ("cs", f"(SELECT AVG(c.csat) {_CSAT})"),
    ("cs_n", _now(f"(SELECT COUNT(c.csat) {_CSAT})")),
    ("oe", "CASE WHEN t.has_tickets THEN (SELECT COUNT(*) FROM temp.h_esc e WHERE e.account_id = p.account_id "
           "AND e.opened <= t.ts AND (e.closed IS NULL OR e.closed > t.ts)) END"),
    ("tv_n", f"CASE WHEN t.has_tickets THEN (SELECT COUNT(*) FROM temp.h_tk x {_WIN}) END"),
    ("tv_seats", "COALESCE(md.seats, a.seats)"),
    ("ro_n", f"CASE WHEN t.has_tickets THEN (SELECT COUNT(*) FROM temp.h_sv x {_WIN}) END"),
    ("ro_k", f"CASE WHEN t.has_tickets THEN (SELECT TOTAL(x.reopened) FROM temp.h_sv x {_WIN}) END"),
    ("mr_now", "CASE WHEN t.is_now THEN (SELECT n.mrr FROM temp.h_mon n WHERE n.account_id = p.account_id "
               "AND n.month = t.m_now) ELSE md.mrr END"),
    ("mr_then", "mt.mrr"),
    ("pd_days", "CASE WHEN a.inv_first <= t.ts THEN COALESCE((SELECT julianday(t.due_ts) - julianday(MIN(i.created)) "
                f"{_DUE}), 0) END"),
    ("pd_n", _now(f"(SELECT COUNT(*) {_DUE})")),
    ("np", f"(SELECT n.score {_NPS})"),
    ("np_ts", _now(f"(SELECT n.ts {_NPS})")),
    ("tc_days", "CASE WHEN t.has_touch THEN MAX(0.0, julianday(t.ts) - julianday(COALESCE("
                f"{_LAST_TOUCH}, a.created))) END"),
    ("tc_ts", _now(_LAST_TOUCH)),
]

# Raw value of each input from an h_raw row joined with its instant and peers (alias x).
RAW: dict[str, str] = {
    "seat_utilisation": "x.su",
    "usage_trend": "x.ut",
    "feature_breadth": "(CASE WHEN x.n_feat > 0 AND x.fb_n IS NOT NULL THEN x.fb_n * 1.0 / x.n_feat END)",
    "csat": "x.cs",
    "open_escalations": "x.oe",
    "ticket_volume": "(CASE WHEN x.tv_n IS NULL OR COALESCE(x.tv_seats, 0) <= 0 THEN NULL WHEN x.tv_n = 0 "
                     "THEN 0.0 ELSE (x.tv_n * 1.0 / x.tv_seats) / x.tv_peer END)",
    "reopen_rate": "(CASE WHEN x.ro_n > 0 THEN x.ro_k * 1.0 / x.ro_n END)",
    "mrr_trend": "(CASE WHEN x.mr_then > 0 THEN COALESCE(x.mr_now, 0) * 1.0 / x.mr_then - 1 END)",
    "payment_status": "x.pd_days",
    "nps_category": "x.np",
    "days_since_touch": "x.tc_days",
}
assert set(RAW) == set(NAMES)
DETAILS = [c for c, sql in RAW_COLUMNS if sql.startswith("CASE WHEN t.is_now THEN")] + ["n_feat", "tv_n", "tv_seats",
                                                                                       "ro_n", "ro_k", "mr_now",
                                                                                       "mr_then", "fb_n",
                                                                                       "tv_peer", "tv_group"]


class Engine:
    """Runs the chunks for a list of instants and keeps what the pack writes afterwards."""

    def __init__(self, ctx: Any, settings: Settings, customers: bool):
        self.ctx, self.db, self.settings, self.customers = ctx, ctx.db, settings, customers
        profiles = settings.all_profiles
        self.score_sql = {n: by_profile(profiles, lambda p, n=n: p.rules[n].sql(RAW[n])) for n in NAMES}
        self.total_sql = by_profile(profiles, capped_sql)
        self.band_sql = by_profile(profiles, lambda p: band_sql(p, "score"))

    def drop(self) -> None:
        for t in CHUNK_TABLES + KEEP_TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS temp.{t}")

    def run(self, points: list[Instant], accounts: int) -> None:
        db = self.db
        db.execute("CREATE TEMP TABLE h_month (month TEXT NOT NULL, account_id TEXT NOT NULL, score REAL, band TEXT)")
        db.execute("CREATE TEMP TABLE h_prev (account_id TEXT PRIMARY KEY, score REAL)")
        db.execute("DELETE FROM account_health_history")
        per_chunk = max(1, CHUNK_ROWS // max(1, accounts))
        for lo in range(0, len(points), per_chunk):
            self._chunk(lo, min(len(points), lo + per_chunk) - 1, points)

    def _chunk(self, lo: int, hi: int, points: list[Instant]) -> None:
        db = self.db
        for t in CHUNK_TABLES:
            db.execute(f"DROP TABLE IF EXISTS temp.{t}")
        db.execute("CREATE TEMP TABLE h_pop (t INTEGER NOT NULL, account_id TEXT NOT NULL)")
        # Rows in account order, so each account's lookups below hit the same pages one after another.
        if self.customers:
            db.execute("""INSERT INTO temp.h_pop SELECT t.t, m.account_id FROM temp.h_at t
                JOIN temp.h_mon m ON m.month = t.m_now AND m.mrr > 0
                WHERE t.t BETWEEN ? AND ? ORDER BY m.account_id, t.t""", [lo, hi])
        else:
            db.execute("""INSERT INTO temp.h_pop SELECT t.t, a.account_id FROM temp.h_at t JOIN temp.h_acct a
                ON a.created IS NULL OR a.created <= t.ts WHERE t.t BETWEEN ? AND ? ORDER BY a.account_id, t.t""",
                       [lo, hi])
        cols = ", ".join(f"{sql} AS {c}" for c, sql in RAW_COLUMNS)
        db.execute(f"""CREATE TEMP TABLE h_raw AS SELECT p.t AS t, p.account_id AS account_id,
                COALESCE(a.pf, 0) AS pf, COALESCE(a.seg, '(none)') AS seg, {cols}
            FROM temp.h_pop p JOIN temp.h_at t ON t.t = p.t LEFT JOIN temp.h_acct a ON a.account_id = p.account_id
            LEFT JOIN temp.h_mon md ON md.account_id = p.account_id AND md.month = t.m_done
            LEFT JOIN temp.h_mon mt ON mt.account_id = p.account_id AND mt.month = t.m_trend
            ORDER BY p.rowid""")
        db.execute("""CREATE TEMP TABLE h_peer AS SELECT t, seg, TOTAL(tv_n) AS n, TOTAL(tv_seats) AS seats,
            COUNT(*) AS k FROM temp.h_raw WHERE tv_n IS NOT NULL AND tv_seats > 0 GROUP BY t, seg""")
        db.execute("CREATE TEMP TABLE h_peer_all AS SELECT t, TOTAL(n) AS n, TOTAL(seats) AS seats FROM temp.h_peer "
                   "GROUP BY t")
        raw = ", ".join(f"{RAW[n]} AS r_{n}" for n in NAMES)
        scores = ", ".join(f"{self.score_sql[n]} AS s_{n}" for n in NAMES)
        details = ", ".join(f"x.{c} AS {c}" for c in DETAILS)
        db.execute(f"""CREATE TEMP TABLE h_sc AS SELECT x.t AS t, x.account_id AS account_id, x.pf AS pf, {raw},
                {scores}, {details}
            FROM (SELECT r.*, t.n_feat AS n_feat,
                         CASE WHEN ps.t IS NOT NULL THEN ps.n / ps.seats ELSE pa.n / pa.seats END AS tv_peer,
                         CASE WHEN ps.t IS NOT NULL THEN r.seg ELSE NULL END AS tv_group
                  FROM temp.h_raw r JOIN temp.h_at t ON t.t = r.t
                  LEFT JOIN temp.h_peer ps ON ps.t = r.t AND ps.seg = r.seg AND ps.k >= ?
                  LEFT JOIN temp.h_peer_all pa ON pa.t = r.t) x""", [self.settings.params["peer_min_accounts"]])
        db.execute(f"CREATE TEMP TABLE h_tot AS SELECT t, account_id, pf, ROUND({self.total_sql}, 2)"
                   " AS score, NULL AS band FROM temp.h_sc")
        db.execute(f"UPDATE temp.h_tot SET band = {self.band_sql}")
        db.execute("""INSERT INTO account_health_history (account_id, as_of, score, band)
            SELECT o.account_id, t.label, o.score, o.band FROM temp.h_tot o JOIN temp.h_at t ON t.t = o.t
            WHERE t.label IS NOT NULL AND o.score IS NOT NULL""")
        db.execute("""INSERT INTO temp.h_month SELECT t.month, o.account_id, o.score, o.band
            FROM temp.h_tot o JOIN temp.h_at t ON t.t = o.t WHERE t.month IS NOT NULL AND o.score IS NOT NULL""")
        for i in range(lo, hi + 1):
            if points[i].is_prev:
                db.execute("INSERT OR REPLACE INTO temp.h_prev SELECT account_id, score FROM temp.h_tot WHERE t = ?",
                           [i])
            if points[i].is_now:
                db.execute("DROP TABLE IF EXISTS temp.h_now")
                db.execute("""CREATE TEMP TABLE h_now AS SELECT s.*, o.score AS score, o.band AS band
                    FROM temp.h_sc s JOIN temp.h_tot o ON o.t = s.t AND o.account_id = s.account_id
                    WHERE s.t = ? AND o.score IS NOT NULL""", [i])
        for t in CHUNK_TABLES:
            db.execute(f"DROP TABLE IF EXISTS temp.{t}")
