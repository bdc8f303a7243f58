"""A 200,000-line CSV: read page by page with flat memory; a large file syncs end to end."""
from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

from csconnect.testing import Workspace

from csconnect_files import FilesConnector, FileStream

ENTRY = {"name": "contacts", "path": "contacts.csv", "table": "contacts", "id": "id",
         "columns": {"email": "email", "name": "name", "created_at": "created"}}


def big_csv(path: Path, lines: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("id,email,name,created\n")
        for i in range(lines):
            f.write(f"c{i},user{i}@example.com,User {i},2026-01-01T00:00:{i % 60:02d}Z\n")
    return path


def test_a_200k_line_csv_is_read_with_flat_memory(tmp_path: Path) -> None:
    big_csv(tmp_path / "contacts.csv", 200_000)
    connector = FilesConnector("big", {"base_dir": str(tmp_path), "page_size": 1000, "files": [ENTRY]})
    [stream] = connector.get_streams()
    assert isinstance(stream, FileStream)
    records = pages = 0
    state: dict[str, Any] | None = None
    # tracemalloc slows Python down a lot, so it watches the last 25,000 rows: a reader that kept what it
    # read would grow by ~1 KB a row there (25 MB); a page of 1,000 rows is about 1 MB.
    for page in stream.pages(None):
        if pages == 175:
            tracemalloc.start()
        pages += 1
        records += len(page.records)
        assert len(page.records) <= 1000
        if pages == 1:
            assert list(stream.normalize(page.records[0]))[0][1]["email"] == "user0@example.com"
        state = page.state
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (records, pages) == (200_000, 200)
    assert peak < 10_000_000, f"peak {peak / 1e6:.1f} MB while reading 25,000 rows"
    assert state is not None and state["current"] is None and state["files"]["contacts.csv"]["lines"] == 200_001


def test_a_large_file_syncs_and_is_skipped_when_unchanged(tmp_path: Path) -> None:
    big_csv(tmp_path / "in" / "contacts.csv", 20_000)
    ws = Workspace(tmp_path, FilesConnector, connections={"big": {
        "connector": "files", "base_dir": str(tmp_path / "in"), "page_size": 5000, "files": [ENTRY]}})
    [first] = ws.sync().results
    assert (first.status, first.records, first.pages, first.rejects) == ("ok", 20_000, 4, 0)
    assert ws.store.count("contacts") == 20_000 and ws.store.count("raw_big__contacts") == 20_000
    [again] = ws.sync().results
    assert (again.records, again.pages) == (0, 0)
