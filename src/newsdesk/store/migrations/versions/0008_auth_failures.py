"""auth_failures: failed sign-ins per account and per client address

Revision ID: 0008_auth_failures
Revises: 0007_event_judgements
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_auth_failures"
down_revision: str | None = "0007_event_judgements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    op.create_index("ix_auth_failures_last", "auth_failures", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index("ix_auth_failures_last", table_name="auth_failures")
    op.drop_table("auth_failures")
