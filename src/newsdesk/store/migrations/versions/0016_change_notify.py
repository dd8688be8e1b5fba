"""change notifications: every commit that writes a desk table says NOTIFY newsdesk_changed
(PostgreSQL only; SQLite's own data_version tells the same), so a server process knows when
what it read may have changed (store/changes.py)

Revision ID: 0016_change_notify
Revises: 0015_people
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_change_notify"
down_revision: str | None = "0015_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = "newsdesk_changed"
# the job queue's own tables churn with every job and show nothing on a page
SKIP = ("alembic_version",)
SKIP_PREFIX = "procrastinate"


def desk_tables(bind: sa.engine.Connection) -> list[str]:
    return [
        name
        for name in sa.inspect(bind).get_table_names()
        if name not in SKIP and not name.startswith(SKIP_PREFIX)
    ]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # One notification per transaction at most: PostgreSQL folds identical ones, and a
    # statement-level trigger fires once per statement, not per row.
    op.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{FUNCTION}', ''); RETURN NULL; END $$"
    )
    for table in desk_tables(bind):
        op.execute(
            f'CREATE TRIGGER {FUNCTION} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}" '
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in desk_tables(bind):
        op.execute(f'DROP TRIGGER IF EXISTS {FUNCTION} ON "{table}"')
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
