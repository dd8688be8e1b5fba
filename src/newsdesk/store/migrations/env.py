"""Alembic environment: the engine comes from `newsdesk.store.migrate`, never from a file."""

from alembic import context

from newsdesk.store.migrate import sqlite_foreign_keys_off
from newsdesk.store.schema import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection, sqlite_foreign_keys_off(connection):
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        # One transaction per revision, its version row included: a kill mid-upgrade leaves
        # the database at the last whole revision, on SQLite too (store/db.py emits the BEGIN
        # that makes SQLite's DDL transactional).
        transaction_per_migration=True,
        transactional_ddl=True,  # Alembic assumes SQLite's DDL is not; with our BEGIN it is
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
