from __future__ import annotations

import pytest

from csconnect.plugins import build_registry, set_registry
from csconnect.testing import Workspace, plugin_registry  # noqa: F401  (fixture)

import plugin_fixtures as pf


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No test sees installed plugins or the caller's environment unless it asks."""
    monkeypatch.delenv("CSCONNECT_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("CSCONNECT_TRACE_PLUGINS", raising=False)
    monkeypatch.delenv("CSCONNECT_CONFIG", raising=False)
    yield
    set_registry(None)


@pytest.fixture
def fake_registry():
    return build_registry([pf.good], entry_points=False)


@pytest.fixture
def ws(tmp_path, fake_registry):
    w = Workspace(tmp_path, registry=fake_registry, connections={"fake": {"token": "tok-123456"}})
    yield w
    w.close()
