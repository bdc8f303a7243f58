"""Benchmark: sync N Mixpanel events through the real connector into usage_daily.

    python connectors/mixpanel/bench.py                                # 500k and 5M events
    python connectors/mixpanel/bench.py --events 20000,100000          # small (CI)
    python connectors/mixpanel/bench.py --events 1000000 --per-day 1000000 --plain

A local server (its own process, `http.server` on 127.0.0.1) generates the raw export on
the fly, in Mixpanel's format: JSONL, gzip-compressed with chunked transfer encoding
unless --plain, `--per-day` events per day spread over `--users` users of 1,000
companies, with an exact duplicate line every 1,000 events and `$ae_session` events
for one user in 20. Each size then syncs in a fresh process (so its peak memory is its
own) with `rate_limit = 0` (no pacing), and prints events/s (wall clock), the CPU
seconds of the syncing process (its events per CPU second do not depend on the server
or on other load on the machine), and the peak RSS (`resource.getrusage`) of that
process, plus its RSS before the sync began. The last column says which JSON decoder
the connector used (orjson when installed: `pip install csconnect-mixpanel[fast]`).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

FIRST_DAY = date(2026, 1, 1)
FEATURES = ["Viewed Report", "Created Dashboard", "Exported CSV", "Ran Query", "Shared Link", "Invited User",
            "Edited Chart", "Opened Settings", "Searched", "Commented"]
DUPLICATE_EVERY = 1000
COMPANIES = 1000
LINE = ('{"event":"%s","properties":{"time":%d,"distinct_id":"user%d@company%d.example","$insert_id":"%032x",'
        '"mp_processing_time_ms":%d,"company_id":"company%d","mp_lib":"web","$lib_version":"2.55.0",'
        '"$browser":"Chrome","$browser_version":124,"$os":"Mac OS X","$current_url":"https://app.example.com/r/%d",'
        '"$screen_height":1080,"$screen_width":1920,"mp_country_code":"DE","$city":"Berlin","$region":"Berlin",'
        '"plan":"pro","workspace_role":"admin"%s}}\n')


# -- the server ------------------------------------------------------------------------------------
def day_events(total: int, per_day: int, day_index: int) -> int:
    return max(0, min(per_day, total - day_index * per_day))


def day_lines(total: int, per_day: int, users: int, day_index: int, batch: int = 5000):
    """The export of one day, `batch` lines at a time (bytes), generated from their index."""
    n = day_events(total, per_day, day_index)
    start = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()) + day_index * 86400
    out = []
    for k in range(n):
        i = day_index * per_day + k
        user = (k * 2654435761) % users
        t = start + (k * 86400) // n
        if user % 20 == 0 and k % 7 == 0:
            name, extra = "$ae_session", ',"$ae_session_length":%d' % (60 + k % 900)
        elif k % 11 == 0:
            name, extra = "$mp_web_page_view", ""
        else:
            name, extra = FEATURES[(k + user) % len(FEATURES)], ""
        line = LINE % (name, t, user, user % COMPANIES, i, t * 1000 + 5123, user % COMPANIES, k % 97, extra)
        out.append(line)
        if k % DUPLICATE_EVERY == DUPLICATE_EVERY - 1:
            out.append(line)                   # the export is not deduplicated
        if len(out) >= batch:
            yield "".join(out).encode()
            out = []
    if out:
        yield "".join(out).encode()


def make_handler(total: int, per_day: int, users: int, use_gzip: bool):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            q = parse_qs(url.query)
            if url.path != "/api/2.0/export" or "project_id" not in q or "Authorization" not in self.headers:
                body = json.dumps({"error": "bad request", "request": self.path}).encode()
                self.send_response(400)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            day = (date.fromisoformat(q["from_date"][0]) - FIRST_DAY).days
            gz = use_gzip and "gzip" in self.headers.get("Accept-Encoding", "")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            if gz:
                self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            packer = zlib.compressobj(1, zlib.DEFLATED, 31) if gz else None
            for chunk in day_lines(total, per_day, users, day):
                self._chunk(packer.compress(chunk) if packer else chunk)
            if packer:
                self._chunk(packer.flush())
            self.wfile.write(b"0\r\n\r\n")

        def _chunk(self, data: bytes) -> None:
            if data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def serve(total: int, per_day: int, users: int, use_gzip: bool) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(total, per_day, users, use_gzip))
    print(server.server_address[1], flush=True)
    server.serve_forever()


# -- one sync ----------------------------------------------------------------------------------------
def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # KB on Linux


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _json_decoder() -> str:
    from csconnect_mixpanel import aggregate
    return "orjson" if aggregate._fast_loads is not None else "json"


def sync(base_url: str, total: int, per_day: int, folder: Path) -> dict:
    from csconnect.testing import Workspace
    from csconnect_mixpanel import MixpanelConnector

    days = -(-total // per_day)
    settings = {"connector": "mixpanel", "project_id": 1, "service_account_username": "bench",
                "service_account_secret": "bench-secret", "base_url": base_url, "rate_limit": 0,
                "start_date": FIRST_DAY.isoformat(), "end_date": (FIRST_DAY + timedelta(days=days - 1)).isoformat()}
    ws = Workspace(folder, MixpanelConnector, connections={"mixpanel": settings})
    before = rss_mb()
    cpu = _cpu()
    started = time.perf_counter()
    report = ws.sync()
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu
    assert report.ok, [r.error for r in report.results]
    counted = ws.store.conn.execute("SELECT sum(events), count(*) FROM usage_daily").fetchone()
    assert counted[0] == total, f"usage_daily counts {counted[0]} events, expected {total}"
    return {"events": total, "days": days, "rows": counted[1], "seconds": round(seconds, 2),
            "events_per_s": round(total / seconds), "cpu_seconds": round(cpu, 2),
            "events_per_cpu_s": round(total / cpu), "json": _json_decoder(), "rss_before_mb": round(before, 1),
            "peak_rss_mb": round(rss_mb(), 1), "rejects": len(ws.rejects())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", default="500000,5000000", help="comma-separated sizes (events served)")
    ap.add_argument("--per-day", type=int, default=250_000, help="events per export day")
    ap.add_argument("--users", type=int, default=20_000, help="distinct users")
    ap.add_argument("--plain", action="store_true", help="serve the body uncompressed (default: gzip)")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--sync", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--base-url", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve is not None:
        serve(a.serve, a.per_day, a.users, not a.plain)
        return
    if a.sync is not None:
        print(json.dumps(sync(a.base_url, a.sync, a.per_day, Path(a.dir))))
        return
    body = "plain" if a.plain else "gzip"
    print(f"{'events':>10} {'days':>5} {'rows':>9} {'seconds':>8} {'events/s':>9} {'CPU s':>7} {'events/CPU s':>12} "
          f"{'RSS before':>11} {'peak RSS':>9}  ({body} body, {a.per_day:,} events/day, {a.users:,} users)")
    for total in [int(x) for x in a.events.split(",") if x.strip()]:
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(total), "--per-day", str(a.per_day),
                                   "--users", str(a.users)] + (["--plain"] if a.plain else []),
                                  stdout=subprocess.PIPE, text=True)
        try:
            port = int(server.stdout.readline())
            with tempfile.TemporaryDirectory() as folder:
                out = subprocess.run([sys.executable, __file__, "--sync", str(total), "--per-day", str(a.per_day),
                                      "--base-url", f"http://127.0.0.1:{port}", "--dir", folder],
                                     capture_output=True, text=True)
            if out.returncode:
                sys.exit(out.stderr)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{r['events']:>10,} {r['days']:>5} {r['rows']:>9,} {r['seconds']:>8} {r['events_per_s']:>9,} "
                  f"{r['cpu_seconds']:>7} {r['events_per_cpu_s']:>12,} {r['rss_before_mb']:>8} MB "
                  f"{r['peak_rss_mb']:>6} MB  ({r['json']})")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
