"""event_judgements: one judgement per multi-source event, the event's current verdict

Revision ID: 0007_event_judgements
Revises: 0006_outputs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_event_judgements"
down_revision: str | None = "0006_outputs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_judgements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy_version", sa.String(length=40), nullable=False),
        sa.Column("editor", sa.String(length=120), nullable=False),
        sa.Column("importance", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=12), nullable=False),
        sa.Column("hook", sa.Boolean(), nullable=False),
        sa.Column("knowledge", sa.Boolean(), nullable=False),
        sa.Column("resonance", sa.Boolean(), nullable=False),
        sa.Column("hook_reason", sa.Text(), nullable=False),
        sa.Column("knowledge_reason", sa.Text(), nullable=False),
        sa.Column("resonance_reason", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("title_zh", sa.Text(), nullable=False),
        sa.Column("summary_en", sa.Text(), nullable=False),
        sa.Column("summary_zh", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("excluded_reason", sa.Text(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=True),
        sa.Column("lead_item_id", sa.Integer(), nullable=True),
        sa.Column("lead_revision", sa.Integer(), nullable=False),
        sa.Column("sources_count", sa.Integer(), nullable=False),
        sa.Column("coverage_bonus", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipts.id"]),
        sa.ForeignKeyConstraint(["lead_item_id"], ["items.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_event_judgements_event", "event_judgements", ["event_id", "id"])
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("judgement_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tier", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("importance", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("judge_error", sa.Text(), nullable=True))
    op.create_index("ix_events_lead", "events", ["lead_item_id"])


def downgrade() -> None:
    op.drop_index("ix_events_lead", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("judge_error")
        batch.drop_column("importance")
        batch.drop_column("tier")
        batch.drop_column("judgement_id")
    op.drop_index("ix_event_judgements_event", table_name="event_judgements")
    op.drop_table("event_judgements")
