"""Backups and restores of a desk's database.

SQLite: SQLite's online backup API copies the database page by page inside one read
transaction, so a running desk keeps writing (WAL) while the copy sees one consistent moment.
The copy is written beside the target under a temporary name, checked, then renamed, so a
half-written backup never carries the target's name. A restore is checked on a scratch copy
(a newsdesk database, intact, a schema revision this newsdesk knows), migrated to head there,
and only then copied into the live file with the same API, which locks it for the copy: open
connections see the old desk or the new one, never a mix. PostgreSQL: `pg_dump` / `pg_restore`
when installed, else the command to run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from newsdesk.store.db import Database, DatabaseError

NEWSDESK_TABLES = ("alembic_version", "sources", "items", "judgements")


@dataclass(frozen=True)
class Facts:
    """What a database file holds, for the messages around a backup or a restore."""

    revision: str | None
    stories: int
    size: int


def sqlite_path(db: Database) -> Path | None:
    """The file behind a SQLite database (None for PostgreSQL or memory)."""
    if not db.is_sqlite:
        return None
    database = make_url(db.url).database
    return Path(database) if database and database != ":memory:" else None


@contextlib.contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, timeout=30)
    try:
        yield conn
    finally:
        conn.close()


def _facts(conn: sqlite3.Connection, path: Path) -> Facts:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = [name for name in NEWSDESK_TABLES if name not in tables]
    if missing:
        names = ", ".join(missing)
        raise DatabaseError(f"{path} is not a newsdesk database: no {names} table in it")
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    stories = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    return Facts(revision=row[0] if row else None, stories=stories, size=path.stat().st_size)


def _check_intact(conn: sqlite3.Connection, path: Path) -> None:
    problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise DatabaseError(f"{path} is damaged: {problems[0]}")


def _scratch(beside: Path, tag: str) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{beside.name}.{tag}-", dir=beside.parent)
    os.close(handle)
    return Path(name)


def _remove(path: Path) -> None:
    for extra in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{extra}").unlink()


def backup_sqlite(db: Database, target: Path) -> tuple[Facts, float]:
    """Copy the live database into `target` (which must not exist or may be replaced);
    returns the copy's facts and the seconds it took."""
    source = sqlite_path(db)
    if source is None:
        raise DatabaseError("only a SQLite file can be backed up this way")
    started = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = _scratch(target, "partial")
    try:
        with _sqlite(source) as live, _sqlite(scratch) as copy:
            live.backup(copy)  # one step: one read transaction, a consistent moment
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _check_intact(copy, scratch)
            facts = _facts(copy, scratch)
        with open(scratch, "rb") as written:
            os.fsync(written.fileno())
        os.replace(scratch, target)
    except sqlite3.Error as exc:
        raise DatabaseError(f"backup of {source} failed: {exc}") from None
    finally:
        _remove(scratch)
    return Facts(facts.revision, facts.stories, target.stat().st_size), time.monotonic() - started


def prepare_restore(source: Path, beside: Path) -> Path:
    """A scratch copy of `source` next to `beside` (the live database, so the last copy stays
    on one file system), refusing at once a file that is not SQLite at all. The backup file
    itself is never opened by SQLite, so it is never changed (nor its journal replayed)."""
    try:
        with open(source, "rb") as handle:
            header = handle.read(16)
    except OSError as exc:
        raise DatabaseError(f"cannot read {source}: {exc.strerror or exc}") from None
    if header != b"SQLite format 3\x00":
        raise DatabaseError(f"{source} is not a newsdesk database: not a SQLite file")
    try:
        beside.parent.mkdir(parents=True, exist_ok=True)
        scratch = _scratch(beside, "restore")
    except OSError as exc:
        raise DatabaseError(f"cannot write beside {beside}: {exc.strerror or exc}") from None
    try:
        shutil.copyfile(source, scratch)
    except OSError as exc:
        _remove(scratch)
        raise DatabaseError(f"cannot copy {source} beside {beside}: {exc.strerror}") from None
    return scratch


def inspect_sqlite(prepared: Path, shown: Path) -> Facts:
    """The facts of a prepared copy, refusing anything that is not an intact newsdesk
    database (messages name `shown`, the file the operator gave)."""
    try:
        with _sqlite(prepared) as conn:
            _check_intact(conn, shown)
            facts = _facts(conn, shown)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{shown} is not a newsdesk database: {exc}") from None
    return Facts(facts.revision, facts.stories, shown.stat().st_size)


def live_facts(db: Database) -> Facts | None:
    """The facts of the database `db` points at, or None when it holds no desk yet."""
    path = sqlite_path(db)
    if path is not None and not path.exists():
        return None
    try:
        with db.read() as conn:
            stories = conn.exec_driver_sql("SELECT count(*) FROM items").scalar_one()
            revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except Exception:  # no tables yet: nothing to lose
        return None
    return Facts(revision=revision, stories=stories, size=path.stat().st_size if path else 0)


def restore_sqlite(prepared: Path, db: Database) -> None:
    """Copy a prepared (checked, migrated) file into the live database."""
    target = sqlite_path(db)
    if target is None:
        raise DatabaseError("only a SQLite file can be restored this way")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Into the live file, not a rename over it: the file keeps its inode and its WAL, so
        # processes that have it open see the new desk instead of a deleted one.
        with _sqlite(prepared) as ready, _sqlite(target) as live:
            ready.backup(live)
    except sqlite3.Error as exc:
        raise DatabaseError(f"restore into {target} failed: {exc}") from None
    finally:
        _remove(prepared)


def discard(prepared: Path) -> None:
    _remove(prepared)


# PostgreSQL: the server's own tools, run with the password in the environment, not argv.


def _pg_args(db: Database) -> tuple[list[str], dict[str, str], str | None]:
    url = make_url(db.url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    options = str(url.query.get("options") or "")
    schema = None
    if "search_path=" in options:
        schema = options.split("search_path=", 1)[1].split()[0].split(",")[0]
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    args += ["--no-password"]
    return args, env, schema


def pg_tool(name: str) -> str | None:
    return shutil.which(name)


def pg_command(db: Database, tool: str, file: Path) -> str:
    """The command an operator can run themselves (no password in it)."""
    url = make_url(db.url).set(drivername="postgresql", query={})
    shown = url.render_as_string(hide_password=True)
    if tool == "pg_dump":
        return f"pg_dump --format=custom --file={file} '{shown}'"
    return f"pg_restore --clean --if-exists --no-owner --dbname='{shown}' {file}"


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise DatabaseError(f"{what} failed: {lines[-1] if lines else done.returncode}")
    return done.stdout


def backup_postgres(db: Database, target: Path, pg_dump: str) -> float:
    started = time.monotonic()
    args, env, schema = _pg_args(db)
    database = make_url(db.url).database or "postgres"
    scratch = _scratch(target, "partial")
    try:
        command = [pg_dump, *args, "--format=custom", "--no-owner", f"--file={scratch}"]
        command += [f"--schema={schema}"] if schema else []
        _run([*command, database], env, "pg_dump")
        os.replace(scratch, target)
    finally:
        _remove(scratch)
    return time.monotonic() - started


def inspect_pg_archive(db: Database, path: Path, pg_restore: str) -> None:
    """Refuse a file that is not a pg_dump archive of a newsdesk database, or one whose tables
    live in another schema than the target's (pg_restore puts them back where they were)."""
    listing = _run([pg_restore, "--list", str(path)], dict(os.environ), f"reading {path}")
    # a table's line: "215; 1259 16390 TABLE public items postgres" (owner may be absent)
    found = [line.split(" TABLE ", 1)[1].split() for line in listing.splitlines()
             if " TABLE " in line and not line.startswith(";")]  # fmt: skip
    tables = {parts[1] for parts in found if len(parts) >= 2}
    missing = [name for name in NEWSDESK_TABLES if name not in tables]
    if missing:
        raise DatabaseError(f"{path} is not a newsdesk database: no {', '.join(missing)} table")
    schemas = {parts[0] for parts in found if len(parts) >= 2 and parts[1] in NEWSDESK_TABLES}
    target = _pg_args(db)[2] or "public"
    if schemas != {target}:
        raise DatabaseError(
            f"{path} holds the desk of schema {', '.join(sorted(schemas))}, not {target}"
        )


def restore_postgres(db: Database, source: Path, pg_restore: str) -> None:
    args, env, _schema = _pg_args(db)
    database = make_url(db.url).database or "postgres"
    command = [pg_restore, *args, "--clean", "--if-exists", "--no-owner", "--single-transaction"]
    _run([*command, f"--dbname={database}", str(source)], env, "pg_restore")
