"""Bad input at start-up ends with one clear line on stderr, never a traceback."""

import socket
import subprocess
from pathlib import Path

from .conftest import clean_env, newsdesk


def assert_one_clear_line(result, *needles: str) -> None:
    assert result.returncode == 2, result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0]


def test_wrong_config_value(tmp_path: Path) -> None:
    env = clean_env(tmp_path, NEWSDESK_TIMEZONE="Mars/Olympus")
    assert_one_clear_line(newsdesk(["run", "--once"], env, tmp_path), "NEWSDESK_TIMEZONE", "IANA")


def test_unreachable_database(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = clean_env(tmp_path, NEWSDESK_DATABASE_URL=f"postgresql://nobody@127.0.0.1:{port}/x")
    assert_one_clear_line(newsdesk(["db", "upgrade"], env, tmp_path), "cannot reach the database")


def test_port_already_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_env(tmp_path, NEWSDESK_PORT=str(port))
        result = newsdesk(["web"], env, tmp_path, timeout=60)
    assert_one_clear_line(result, f"port {port}", "already in use", "NEWSDESK_PORT")


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    env = clean_env(tmp_path, NEWSDESK_LLM_API_KEY="sk-top-secret", NEWSDESK_PORT="8123")
    result = newsdesk(["config", "show"], env, tmp_path)
    assert result.returncode == 0
    assert "NEWSDESK_PORT=8123" in result.stdout
    assert "NEWSDESK_LLM_API_KEY=********" in result.stdout
    assert "sk-top-secret" not in result.stdout


def test_every_command_has_help(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    for args in (["--help"], ["run", "--help"], ["up", "--help"], ["web", "--help"],
                 ["db", "upgrade", "--help"], ["config", "show", "--help"]):  # fmt: skip
        result = newsdesk(args, env, tmp_path)
        assert result.returncode == 0 and "Usage" in result.stdout, args


def test_config_file_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "newsdesk.toml").write_text('port = 8100\ntimezone = "UTC\n')
    result = newsdesk(["run", "--once"], clean_env(tmp_path), tmp_path)
    assert_one_clear_line(result, "newsdesk.toml, line 2, column 16", "not valid TOML")


def test_config_file_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "newsdesk.toml").write_bytes(b"port = 8100\n# caf\xe9\n")
    result = newsdesk(["config", "show"], clean_env(tmp_path), tmp_path)
    assert_one_clear_line(result, "newsdesk.toml", "UTF-8")


def test_database_directory_under_read_only_parent(tmp_path: Path, tmpfs) -> None:
    parent = tmpfs("readonly", read_only=True)  # root ignores file modes; a mount does not
    target = parent / "missing" / "desk.db"
    for args in (["db", "upgrade"], ["run", "--once"], ["sources", "list"]):
        env = clean_env(tmp_path, NEWSDESK_DATABASE_URL=f"sqlite:///{target}")
        result = newsdesk(args, env, tmp_path)
        assert_one_clear_line(result, f"cannot create the directory {parent / 'missing'}",
                              "Read-only file system")  # fmt: skip
    assert not (parent / "missing").exists()


def test_database_on_a_read_only_file_system(tmp_path: Path, tmpfs) -> None:
    disk = tmpfs("desk")
    env = clean_env(tmp_path, NEWSDESK_DATA_DIR=str(disk))
    assert newsdesk(["db", "upgrade"], env, tmp_path).returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    result = newsdesk(["run", "--once"], env, tmp_path)
    # SQLite fails at open or, when it opens the file, at the first write: one line either way
    assert_one_clear_line(result, f"{disk} is on a read-only file system")


def test_worker_on_sqlite_says_workers_need_postgresql(tmp_path: Path) -> None:
    env = clean_env(tmp_path)  # the default database: a SQLite file
    result = newsdesk(["worker"], env, tmp_path, timeout=60)
    assert_one_clear_line(result, "workers need PostgreSQL", "NEWSDESK_DATABASE_URL=postgresql://")
    for queue_command in (["queue", "status"], ["queue", "retry"]):
        assert_one_clear_line(newsdesk(queue_command, env, tmp_path), "need PostgreSQL")
