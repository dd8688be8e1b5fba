"""`newsdesk db backup FILE` and `newsdesk db restore FILE` (store/backup.py does the work)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from newsdesk.cli.common import UserError, friendly_errors, out, settings_for
from newsdesk.store import backup
from newsdesk.store.db import Database
from newsdesk.store.migrate import alembic_config, current_revision, head_revision, upgrade

app = typer.Typer()

FileArg = Annotated[Path, typer.Argument(help="The backup file.", dir_okay=False)]


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} kB"


def _open() -> Database:
    db = Database(settings_for().effective_database_url)
    db.check()
    return db


@app.command("backup")
def db_backup(
    file: FileArg,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Copy the database to FILE while the desk keeps running (pg_dump on PostgreSQL)."""
    with friendly_errors():
        if file.exists() and not force:
            raise UserError(f"{file} already exists; pass --force to replace it")
        db = _open()
        try:
            live = backup.sqlite_path(db)
            if live is not None and _same_file(file, live):
                raise UserError(f"{file} is the database itself; back it up to another file")
            if db.is_sqlite:
                facts, seconds = backup.backup_sqlite(db, file)
                out.print(f"backed up {escape(db.safe_url)} to {escape(str(file))}: "
                          f"{_size(facts.size)}, {facts.stories} stories, schema "
                          f"{facts.revision}, in {seconds:.1f} s", highlight=False)  # fmt: skip
                return
            pg_dump = backup.pg_tool("pg_dump")
            if pg_dump is None:
                raise UserError("pg_dump is not installed (Debian: postgresql-client); run: "
                                + backup.pg_command(db, "pg_dump", file))  # fmt: skip
            seconds = backup.backup_postgres(db, file, pg_dump)
            size = _size(file.stat().st_size)
            out.print(f"backed up {escape(db.safe_url)} to {escape(str(file))} with pg_dump: "
                      f"{size} in {seconds:.1f} s; restore with: newsdesk db restore "
                      f"{escape(str(file))}", highlight=False)  # fmt: skip
        finally:
            db.close()


def _confirm(db: Database, stories: int, yes: bool, file: Path) -> None:
    if yes:
        return
    question = (f"{db.safe_url} holds a desk with {stories} stories; replace it with "
                f"{file}?")  # fmt: skip
    if sys.stdin.isatty() and typer.confirm(question, default=False):
        return
    raise UserError(f"{db.safe_url} holds a desk with {stories} stories; not replaced "
                    "(pass --yes to replace it)")  # fmt: skip


@app.command("restore")
def db_restore(
    file: FileArg,
    yes: Annotated[
        bool, typer.Option("--yes", help="Replace a database that holds a desk, unasked.")
    ] = False,
) -> None:
    """Replace the database with a checked backup, migrated to this version's schema."""
    with friendly_errors():
        if not file.is_file():
            raise UserError(f"{file} is not a file")
        db = _open()
        try:
            if db.is_sqlite:
                _restore_sqlite(db, file, yes)
            else:
                _restore_postgres(db, file, yes)
        finally:
            db.close()


def _restore_sqlite(db: Database, file: Path, yes: bool) -> None:
    target = backup.sqlite_path(db)
    assert target is not None
    if _same_file(file, target):
        raise UserError(f"{file} is the database itself; restore from a backup of it")
    prepared = backup.prepare_restore(file, target)  # refuses a file that is not SQLite
    try:
        facts = backup.inspect_sqlite(prepared, file)  # ... or not an intact newsdesk desk
        _known_revision(db, file, facts.revision)
        live = backup.live_facts(db)
        if live is not None and live.stories:
            _confirm(db, live.stories, yes, file)
        scratch = Database(f"sqlite:///{prepared}")
        try:
            upgrade(scratch)  # a backup from an older newsdesk comes back at today's schema
            head = current_revision(scratch)
        finally:
            scratch.close()
    except BaseException:
        backup.discard(prepared)
        raise
    backup.restore_sqlite(prepared, db)
    moved = f"schema {facts.revision} → {head}" if facts.revision != head else f"schema {head}"
    out.print(f"restored {escape(str(file))} into {escape(db.safe_url)}: {facts.stories} "
              f"stories, {moved}", highlight=False)  # fmt: skip


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def _known_revision(db: Database, file: Path, revision: str | None) -> None:
    from alembic.script import ScriptDirectory  # only here: Alembic is slow to import
    from alembic.util.exc import CommandError

    try:
        ScriptDirectory.from_config(alembic_config(db)).get_revision(revision)
    except CommandError:
        raise UserError(f"{file} is at schema revision {revision}, which this newsdesk does not "
                        "know: it was written by a newer newsdesk; upgrade newsdesk first"
                        ) from None  # fmt: skip


def _restore_postgres(db: Database, file: Path, yes: bool) -> None:
    pg_restore = backup.pg_tool("pg_restore")
    if pg_restore is None:
        raise UserError("pg_restore is not installed (Debian: postgresql-client); run: "
                        + backup.pg_command(db, "pg_restore", file)
                        + ", then newsdesk db upgrade")  # fmt: skip
    backup.inspect_pg_archive(db, file, pg_restore)
    live = backup.live_facts(db)
    if live is not None and live.stories:
        _confirm(db, live.stories, yes, file)
    backup.restore_postgres(db, file, pg_restore)
    before = current_revision(db)
    upgrade(db)
    head = head_revision(db)
    facts = backup.live_facts(db)
    moved = f"schema {before} → {head}" if before != head else f"schema {head}"
    stories = facts.stories if facts else 0
    out.print(f"restored {escape(str(file))} into {escape(db.safe_url)} with pg_restore: "
              f"{stories} stories, {moved}", highlight=False)  # fmt: skip
