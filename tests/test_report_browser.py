"""The demo dashboard in headless Chromium: no script errors, every section with data, a screenshot.

Needs Debian's `chromium` (.ci/run installs it). Without it the tests skip, unless
CSCONNECT_REQUIRE_BROWSER=1 (set by CI), when they fail.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from csconnect.money import format_money
from csconnect.report import SECTIONS

import report_demo

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=10000", "--enable-logging=stderr", "--v=0"]


def find_chromium() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CSCONNECT_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed but CSCONNECT_REQUIRE_BROWSER=1: apt-get install -y chromium")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI installs it and requires it")
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root, _ = report_demo.demo_project(tmp_path_factory)
    return root


def browse(chromium: str, url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=180)
    uncaught = [line for line in proc.stderr.splitlines()
                if "Uncaught" in line or "Content Security Policy" in line or "Refused to" in line]
    assert not uncaught, "\n".join(uncaught)
    return proc


class Dom(HTMLParser):
    """Attributes of <body> and of each section, and the text of every KPI tile's value."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.body: dict[str, str | None] = {}
        self.sections: dict[str, str | None] = {}
        self.tiles: dict[str, str] = {}
        self.rows: dict[str, int] = {}
        self._tile: str | None = None
        self._value = False
        self._table: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "section":
            self.sections[a["data-section"]] = a.get("data-has-data")
        elif tag == "div" and "data-metric" in a:
            self._tile = a["data-metric"]
        elif tag == "div" and a.get("class") == "value" and self._tile:
            self._value = True
        elif tag == "table":
            self._table = a.get("id")
        elif tag == "tr" and self._table:
            self.rows[self._table] = self.rows.get(self._table, 0) + 1

    def handle_endtag(self, tag):
        if tag == "div" and self._value:
            self._value, self._tile = False, None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._value and self._tile:
            self.tiles[self._tile] = self.tiles.get(self._tile, "") + data


def rendered(chromium: str, url: str, profile: Path) -> Dom:
    proc = browse(chromium, url, profile, "--dump-dom")
    assert "<body" in proc.stdout, proc.stderr[-2000:]
    dom = Dom()
    dom.feed(proc.stdout)
    return dom


def latest_mrr(root: Path, segment: str | None = None) -> float:
    with sqlite3.connect(root / "csconnect.db") as db:
        by, seg = ("segment", segment) if segment else ("all", "all")
        return db.execute("SELECT value FROM metric_values WHERE metric = 'mrr' AND grain = 'month' AND "
                          "segment_by = ? AND segment = ? ORDER BY period_start DESC LIMIT 1", (by, seg)).fetchone()[0]


def test_demo_report_renders_every_section_without_script_errors(chromium, demo, tmp_path):
    dom = rendered(chromium, (demo / "report.html").as_uri(), tmp_path / "profile")
    assert dom.body.get("data-render") == "done" and dom.body.get("data-errors") == "0", dom.body
    assert dom.sections == {s["id"]: "1" for s in SECTIONS}
    assert dom.tiles["mrr"] == format_money(latest_mrr(demo), "USD")
    assert len(dom.tiles) >= 12
    assert dom.rows["table-at-risk"] > 1 and dom.rows["table-renewals"] > 1     # a header row and accounts


def test_choosing_a_segment_redraws_from_that_segment(chromium, demo, tmp_path):
    dom = rendered(chromium, (demo / "report.html").as_uri() + "#segment=smb", tmp_path / "profile")
    assert dom.body.get("data-render") == "done" and dom.body.get("data-errors") == "0", dom.body
    assert dom.body.get("data-segment") == "smb"
    assert dom.tiles["mrr"] == format_money(latest_mrr(demo, "smb"), "USD") != format_money(latest_mrr(demo), "USD")


def test_screenshot_of_the_demo_report(chromium, demo, tmp_path):
    shot = tmp_path / "report.png"
    browse(chromium, (demo / "report.html").as_uri(), tmp_path / "profile",
           f"--screenshot={shot}", "--window-size=1400,5000")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1400, 5000)
    assert len(data) > 100_000                      # charts and tables, not a blank page
    assert re.search(rb"IDAT", data)
