"""editor: receipt send times and attempts, faithfulness-guard flags

Revision ID: 0003_editor
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_editor"
down_revision: str | None = "0002_collect"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "guard_flags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("guard_flags", schema=None) as batch_op:
        batch_op.create_index("ix_guard_flags_item", ["item_id"], unique=False)
        batch_op.create_index("ix_guard_flags_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("guard_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_guard_flags_created")
        batch_op.drop_index("ix_guard_flags_item")
    op.drop_table("guard_flags")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("sent_at")
