"""Syncing files: incremental reads, rejects with line numbers, resume after a crash, missing files, check()."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from csconnect import ConnectorError
from csconnect.testing import Workspace

from csconnect_files import FilesConnector, FileStream
from files_testdata import (ACCOUNT, COST, COSTS, NPS, NPS_HEADER, NPS_MORE, NPS_ROWS, append, jsonl, settings,
                            write, write_standard)


def workspace(path: Path, *entries: dict[str, Any], **options: Any) -> Workspace:
    path.mkdir(parents=True, exist_ok=True)
    options.setdefault("base_dir", str(path / "imports"))
    return Workspace(path, FilesConnector, connections={"cs": dict(settings(*entries, **options), connector="files")})


def results(ws: Workspace, **kw: Any) -> dict[str, Any]:
    return {r.stream: r for r in ws.sync(**kw).results}


def reasons(ws: Workspace) -> list[str]:
    return sorted(r["reason"] for r in ws.rejects())


# -- incremental -------------------------------------------------------------------------
def test_unchanged_files_are_not_read_again(tmp_path: Path) -> None:
    write_standard(tmp_path / "imports")
    ws = workspace(tmp_path)
    first = results(ws)
    assert {k: r.records for k, r in first.items()} == {"nps": 3, "costs": 3, "accounts": 2}
    state = ws.store.get_state("cs", "nps")
    again = results(ws)
    assert all(r.status == "ok" and r.records == 0 and r.pages == 0 for r in again.values())
    assert ws.store.get_state("cs", "nps") == state


def test_appended_rows_are_read_alone(tmp_path: Path) -> None:
    folder = write_standard(tmp_path / "imports")
    ws = workspace(tmp_path, NPS)
    results(ws)
    append(folder / "nps-2026.csv", "".join(NPS_MORE))
    second = results(ws)["nps"]
    assert second.records == 2
    assert [r["source_id"] for r in ws.rows("survey_responses")] == ["R1", "R2", "R3", "R4", "R5"]


def test_an_edited_file_is_read_again_whole(tmp_path: Path) -> None:
    folder = write_standard(tmp_path / "imports")
    ws = workspace(tmp_path, NPS)
    results(ws)
    write(folder, "nps-2026.csv", NPS_HEADER + "".join(NPS_ROWS).replace("R2,6,", "R2,7,"))
    assert results(ws)["nps"].records == 3
    assert [r["score"] for r in ws.rows("survey_responses")] == [9, 7, 10]
    assert len(ws.rows("survey_responses")) == 3


def test_a_last_line_without_newline_then_appended_is_read_whole(tmp_path: Path) -> None:
    folder = tmp_path / "imports"
    write(folder, "nps-2026.csv", NPS_HEADER + "".join(NPS_ROWS).rstrip("\n"))
    ws = workspace(tmp_path, NPS)
    results(ws)
    append(folder / "nps-2026.csv", "\n" + "".join(NPS_MORE))
    assert results(ws)["nps"].records == 5
    assert len(ws.rows("survey_responses")) == 5


def test_a_glob_reads_new_files_only_and_forgets_deleted_ones(tmp_path: Path) -> None:
    folder = write_standard(tmp_path / "imports")
    ws = workspace(tmp_path, NPS)
    results(ws)
    write(folder, "nps-2027.csv", NPS_HEADER + "".join(NPS_MORE))
    assert results(ws)["nps"].records == 2
    assert set(ws.store.get_state("cs", "nps")["files"]) == {"nps-2026.csv", "nps-2027.csv"}
    (folder / "nps-2026.csv").unlink()
    assert results(ws)["nps"].records == 0
    assert set(ws.store.get_state("cs", "nps")["files"]) == {"nps-2027.csv"}
    assert results(ws, full_refresh=True)["nps"].pruned > 0       # a full refresh removes what is gone
    assert [r["source_id"] for r in ws.rows("survey_responses")] == ["R4", "R5"]


def test_default_ids_are_file_and_line(tmp_path: Path) -> None:
    write_standard(tmp_path / "imports")
    entry = {k: v for k, v in NPS.items() if k != "id"}
    ws = workspace(tmp_path, entry)
    results(ws)
    assert [r["source_id"] for r in ws.rows("survey_responses")] == \
        ["nps-2026.csv:2", "nps-2026.csv:3", "nps-2026.csv:4"]


# -- rejects --------------------------------------------------------------------------------
def test_bad_rows_are_rejected_with_file_and_line_and_the_rest_lands(tmp_path: Path) -> None:
    folder = tmp_path / "imports"
    write(folder, "nps-2026.csv", NPS_HEADER + "".join(NPS_ROWS) + (
        "R4,8,short row\n"                                   # line 6: wrong field count
        "R5,nine,,03/05/2026 11:00,ed@acme.com,acme\n"        # line 7: score not a number
        "R6,9,,2026-03-06,fi@acme.com,acme\n"                 # line 8: date not in date_format
        ",9,,03/07/2026 11:00,gu@acme.com,acme\n"             # line 9: no id
        "R7,9,,03/08/2026 11:00,ha@acme.com,acme,,,\n"        # line 10: trailing empty cells are fine
    ))
    write(folder, "costs.jsonl", jsonl([COSTS[0], "{not json", [1, 2], COSTS[1],
                                        dict(COSTS[2], spend="12.5.0")]))
    ws = workspace(tmp_path, NPS, COST)
    res = results(ws)
    assert all(r.status == "ok" for r in res.values())
    assert reasons(ws) == sorted([
        "nps-2026.csv line 6: malformed CSV line: 3 fields, the header has 6",
        "nps-2026.csv line 7: score ('Score'): not a number: 'nine'",
        "nps-2026.csv line 8: responded_at ('Submitted At'): '2026-03-06' does not match date_format "
        "'%m/%d/%Y %H:%M'",
        "nps-2026.csv line 9: no id: 'Response ID' is empty",
        "costs.jsonl line 2: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        "costs.jsonl line 3: not a JSON object: list",
        "costs.jsonl line 5: amount ('spend'): not an amount: '12.5.0'",
    ])
    assert [r["source_id"] for r in ws.rows("survey_responses")] == ["R1", "R2", "R3", "R7"]
    assert len(ws.rows("costs")) == 2
    assert res["nps"].rejects == 4 and res["costs"].rejects == 3


def test_line_numbers_count_physical_lines_and_undecodable_lines_are_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "imports"
    folder.mkdir()
    body = (NPS_HEADER + "".join(NPS_ROWS)).encode() + b"R4,9,caf\xe9,03/04/2026 10:00,x@y.z,acme\n"
    (folder / "nps-2026.csv").write_bytes(body)
    ws = workspace(tmp_path, NPS)
    results(ws)
    # R3 spans lines 4-5 (a quoted newline), so the next row is line 6
    assert reasons(ws) == ["nps-2026.csv line 6: not valid utf-8-sig text (invalid continuation byte at column 9)"]


def test_fixing_a_rejected_row_clears_its_reject(tmp_path: Path) -> None:
    folder = tmp_path / "imports"
    write(folder, "nps-2026.csv", NPS_HEADER + "R1,oops,,03/01/2026 09:30,a@b.c,acme\n")
    ws = workspace(tmp_path, NPS)
    results(ws)
    assert len(ws.rejects()) == 1
    write(folder, "nps-2026.csv", NPS_HEADER + "R1,9,,03/01/2026 09:30,a@b.c,acme\n")
    results(ws)
    assert ws.rejects() == [] and len(ws.rows("survey_responses")) == 1


# -- resume after a crash ---------------------------------------------------------------------
def _crash_after(pages: int) -> Any:
    original = FileStream.pages

    def crashing(self: FileStream, state: Any) -> Any:
        for n, page in enumerate(original(self, state)):
            if n == pages:
                raise RuntimeError("simulated crash")
            yield page
    return crashing


@pytest.mark.parametrize("crash_page, committed", [(1, 2), (4, 7)])
def test_a_stopped_sync_resumes_mid_file_without_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            crash_page: int, committed: int) -> None:
    def files(folder: Path) -> None:     # pages of 2 rows: 2026 is pages 0-2, 2027 pages 3-5
        write(folder, "nps-2026.csv", NPS_HEADER + "".join(NPS_ROWS + NPS_MORE))
        write(folder, "nps-2027.csv", NPS_HEADER + "".join(r.replace("R", "S") for r in NPS_ROWS + NPS_MORE))

    files(tmp_path / "a" / "imports")
    whole = workspace(tmp_path / "a", NPS, page_size=2)
    assert results(whole)["nps"].records == 10

    files(tmp_path / "b" / "imports")
    ws = workspace(tmp_path / "b", NPS, page_size=2)
    monkeypatch.setattr(FileStream, "pages", _crash_after(crash_page))
    first = results(ws)["nps"]
    assert first.status == "failed" and "simulated crash" in first.error
    assert first.records == committed
    assert ws.store.get_state("cs", "nps")["current"] is not None
    monkeypatch.undo()
    second = results(ws)["nps"]
    assert second.status == "ok" and second.records == 10 - committed    # nothing read twice
    assert ws.snapshot() == whole.snapshot()
    assert len(ws.rows("survey_responses")) == 10
    assert ws.store.get_state("cs", "nps") == whole.store.get_state("cs", "nps")


# -- missing files and check() ----------------------------------------------------------------
def test_a_missing_file_or_empty_glob_fails_that_stream_only(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "imports", "accounts.csv", "Account ID,Company,Website,Segment,CSM,HubSpot ID\n")
    ws = workspace(tmp_path, NPS, COST, ACCOUNT, base_dir="imports")
    res = results(ws)
    assert res["nps"].status == "failed"
    assert res["nps"].error == f"cs.nps: no file matches imports/nps-*.csv (in {tmp_path})"
    assert res["costs"].error == f"cs.costs: no such file: imports/costs.jsonl (in {tmp_path})"
    assert res["accounts"].status == "ok"


def test_a_header_without_a_mapped_column_fails_the_stream_after_the_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "imports"
    write(folder, "nps-2026.csv", NPS_HEADER.replace("Score", "Rating") + NPS_ROWS[0])
    write(folder, "nps-2027.csv", NPS_HEADER + "".join(NPS_MORE))
    ws = workspace(tmp_path, NPS)
    first = results(ws)["nps"]
    assert first.status == "failed" and "\n" not in first.error
    assert first.error.startswith("cs.nps: nps-2026.csv: no column 'Score' in the header (it has: Response ID, "
                                  "Rating")
    assert [r["source_id"] for r in ws.rows("survey_responses")] == ["R4", "R5"]
    write(folder, "nps-2026.csv", NPS_HEADER + NPS_ROWS[0])
    second = results(ws)["nps"]
    assert (second.status, second.records) == ("ok", 1)          # only the fixed file


def test_check_counts_files_and_streams(tmp_path: Path) -> None:
    folder = write_standard(tmp_path / "imports")
    write(folder, "nps-2027.csv", NPS_HEADER.upper())                 # header names match ignoring case
    ws = workspace(tmp_path)
    settings_ = ws.config.connections["cs"].settings
    assert FilesConnector("cs", settings_).check() == "4 files, 3 streams"
    write(folder, "nps-2027.csv", "Response ID,Score\n")
    with pytest.raises(ConnectorError) as info:
        FilesConnector("cs", settings_).check()
    assert str(info.value) == ("cs.nps: nps-2027.csv: no column 'Why?', 'Submitted At', 'Email', 'Company' in the "
                               "header (it has: Response ID, Score)")
    (folder / "costs.jsonl").write_text("[1]\n")
    with pytest.raises(ConnectorError, match=r"^cs.costs: costs.jsonl: line 1 is not a JSON object$"):
        FilesConnector("cs", dict(settings_, files=[COST])).check()


def test_the_plugin_registers_through_its_entry_point() -> None:
    from csconnect.plugins import build_registry
    registry = build_registry()
    assert registry.connector("files") is FilesConnector
    assert registry.plugins["files"].distribution == "csconnect-files"
