"""queue: Procrastinate's job tables on PostgreSQL, and desk_state for the fleet's pause reason

Revision ID: 0009_queue
Revises: 0008_auth_failures
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_queue"
down_revision: str | None = "0008_auth_failures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Procrastinate's own schema, as shipped by the pinned version (3.10.0). A later version's
# schema changes come as its migration files, applied in a revision of their own.
PROCRASTINATE_TABLES = ("procrastinate_periodic_defers", "procrastinate_events",
                        "procrastinate_jobs", "procrastinate_workers")  # fmt: skip


def upgrade() -> None:
    # What every worker must see alike: why model steps are paused (a spent budget), so
    # `queue status` and the admin pages can say it. One row per key.
    op.create_table(
        "desk_state",
        sa.Column("key", sa.String(length=60), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # workers need PostgreSQL; the single-process desk has no queue
    from procrastinate.schema import SchemaManager

    # run as written: the driver sees '%%' as a literal '%' (as Procrastinate's own apply does)
    bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in PROCRASTINATE_TABLES:
            bind.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.drop_table("desk_state")
