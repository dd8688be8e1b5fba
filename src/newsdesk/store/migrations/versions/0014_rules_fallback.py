"""rules fallback: what the rules editor and grouping rules decided in the model's place

judgements.fallback and event_judgements.fallback (why the rules judged; such a verdict is
replaced by the model's on a later pass), event_members.fallback (why the rules placed a story;
grouping asks the model again and regroups where it disagrees), judgements.coverage (the
sources count a story was judged with, so a regroup that changes it judges the story again)

Revision ID: 0014_rules_fallback
Revises: 0013_media
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_rules_fallback"
down_revision: str | None = "0013_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("judgements", sa.Column("fallback", sa.Text(), nullable=True))
    op.add_column("judgements", sa.Column("coverage", sa.Integer(), nullable=True))
    op.add_column("event_judgements", sa.Column("fallback", sa.Text(), nullable=True))
    op.add_column("event_members", sa.Column("fallback", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("event_members", "fallback")
    op.drop_column("event_judgements", "fallback")
    op.drop_column("judgements", "coverage")
    op.drop_column("judgements", "fallback")
