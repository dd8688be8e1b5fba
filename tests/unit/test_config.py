import pytest
import typer

from newsdesk.cli.common import UserError, friendly_errors
from newsdesk.config import ConfigError, load_settings


def test_defaults_use_sqlite_under_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSDESK_DATABASE_URL", raising=False)
    monkeypatch.setenv("NEWSDESK_DATA_DIR", "/tmp/desk-data")
    settings = load_settings()
    assert settings.effective_database_url == "sqlite:////tmp/desk-data/newsdesk.db"
    assert settings.port == 8000
    assert settings.timezone == "UTC"
    assert settings.allow_private_urls is False


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("NEWSDESK_PORT", "abc", "an integer from 1 to 65535"),
        ("NEWSDESK_PORT", "70000", "an integer from 1 to 65535"),
        ("NEWSDESK_TIMEZONE", "Mars/Base", "an IANA time zone"),
        ("NEWSDESK_ALLOW_PRIVATE_URLS", "maybe", "true or false"),
        ("NEWSDESK_DATABASE_URL", "mysql://x", "sqlite:///PATH or postgresql://"),
    ],
)
def test_wrong_value_names_key_and_accepted_values(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert key in str(info.value)
    assert expected in str(info.value)


def test_toml_file_is_read_and_env_wins(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "newsdesk.toml"
    config.write_text('port = 9001\ntimezone = "Asia/Shanghai"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSDESK_TIMEZONE", "Europe/Paris")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.timezone == "Europe/Paris"


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_LLM_API_KEY", "sk-very-secret")
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", "postgresql://desk:hunter2@db.local/news")
    shown = load_settings().shown()
    text = "\n".join(f"{k}={v}" for k, v in shown.items())
    assert "sk-very-secret" not in text and "hunter2" not in text
    assert shown["NEWSDESK_LLM_API_KEY"] == "********"
    assert shown["NEWSDESK_DATABASE_URL"] == "postgresql://desk:********@db.local/news"


def test_secret_never_echoed_in_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_PORT", "0")
    monkeypatch.setenv("NEWSDESK_LLM_API_KEY", "sk-very-secret")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "sk-very-secret" not in str(info.value)


def test_error_messages_are_printed_as_text_not_markup(capsys) -> None:
    with pytest.raises(typer.Exit), friendly_errors():
        raise UserError("HTTP 302 from http://x.example/[/]a[bold] to nowhere")
    assert "http://x.example/[/]a[bold] to nowhere" in capsys.readouterr().err
