"""On PostgreSQL every desk table tells the server processes that it changed (migration
0016_change_notify; store/changes.py): a table without the trigger would let a page keep
showing what it read before a write to that table. A new table needs the trigger too."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from newsdesk.store import schema as t
from newsdesk.store.db import Database


def test_every_desk_table_notifies_its_changes(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite's data_version needs no trigger")
    with db.read() as conn:
        with_trigger = set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
                    "WHERE g.tgname = 'newsdesk_changed' AND c.relnamespace = "
                    "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
                )
            ).scalars()
        )
    missing = sorted(set(t.metadata.tables) - with_trigger)
    assert not missing, f"tables without the newsdesk_changed trigger: {missing}"
