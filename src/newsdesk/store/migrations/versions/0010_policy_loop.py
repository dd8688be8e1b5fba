"""policy loop: judgement breakdowns, votes with their judgement, numbered policy versions,
activations and the admin's policy jobs

Revision ID: 0010_policy_loop
Revises: 0009_queue
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_policy_loop"
down_revision: str | None = "0009_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("judgements", "event_judgements"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("breakdown", sa.JSON(), nullable=True))
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("judgement_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("policy_version", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("importance", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tier", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("hkr", sa.String(length=3), nullable=True))
        batch.add_column(
            sa.Column("origin", sa.String(length=20), nullable=False, server_default="web")
        )
    op.create_index("ix_feedback_item", "feedback", ["item_id"])
    # a vote cast before this migration answered the story's judgement of the time, which
    # is still its current one unless it was judged again since: the best snapshot there is
    op.execute(
        sa.text(
            "UPDATE feedback SET judgement_id = (SELECT items.judgement_id FROM items"
            " WHERE items.id = feedback.item_id)"
        )
    )
    for column, source in (
        ("policy_version", "policy_version"),
        ("importance", "importance"),
        ("tier", "tier"),
    ):
        op.execute(
            sa.text(
                f"UPDATE feedback SET {column} = (SELECT judgements.{source} FROM judgements"
                " WHERE judgements.id = feedback.judgement_id)"
            )
        )
    with op.batch_alter_table("policy_versions") as batch:
        batch.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("origin", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("proposal", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("preview", sa.JSON(), nullable=True))
        batch.create_unique_constraint("uq_policy_versions_number", ["number"])
    # number the versions already recorded in the order they were recorded
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT version FROM policy_versions ORDER BY created_at, version")
    ).all()
    for number, (version,) in enumerate(rows, 1):
        conn.execute(
            sa.text("UPDATE policy_versions SET number = :n WHERE version = :v"),
            {"n": number, "v": version},
        )
    op.create_table(
        "policy_activations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("previous", sa.String(length=40), nullable=True),
        sa.Column("editor", sa.String(length=120), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("preview", sa.JSON(), nullable=True),
        sa.Column("feedback_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "policy_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("policy_jobs")
    op.drop_table("policy_activations")
    with op.batch_alter_table("policy_versions") as batch:
        batch.drop_constraint("uq_policy_versions_number", type_="unique")
        for column in ("preview", "proposal", "created_by", "origin", "number"):
            batch.drop_column(column)
    op.drop_index("ix_feedback_item", table_name="feedback")
    with op.batch_alter_table("feedback") as batch:
        for column in ("origin", "hkr", "tier", "importance", "policy_version", "judgement_id"):
            batch.drop_column(column)
    for table in ("event_judgements", "judgements"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("breakdown")
