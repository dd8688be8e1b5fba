"""Run Alembic migrations from inside the package (no alembic.ini needed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from newsdesk.store.db import Database, DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(db), revision)


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
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()
