"""Run Alembic migrations from inside the package (no alembic.ini needed)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from newsdesk.store.db import Database, DatabaseError
from newsdesk.store.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (with Mako and Pygments under it) is imported only when a migration really runs:
# every command opens the database through `upgrade`, and at head it costs one SELECT instead
# of ~0.2 s of CPU importing Alembic and reading every revision file.
MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.MULTILINE)


def head_from_files() -> str:
    """The newest revision, read from the newest revision file's `revision = "…"` line
    (files are numbered in chain order; a test checks this agrees with Alembic's head)."""
    newest = max((MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    found = _REVISION.search(newest.read_text(encoding="utf-8"))
    if found is None:
        raise DatabaseError(f"{newest.name} names no revision")
    return found.group(1)


def _recorded_quickly(db: Database) -> str | None:
    """The recorded revision without Alembic; None when there is none (or no table)."""
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except (OperationalError, ProgrammingError):
        return None
    return rows[0][0] if len(rows) == 1 else None


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(
    db: Database, revision: str = "head", progress: Callable[[str, str], None] | None = None
) -> None:
    """Migrate to `revision`; a schema that does not match its recorded version is one
    DatabaseError saying what to do, never Alembic's traceback. `progress(revision, what)`
    is called as each revision starts."""
    if revision == "head" and _recorded_quickly(db) == head_from_files():
        return
    from alembic import command

    recorded = _check_recorded_version(db)
    reporter = _Progress(progress) if progress else None
    if reporter:
        _ALEMBIC_LOG.addHandler(reporter)
        _ALEMBIC_LOG.setLevel(logging.INFO)
    try:
        command.upgrade(alembic_config(db), revision)
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if "already exists" not in reason:
            raise
        raise DatabaseError(
            f"the schema of {db.safe_url} is ahead of its recorded version "
            f"({recorded or 'none'}): {reason}. An interrupted upgrade of an older newsdesk "
            f"left it half-migrated; {_what_to_do(db)}"
        ) from None
    finally:
        if reporter:
            _ALEMBIC_LOG.removeHandler(reporter)


_ALEMBIC_LOG = logging.getLogger("alembic.runtime.migration")


class _Progress(logging.Handler):
    """Alembic logs "Running %s" with the migration step as a revision starts; pass on the
    revision it leads to and its one-line description."""

    def __init__(self, progress: Callable[[str, str], None]) -> None:
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        step = record.args[0] if isinstance(record.args, tuple) and record.args else None
        targets = getattr(step, "to_revisions_no_deps", None)
        if record.msg == "Running %s" and getattr(step, "is_upgrade", False) and targets:
            self.progress(",".join(targets), str(getattr(step, "doc", "") or ""))


def _check_recorded_version(db: Database) -> str | None:
    """The recorded revision, after refusing the two states an upgrade cannot fix."""
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    recorded = current_revision(db)
    if recorded is None:
        with db.engine.connect() as conn:
            present = set(inspect(conn).get_table_names()) & set(metadata.tables)
        if present:
            raise DatabaseError(
                f"{db.safe_url} has {len(present)} newsdesk tables but no recorded schema "
                f"version (an interrupted first upgrade of an older newsdesk); {_what_to_do(db)}"
            )
        return None
    try:
        ScriptDirectory.from_config(alembic_config(db)).get_revision(recorded)
    except CommandError:
        raise DatabaseError(
            f"{db.safe_url} is at schema revision {recorded}, which this newsdesk does not "
            f"know (its newest is {head_revision(db)}): it was upgraded by a newer newsdesk; "
            "run that version, or restore a backup made before the upgrade"
        ) from None
    return recorded


def _what_to_do(db: Database) -> str:
    if db.is_sqlite:
        path = db.engine.url.database
        return (
            f"restore a backup, or move {path} aside and run `newsdesk db upgrade` to start afresh"
        )
    return "restore a backup, or drop its tables and run `newsdesk db upgrade` to start afresh"


@contextmanager
def sqlite_foreign_keys_off(conn: Connection) -> Iterator[None]:
    """Foreign keys off while migrating SQLite. A batch migration copies a table, drops the
    old one and renames the copy; with foreign keys on, that DROP deletes, by ON DELETE
    CASCADE, every row of every table that points at it (an upgrade of a 0001 desk lost all
    its stories this way). The pragma works only outside a transaction, so it goes to the
    driver's connection before Alembic begins one; afterwards the rows are checked, as
    SQLite's own recipe for altering tables does, and the keys are on again."""
    if conn.dialect.name != "sqlite":
        yield
        return
    driver: Any = conn.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        broken = driver.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        driver.execute("PRAGMA foreign_keys=ON")  # the pooled connection serves the app next
    if broken:
        tables = ", ".join(sorted({row[0] for row in broken}))
        raise DatabaseError(f"after migrating, rows of {tables} point at rows that do not exist")


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()
