"""csconnect.toml: interpolation, .env, one-line errors naming the key and the file."""
from __future__ import annotations

import logging

import pytest

from csconnect.config import load_config
from csconnect.errors import ConfigError
from csconnect.redact import redact


def write(tmp_path, text, name="csconnect.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_env_interpolation_and_defaults(tmp_path, fake_registry):
    path = write(tmp_path, """
database = "data/cs.db"
reporting_currency = "eur"
[fx_rates]
USD = 0.92
[connections.fake]
token = "${FAKE_TOKEN}"
region = "${REGION:-eu}"
""")
    cfg = load_config(path, registry=fake_registry, environ={"FAKE_TOKEN": "tok-abcdef"})
    assert cfg.database == tmp_path / "data" / "cs.db"
    assert cfg.reporting_currency == "EUR" and cfg.fx_rates == {"USD": 0.92}
    settings = cfg.connections["fake"].settings
    assert settings["token"] == "tok-abcdef" and settings["region"] == "eu" and settings["fail_after"] is None
    assert redact("token tok-abcdef leaked") == "token *** leaked"


def test_secret_from_dotenv_and_from_the_declared_variable(tmp_path, fake_registry):
    write(tmp_path, "FAKE_TOKEN=tok-from-dotenv\n", ".env")
    path = write(tmp_path, "[connections.fake]\n")
    cfg = load_config(path, registry=fake_registry, environ={})
    assert cfg.connections["fake"].settings["token"] == "tok-from-dotenv"
    # the environment wins over .env
    cfg = load_config(path, registry=fake_registry, environ={"FAKE_TOKEN": "tok-from-env"})
    assert cfg.connections["fake"].settings["token"] == "tok-from-env"


@pytest.mark.parametrize("text,message", [
    ('[connections.fake]\ntoken = "${NOPE}"\n',
     "csconnect.toml: connections.fake.token: needs the environment variable NOPE, which is not set "
     "(export it, or put NOPE=… in .env beside csconnect.toml)"),
    ("[connections.fake]\n",
     "csconnect.toml: connections.fake.token: is required: add token = … to [connections.fake] or set the "
     "environment variable FAKE_TOKEN"),
    ('colour = "blue"\n',
     "csconnect.toml: colour: unknown key (known keys here: database, reporting_currency, fx_rates, "
     "connections, packs, identity, sync, alerts, targets)"),
    ('[connections.fake]\ntoken = "x"\ntokn = "y"\n',
     "csconnect.toml: connections.fake.tokn: unknown option (fake takes: token, fail_after, region)"),
    ('[connections.fake]\ntoken = "x"\nfail_after = "soon"\n',
     "csconnect.toml: connections.fake.fail_after: must be a whole number, got 'soon'"),
    ('[connections.fake]\ntoken = "x"\nregion = "mars"\n',
     "csconnect.toml: connections.fake.region: must be one of us, eu, got 'mars'"),
    ('[connections.shop]\nconnector = "shopify"\n',
     "csconnect.toml: connections.shop.connector: no connector named 'shopify' is installed (installed: fake); "
     "try `csconnect install csconnect-shopify`"),
    ('[connections.Bad-Name]\n',
     "csconnect.toml: connections.Bad-Name: a connection name must be lower-case letters, digits and _ "
     "(e.g. stripe_eu)"),
    ('reporting_currency = "dollars"\n',
     "csconnect.toml: reporting_currency: 'DOLLARS' is not an ISO 4217 code such as USD or EUR"),
    ('[fx_rates]\nEUR = -1\n',
     "csconnect.toml: fx_rates.EUR: a rate must be a positive number (units of reporting currency per unit)"),
    ('[sync]\nconcurrency = "many"\n', "csconnect.toml: sync.concurrency: must be a whole number, got 'many'"),
    ('[identity]\noverides = {}\n',
     "csconnect.toml: identity.overides: unknown key (known keys here: overrides, overrides_csv, "
     "free_mail_domains, precedence)"),
])
def test_broken_config_is_one_line_naming_key_and_file(tmp_path, fake_registry, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, registry=fake_registry, environ={})
    assert str(info.value) == message


def test_toml_syntax_error_names_the_file_and_line(tmp_path, fake_registry):
    path = write(tmp_path, '[connections.fake\ntoken = "x"\n')
    with pytest.raises(ConfigError, match=r"^csconnect.toml: not valid TOML: .*line 1"):
        load_config(path, registry=fake_registry, environ={})


def test_a_literal_secret_works_but_warns(tmp_path, fake_registry, caplog):
    path = write(tmp_path, '[connections.fake]\ntoken = "tok-literal-123"\n')
    with caplog.at_level(logging.WARNING, logger="csconnect.config"):
        cfg = load_config(path, registry=fake_registry, environ={})
    assert cfg.connections["fake"].settings["token"] == "tok-literal-123"
    assert "connections.fake.token is written in the file" in caplog.text
    assert 'token = "${FAKE_TOKEN}"' in caplog.text
    assert "tok-literal-123" not in caplog.text


def test_missing_config_file_given_explicitly(tmp_path):
    with pytest.raises(ConfigError, match="no such file; create one with `csconnect init`"):
        load_config(tmp_path / "nope.toml")


def test_no_config_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config()
    assert cfg.path is None and cfg.database == tmp_path / "csconnect.db" and cfg.connections == {}
