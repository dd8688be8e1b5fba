"""media: items.media (an episode's or a video's player, duration, transcript links) and
item_transcripts (what the transcripts step fetched)

Revision ID: 0013_media
Revises: 0012_vectors
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_media"
down_revision: str | None = "0012_vectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("items", sa.Column("media", sa.JSON(), nullable=True))
    op.create_table(
        "item_transcripts",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("format", sa.String(length=12), nullable=False, server_default=""),
        sa.Column("url", sa.Text(), nullable=False, server_default=""),
        sa.Column("segments", sa.JSON(), nullable=True),
        sa.Column("chapters", sa.JSON(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False, server_default=""),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id"),
    )


def downgrade() -> None:
    op.drop_table("item_transcripts")
    op.drop_column("items", "media")
