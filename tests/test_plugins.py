"""Plugin discovery and registration: hooks, duplicates, broken plugins, the allow-list."""
from __future__ import annotations

import json
from importlib import metadata

import pytest
from click.testing import CliRunner

import plugin_fixtures as pf
from csconnect import hookspecs
from csconnect.cli import build_cli
from csconnect.errors import PluginError
from csconnect.plugins import build_registry, get_registry, set_registry


def fake_entry_points(monkeypatch, **targets):
    eps = [metadata.EntryPoint(name, value, "csconnect") for name, value in targets.items()]

    def entry_points(group=None, **kw):
        return [e for e in eps if group in (None, "csconnect")]

    monkeypatch.setattr(metadata, "entry_points", entry_points)


def test_register_connectors_and_metric_packs(fake_registry):
    assert fake_registry.connector("fake") is pf.FakeConnector
    assert set(fake_registry.packs) == {"alpha", "beta"}
    info = fake_registry.connectors["fake"].plugin
    assert info.connectors == ["fake"] and info.packs == ["alpha", "beta"]


def test_register_commands_adds_a_plugin_command(monkeypatch):
    set_registry(build_registry([pf.good], entry_points=False))
    result = CliRunner().invoke(build_cli(), ["fake-hello"])
    assert result.exit_code == 0 and result.output == "hello from a plugin\n"


def test_two_plugins_registering_one_name_is_an_error_naming_both(monkeypatch):
    fake_entry_points(monkeypatch, good="plugin_fixtures:good", clone="plugin_fixtures:clone")
    registry = build_registry()
    with pytest.raises(PluginError) as info:
        registry.connector("fake")
    text = str(info.value)
    assert text.startswith("connector 'fake' is registered by two plugins: ")
    assert "clone" in text and "good" in text and "\n" not in text


def test_a_plugin_that_fails_to_import_is_reported_and_the_rest_work(monkeypatch):
    fake_entry_points(monkeypatch, good="plugin_fixtures:good", gone="csconnect_nowhere.plugin")
    registry = build_registry()
    assert registry.connector("fake") is pf.FakeConnector
    assert registry.problems() == [
        "plugin gone (gone): failed to load: ModuleNotFoundError: No module named 'csconnect_nowhere'"]


def test_a_plugin_whose_hook_raises_is_reported(monkeypatch):
    fake_entry_points(monkeypatch, good="plugin_fixtures:good", broken="plugin_fixtures:broken")
    registry = build_registry()
    assert "fake" in registry.connectors
    assert registry.plugins["broken"].error == "register_connectors failed: RuntimeError: boom in register_connectors"


def test_a_misspelled_hook_is_reported(monkeypatch):
    fake_entry_points(monkeypatch, misspelled="plugin_fixtures:misspelled")
    registry = build_registry()
    assert "unknown hook" in registry.plugins["misspelled"].error
    assert "register_conectors" in registry.plugins["misspelled"].error


def test_registering_something_that_is_not_a_connector_is_reported():
    class Bad:
        @staticmethod
        @hookspecs.hookimpl
        def register_connectors(register):
            register(object)

    registry = build_registry([Bad], entry_points=False)
    assert "is not a csconnect.Connector subclass" in registry.plugins["Bad"].error


@pytest.mark.parametrize("allow,expected", [("", set()), ("good", {"fake"}), ("clone", {"fake"}),
                                            ("good, clone", {"fake"})])
def test_allow_list(monkeypatch, allow, expected):
    fake_entry_points(monkeypatch, good="plugin_fixtures:good", clone="plugin_fixtures:clone")
    monkeypatch.setenv("CSCONNECT_LOAD_PLUGINS", allow)
    registry = build_registry()
    assert set(registry.connectors) == expected
    loaded = set(registry.plugins)
    assert loaded == {p.strip() for p in allow.split(",") if p.strip()}


def test_plugins_are_loaded_once(monkeypatch):
    calls = []
    fake_entry_points(monkeypatch, good="plugin_fixtures:good")
    real = metadata.EntryPoint.load
    monkeypatch.setattr(metadata.EntryPoint, "load", lambda self: calls.append(self.name) or real(self))
    set_registry(None)
    first = get_registry()
    assert get_registry() is first and calls == ["good"]


def test_trace_prints_hook_calls(monkeypatch, capsys):
    monkeypatch.setenv("CSCONNECT_TRACE_PLUGINS", "1")
    fake_entry_points(monkeypatch, good="plugin_fixtures:good")
    registry = build_registry()
    registry.pm.hook.register_connectors(register=lambda cls: None)
    assert "register_connectors" in capsys.readouterr().err


def test_plugins_command_lists_distribution_version_connectors_packs(monkeypatch):
    fake_entry_points(monkeypatch, good="plugin_fixtures:good", gone="csconnect_nowhere.plugin")
    set_registry(None)
    result = CliRunner().invoke(build_cli(), ["plugins", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    good = next(r for r in rows if r["plugin"] == "good")
    assert good["connectors"] == ["fake"] and good["packs"] == ["alpha", "beta"] and good["status"] == "ok"
    gone = next(r for r in rows if r["plugin"] == "gone")
    assert gone["status"] == "error" and "No module named" in gone["error"]


def test_plugins_command_fails_on_a_conflict(monkeypatch):
    fake_entry_points(monkeypatch, good="plugin_fixtures:good", clone="plugin_fixtures:clone")
    set_registry(None)
    result = CliRunner().invoke(build_cli(), ["plugins"])
    assert result.exit_code == 1
    assert "problem: connector 'fake' is registered by two plugins" in result.stderr


def test_register_alert_sinks_adds_a_sink_listed_by_the_plugins_command(monkeypatch):
    fake_entry_points(monkeypatch, sinks="plugin_fixtures:sinks")
    registry = build_registry()
    assert registry.sink("echo") is pf.EchoSink and registry.sink("webhook").name == "webhook"
    set_registry(None)
    result = CliRunner().invoke(build_cli(), ["plugins", "--all", "--format", "json"])
    rows = {r["plugin"]: r for r in json.loads(result.stdout)}
    assert rows["sinks"]["sinks"] == ["echo"] and rows["csconnect.alert_sinks"]["sinks"] == ["webhook"]
    assert "csconnect.alert_sinks" not in CliRunner().invoke(build_cli(), ["plugins"]).output


def test_two_plugins_registering_one_alert_sink_name_is_an_error_naming_both(monkeypatch):
    fake_entry_points(monkeypatch, sinks="plugin_fixtures:sinks", sinks_clone="plugin_fixtures:sinks_clone")
    with pytest.raises(PluginError) as info:
        build_registry().sink("echo")
    text = str(info.value)
    assert text.startswith("alert sink 'echo' is registered by two plugins: sinks and sinks_clone;"), text


def test_every_hook_has_a_test():
    """Each hook in hookspecs is exercised by name somewhere in this file."""
    source = open(__file__, encoding="utf-8").read()
    for name in ("register_connectors", "register_metric_packs", "register_alert_sinks", "register_commands"):
        assert hasattr(hookspecs, name)
        assert source.count(name) >= 2, name
    assert "register_metric_packs" in source and "fake_registry.packs" in source


def test_two_packs_declaring_one_metric_name_is_an_error():
    from csconnect import Metric, MetricPack
    from csconnect.testing import plugin_for

    class Mine(MetricPack):
        name = "mine"
        metrics = (Metric("account_count", "Accounts", "count", "up", "mine"),)

    registry = build_registry([pf.good, plugin_for(Mine)], entry_points=False)
    with pytest.raises(PluginError, match="metric 'account_count' is declared by two metric packs: alpha"):
        registry.pack("mine")
