"""people: accounts and roles, sessions per account, saves per account, the account behind
each vote and desk action, follows, personal feed tokens, alert targets, read marks per account,
and event members that repeat a happening with a different figure

Revision ID: 0015_people
Revises: 0014_rules_fallback

Sessions made before accounts belonged to no one: they are ended (sign in again). Saved
collections made before belong to the bootstrap admin (`NEWSDESK_ADMIN_PASSWORD`), whose
account row is made here when there are any.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0015_people"
down_revision: str | None = "0014_rules_fallback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
BOOTSTRAP = "admin"


def _user_fk() -> sa.ForeignKey:
    return sa.ForeignKey("users.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False, server_default=""),
        sa.Column("bootstrap", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("alert_key", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    # Sessions: one account each; the old ones (no account) end here.
    op.drop_index("ix_editor_sessions_expires", "editor_sessions")
    op.drop_table("editor_sessions")
    op.create_table(
        "editor_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), _user_fk(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("address", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_agent", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("ix_editor_sessions_expires", "editor_sessions", ["expires_at"])
    op.create_index("ix_editor_sessions_user", "editor_sessions", ["user_id"])

    # Collections per account: (account, name) is unique, no longer the name alone.
    bind = op.get_bind()
    owner = None
    if bind.execute(sa.text("SELECT 1 FROM collections LIMIT 1")).first():
        now = datetime.now(UTC)
        users = sa.table(
            "users", sa.column("id", sa.Integer), sa.column("name"), sa.column("role"),
            sa.column("bootstrap", sa.Boolean), sa.column("created_at", TS),
            sa.column("updated_at", TS),
        )  # fmt: skip
        owner = bind.execute(
            sa.insert(users)
            .values(name=BOOTSTRAP, role="admin", bootstrap=True, created_at=now, updated_at=now)
            .returning(users.c.id)
        ).scalar_one()
    if bind.dialect.name == "postgresql":
        op.add_column("collections", sa.Column("user_id", sa.Integer(), _user_fk()))
        op.drop_constraint("collections_name_key", "collections", type_="unique")
        op.create_unique_constraint("uq_collections_user_name", "collections", ["user_id", "name"])
    else:
        naming = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
        with op.batch_alter_table("collections", naming_convention=naming) as batch:
            batch.add_column(
                sa.Column(
                    "user_id",
                    sa.Integer(),
                    sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_collections_user"),
                )
            )
            batch.drop_constraint("uq_collections_name", type_="unique")
            batch.create_unique_constraint("uq_collections_user_name", ["user_id", "name"])
    if owner is not None:
        bind.execute(sa.text("UPDATE collections SET user_id = :u"), {"u": owner})

    # A repeat with a different figure is news to an event's followers (store/follows.py).
    op.add_column(
        "event_members",
        sa.Column("new_number", sa.Boolean(), nullable=False, server_default=sa.false()),
    )

    # Who cast each vote (the name stays in `editor`; a deleted account's becomes anonymous).
    op.add_column("feedback", sa.Column("user_id", sa.Integer(), nullable=True))
    op.create_index("ix_feedback_user", "feedback", ["user_id"])
    op.create_table(
        "desk_actions",
        # who merged, split, changed a source, a budget or an account: the admin's record
        sa.Column("id", sa.Integer(), autoincrement=True, primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("account", sa.String(120), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False, server_default=""),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_desk_actions_created", "desk_actions", ["created_at"])
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), autoincrement=True, primary_key=True),
        sa.Column("user_id", sa.Integer(), _user_fk(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),  # event, tag, entity, source, search
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("alert", sa.String(10), nullable=False, server_default="off"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.UniqueConstraint("user_id", "kind", "target", name="uq_follows_user_target"),
    )
    op.create_index("ix_follows_target", "follows", ["kind", "target"])
    op.create_table(
        "feed_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), _user_fk(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_feed_tokens_user", "feed_tokens", ["user_id"])
    op.create_table(
        "alert_targets",
        sa.Column("id", sa.Integer(), autoincrement=True, primary_key=True),
        sa.Column("user_id", sa.Integer(), _user_fk(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("label", sa.String(80), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_alert_targets_user", "alert_targets", ["user_id"])
    op.create_table(
        "user_marks",
        sa.Column("user_id", sa.Integer(), _user_fk(), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("starred", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_marks")
    op.drop_index("ix_alert_targets_user", "alert_targets")
    op.drop_table("alert_targets")
    op.drop_index("ix_feed_tokens_user", "feed_tokens")
    op.drop_table("feed_tokens")
    op.drop_index("ix_follows_target", "follows")
    op.drop_table("follows")
    op.drop_index("ix_desk_actions_created", "desk_actions")
    op.drop_table("desk_actions")
    op.drop_column("event_members", "new_number")
    op.drop_index("ix_feedback_user", "feedback")
    op.drop_column("feedback", "user_id")
    with op.batch_alter_table("collections") as batch:
        batch.drop_constraint("uq_collections_user_name", type_="unique")
        batch.drop_column("user_id")
        batch.create_unique_constraint("collections_name_key", ["name"])
    op.drop_index("ix_editor_sessions_user", "editor_sessions")
    op.drop_index("ix_editor_sessions_expires", "editor_sessions")
    op.drop_table("editor_sessions")
    op.create_table(
        "editor_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_editor_sessions_expires", "editor_sessions", ["expires_at"])
    op.drop_table("users")
