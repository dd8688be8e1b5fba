"""The output commands through the real `newsdesk` executable: report, notify test, --help."""

from __future__ import annotations

from pathlib import Path

from outputs.test_notify import Inbox

from .conftest import clean_env, newsdesk
from .test_cli_errors import assert_one_clear_line


def test_report_daily_over_the_demo_desk(database_url: str, tmp_path: Path) -> None:
    env = clean_env(tmp_path, NEWSDESK_DATABASE_URL=database_url)
    assert newsdesk(["run", "--once", "--demo"], env, tmp_path).returncode == 0
    result = newsdesk(["report", "daily", "--date", "2025-01-31"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Daily brief: Friday, 31 January 2025")
    assert "OpenAI o3-mini System Card" in result.stdout
    weekly = newsdesk(["report", "weekly", "--date", "2025-01-31"], env, tmp_path)
    assert weekly.stdout.startswith("# Weekly report: Week of 27 January 2025")
    assert_one_clear_line(
        newsdesk(["report", "daily", "--date", "31/01/2025"], env, tmp_path), "YYYY-MM-DD"
    )


def test_notify_test_reaches_a_local_json_endpoint(tmp_path: Path) -> None:
    inbox = Inbox()
    try:
        env = clean_env(tmp_path, NEWSDESK_NOTIFY_URLS=inbox.url)
        result = newsdesk(["notify", "test"], env, tmp_path)
    finally:
        inbox.close()
    assert result.returncode == 0, result.stderr
    assert "sent" in result.stdout and inbox.url not in result.stdout
    assert [m["title"] for m in inbox.messages] == ["newsdesk test notification"]
    assert_one_clear_line(newsdesk(["notify", "test"], clean_env(tmp_path), tmp_path), "empty")


def test_every_output_command_has_help(tmp_path: Path) -> None:
    for args in (["report", "--help"], ["notify", "test", "--help"], ["mcp", "--help"]):
        result = newsdesk(args, clean_env(tmp_path), tmp_path)
        assert result.returncode == 0 and "Usage" in result.stdout, args
