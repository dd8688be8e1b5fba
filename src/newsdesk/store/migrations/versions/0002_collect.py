"""collect: source options and push tokens, pushed entries, item signals and full-text status

Revision ID: 0002_collect
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_collect"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a unique constraint with a plain ALTER TABLE
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("options", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("token_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_sources_token_hash", ["token_hash"])
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("signals", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("fulltext_status", sa.String(length=20), nullable=True))
    op.create_table(
        "pushed_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_pushed_entries_pending", "pushed_entries", ["source_id", "taken_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_pushed_entries_pending", table_name="pushed_entries")
    op.drop_table("pushed_entries")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("fulltext_status")
        batch.drop_column("signals")
    with op.batch_alter_table("sources") as batch:
        batch.drop_constraint("uq_sources_token_hash", type_="unique")
        batch.drop_column("token_hash")
        batch.drop_column("options")
