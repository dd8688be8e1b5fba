"""vectors: item_vectors (model, dimension, float16 bytes, revision) replaces item_embeddings;
item_aliases (a re-post's identity pointing at the story it repeats)

Revision ID: 0012_vectors
Revises: 0011_feed_indexes
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from struct import pack

import sqlalchemy as sa
from alembic import op

revision: str = "0012_vectors"
down_revision: str | None = "0011_feed_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "item_vectors",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "model"),
    )
    op.create_index("ix_item_vectors_model_created", "item_vectors", ["model", "created_at"])
    # Vectors an embeddings endpoint made before keep their model's name, as endpoint/NAME
    # (embed/endpoint.py), normalised to unit length and stored as float16.
    old = sa.table(
        "item_embeddings",
        sa.column("item_id", sa.Integer()),
        sa.column("model", sa.String()),
        sa.column("vector", sa.JSON()),
    )
    conn = op.get_bind()
    rows = []
    for item_id, model, vector in conn.execute(sa.select(old.c.item_id, old.c.model, old.c.vector)):
        values = [float(x) for x in vector or []]
        norm = sum(x * x for x in values) ** 0.5 or 1.0
        blob = pack(f"<{len(values)}e", *(x / norm for x in values))
        rows.append({"item_id": item_id, "model": f"endpoint/{model}", "dim": len(values),
                     "vector": blob, "revision": 0, "created_at": datetime.now(UTC)})  # fmt: skip
    if rows:
        op.bulk_insert(table, rows)
    op.drop_table("item_embeddings")
    op.create_table(
        "item_aliases",
        sa.Column("identity_key", sa.String(length=600), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("identity_key"),
    )


def downgrade() -> None:
    op.drop_table("item_aliases")
    op.create_table(
        "item_embeddings",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("vector", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "model"),
    )
    op.drop_index("ix_item_vectors_model_created", table_name="item_vectors")
    op.drop_table("item_vectors")
