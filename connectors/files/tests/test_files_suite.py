"""The standard connector suite, run on real files in a temporary folder."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from csconnect.testing import ConnectorSuite

from csconnect_files import FilesConnector, FileStream
from files_testdata import NPS_HEADER, NPS_MORE, NPS_ROWS, append, settings, write, write_standard

SETTINGS = settings(page_size=2)


class SuiteFiles(FilesConnector):
    """ConnectorSuite reads the class-level `streams`; a files connection's streams come from its settings."""

    streams = tuple(type(f"{e['name'].title()}Stream", (FileStream,), {"name": e["name"]})
                    for e in SETTINGS["files"])


class TestFilesSuite(ConnectorSuite):
    connector = SuiteFiles
    settings = SETTINGS
    incremental_overlap: dict[str, int] = {}      # appended rows are read alone, nothing again

    @pytest.fixture(autouse=True)
    def _project_folder(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        self.folder = tmp_path / "imports"

    def mock_api(self, respx_mock: Any) -> Path:
        return write_standard(self.folder)

    def add_new_data(self, api: Path) -> dict[str, int]:
        append(api / "nps-2026.csv", "".join(NPS_MORE))
        return {"nps": len(NPS_MORE)}

    def mock_malformed(self, respx_mock: Any) -> None:
        write_standard(self.folder)
        bad = "R9,not-a-score,,03/09/2026 10:00,x@y.z,acme\n"
        write(self.folder, "nps-2026.csv", NPS_HEADER + "".join(NPS_ROWS) + bad)
