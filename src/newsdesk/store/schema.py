"""Tables. The migrations in `migrations/versions` create them; this module is what code queries.

Conventions: times are timezone-aware UTC; JSON columns hold small lists/dicts; judgements,
revisions and usage rows are append-only, and `items` carries a pointer to its current judgement
so the read layer filters by tier without scanning history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both engines (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()
TS = UTCDateTime()

sources = Table(
    "sources",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_zh", String(200), nullable=False, default=""),
    Column("url", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("group_name", String(40), nullable=False),
    Column("language", String(10), nullable=False),
    Column("tier", String(8), nullable=False),
    Column("cadence_min", Integer, nullable=False),
    Column("cadence_max", Integer, nullable=False),
    Column("tags", JSON, nullable=False, default=list),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("notes", Text, nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    # health and polling state
    Column("first_import_done", Boolean, nullable=False, default=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_poll_at", TS),
    Column("last_fetch_at", TS),
    Column("last_success_at", TS),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_error_code", String(40)),
    Column("last_error_message", Text),
    Column("status", String(20), nullable=False, default="new"),
    # kind settings (selectors, dot-paths, preset) and, for push sources, the token's SHA-256
    Column("options", JSON),
    Column("token_hash", String(64), unique=True),
)

pushed_entries = Table(
    "pushed_entries",
    metadata,
    # what POST /api/ingest accepted, waiting for the collect step to normalise and store it
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(100), ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("received_at", TS, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("taken_at", TS),
    Index("ix_pushed_entries_pending", "source_id", "taken_at"),
)

fetch_runs = Table(
    "fetch_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(100), ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS, nullable=False),
    Column("http_status", Integer),
    Column("error_code", String(40)),
    Column("error_message", Text),
    Column("bytes", Integer, nullable=False, default=0),
    Column("entries", Integer, nullable=False, default=0),
    Column("new_items", Integer, nullable=False, default=0),
    Index("ix_fetch_runs_source", "source_id", "started_at"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("identity_key", String(600), nullable=False, unique=True),
    Column("source_id", String(100), ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("guid", Text, nullable=False, default=""),
    Column("title", Text, nullable=False),
    Column("body_text", Text, nullable=False, default=""),
    Column("body_html", Text, nullable=False, default=""),
    Column("language", String(10), nullable=False),
    Column("authors", JSON, nullable=False, default=list),
    Column("published_at", TS),
    Column("filed_at", TS, nullable=False),
    Column("first_seen_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("backfill", Boolean, nullable=False, default=False),
    Column("content_hash", String(64), nullable=False),
    Column("revision", Integer, nullable=False, default=1),
    Column("signals", JSON),  # categories, points, comments, … as the source gave them
    # an episode's or a video's player, duration, transcripts (domain.Media.as_json); NULL else
    Column("media", JSON(none_as_null=True)),
    # full-text step: NULL not tried, "feed" body long enough, "ok" extracted, "unconfirmed"
    Column("fulltext_status", String(20)),
    # the current verdict, copied from the newest judgement for fast filtering
    Column("judgement_id", Integer),
    Column("tier", String(12)),
    Column("importance", Integer),
    Column("judge_error", Text),
    Index("ix_items_tier_filed", "tier", "filed_at"),
    Index("ix_items_filed", "filed_at"),
    Index("ix_items_source", "source_id", "filed_at"),
    Index("ix_items_language_filed", "language", "filed_at"),
)

item_transcripts = Table(
    "item_transcripts",
    metadata,
    # what the transcripts step found for a story with media: one row once it has looked
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    # ok (a transcript), none (nothing to fetch or nothing usable), failed, retry (after
    # `retry_at`: a timeout or a server error)
    Column("status", String(12), nullable=False),
    Column("format", String(12), nullable=False, default=""),  # vtt, srt, json, html, text, …
    Column("url", Text, nullable=False, default=""),
    Column("segments", JSON(none_as_null=True)),  # [[start, end|null, speaker, text], …]
    Column("chapters", JSON(none_as_null=True)),  # [[start, title], …]
    Column("text", Text, nullable=False, default=""),  # the words, for search and the editor
    Column("error", Text, nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0),
    Column("retry_at", TS),
    Column("fetched_at", TS, nullable=False),
)

item_tags = Table(
    "item_tags",
    metadata,
    # the current judgement's tags, one row each, so tag filters use an index
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(80), primary_key=True),
    # the story's filing time, copied (and kept in step by repo.py), so a tag's stories are
    # read newest first from the tag's own index (0011_feed_indexes)
    Column("filed_at", TS),
    Index("ix_item_tags_tag", "tag", "item_id"),
    Index("ix_item_tags_feed", "tag", "filed_at", "item_id"),
)

item_revisions = Table(
    "item_revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("seen_at", TS, nullable=False),
    UniqueConstraint("item_id", "revision"),
)

discoveries = Table(
    "discoveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("source_id", String(100), ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("seen_at", TS, nullable=False),
    UniqueConstraint("item_id", "source_id"),
)


def _verdict_columns() -> list[Column[Any]]:
    """What a judgement says, alike for a story (judgements) and for a multi-source event
    judged as a whole (event_judgements); new Column objects each call, since a column
    belongs to one table."""
    return [
        Column("created_at", TS, nullable=False),
        Column("policy_version", String(40), nullable=False),
        Column("editor", String(120), nullable=False),
        Column("importance", Integer, nullable=False),
        Column("tier", String(12), nullable=False),
        Column("hook", Boolean, nullable=False),
        Column("knowledge", Boolean, nullable=False),
        Column("resonance", Boolean, nullable=False),
        Column("hook_reason", Text, nullable=False, default=""),
        Column("knowledge_reason", Text, nullable=False, default=""),
        Column("resonance_reason", Text, nullable=False, default=""),
        Column("tags", JSON, nullable=False),
        Column("title_en", Text, nullable=False, default=""),
        Column("title_zh", Text, nullable=False, default=""),
        Column("summary_en", Text, nullable=False, default=""),
        Column("summary_zh", Text, nullable=False, default=""),
        Column("why", Text, nullable=False, default=""),
        Column("excluded_reason", Text, nullable=False, default=""),
        Column("receipt_id", Integer, ForeignKey("receipts.id")),
    ]


judgements = Table(
    "judgements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    *_verdict_columns(),
    # what code added to the editor's score: policy bonuses and editors' adjustments
    # ([{"points", "label", "origin"}]); NULL for judgements made before it was recorded
    Column("breakdown", JSON),
    # why the rules editor judged in the model's place (the model failed); NULL otherwise.
    # The story's judge_error carries it too, so the next pass asks the model again.
    Column("fallback", Text),
    # the sources count the story was judged with (NULL before 0014): a regroup that changes
    # it makes the story due again
    Column("coverage", Integer),
    Index("ix_judgements_item", "item_id", "id"),
)

commentary = Table(
    "commentary",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE")),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE")),
    Column("created_at", TS, nullable=False),
    Column("policy_version", String(40), nullable=False),
    Column("editor", String(120), nullable=False),
    Column("take_en", Text, nullable=False, default=""),
    Column("take_zh", Text, nullable=False, default=""),
    Column("sharp_en", Text, nullable=False, default=""),
    Column("sharp_zh", Text, nullable=False, default=""),
    Column("receipt_id", Integer, ForeignKey("receipts.id")),
    Index("ix_commentary_item", "item_id", "id"),
    Index("ix_commentary_event", "event_id", "id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title_en", Text, nullable=False, default=""),
    Column("title_zh", Text, nullable=False, default=""),
    Column("lead_item_id", Integer, ForeignKey("items.id", ondelete="SET NULL")),
    Column("sources_count", Integer, nullable=False, default=1),
    Column("heat", Float, nullable=False, default=0.0),
    Column("first_seen_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    # a multi-source event's current verdict (event_judgements), copied like items' verdict;
    # NULL until judged, and cleared by an editor's merge or split so the next pass re-judges
    Column("judgement_id", Integer),
    Column("tier", String(12)),
    Column("importance", Integer),
    Column("judge_error", Text),
    Index("ix_events_heat", "heat"),
    Index("ix_events_lead", "lead_item_id"),
)

event_judgements = Table(
    "event_judgements",
    metadata,
    # append-only, like judgements: one row each time a multi-source event is judged as a whole
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    *_verdict_columns(),
    # what the judgement was made over: a new judgement is due only when one of these changes
    # in a way that can change the outcome (editor/event.py: rejudge_due)
    Column("lead_item_id", Integer, ForeignKey("items.id", ondelete="SET NULL")),
    Column("lead_revision", Integer, nullable=False),
    Column("sources_count", Integer, nullable=False),
    Column("breakdown", JSON),
    Column("coverage_bonus", Integer, nullable=False),
    Column("fallback", Text),  # as judgements.fallback
    Index("ix_event_judgements_event", "event_id", "id"),
)

event_heat = Table(
    "event_heat",
    metadata,
    # one snapshot per event per hour, so "rising" can compare with six hours ago
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("hour", TS, primary_key=True),
    Column("heat", Float, nullable=False),
    Column("sources_count", Integer, nullable=False),
)

item_aliases = Table(
    "item_aliases",
    metadata,
    # another identity of a stored story: a re-post of it by its own source under a new URL,
    # so the next poll of that entry finds the story instead of making a new one
    Column("identity_key", String(600), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", TS, nullable=False),
)

item_vectors = Table(
    "item_vectors",
    metadata,
    # one vector per story and embedding model, tagged with the model and its dimension so two
    # models' vectors are never compared; float16 little-endian bytes (embed/base.py)
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(120), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("revision", Integer, nullable=False),  # the story's revision it was made from
    Column("created_at", TS, nullable=False),
    Index("ix_item_vectors_model_created", "model", "created_at"),
)

event_members = Table(
    "event_members",
    metadata,
    # one event per item: the primary key is the item
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("relation", String(20), nullable=False),
    Column("similarity", Float, nullable=False, default=0.0),
    Column("manual", Boolean, nullable=False, default=False),
    Column("added_at", TS, nullable=False),  # the grouping run that placed it (its batch)
    # why the rules placed the story in the model's place (its relation call failed or was
    # held); NULL otherwise. Grouping asks the model again later (runner/events.py).
    Column("fallback", Text),
    # a repeat that reports a figure the event's stories had not (0015_people): news to the
    # people who follow the event, like a development
    Column("new_number", Boolean, nullable=False, default=False),
    Index("ix_event_members_event", "event_id"),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(80), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("model", String(120), nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("status", String(20), nullable=False),  # pending, ok, failed, unknown
    Column("response", JSON),
    Column("error", Text),
    Column("created_at", TS, nullable=False),
    Column("completed_at", TS),
    # when the request last went on the wire: an unknown outcome is held from here
    Column("sent_at", TS),
    Column("attempts", Integer, nullable=False, default=0),
    UniqueConstraint("service", "purpose", "model", "input_hash"),
)

guard_flags = Table(
    "guard_flags",
    metadata,
    # a generated field the faithfulness guard repaired or dropped; the admin view lists them
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("step", String(20), nullable=False),  # judge or comment
    Column("field", String(40), nullable=False),
    Column("action", String(20), nullable=False),  # repaired or dropped
    Column("spans", JSON, nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Index("ix_guard_flags_item", "item_id"),
    Index("ix_guard_flags_created", "created_at"),
)

budgets = Table(
    "budgets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(80), nullable=False),
    Column("window", String(10), nullable=False),  # minute, hour, day
    Column("max_calls", Integer),
    Column("max_tokens", Integer),
    Column("max_cost", Float),
    UniqueConstraint("service", "window"),
)

usage = Table(
    "usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("receipt_id", Integer, ForeignKey("receipts.id")),
    Column("service", String(80), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("model", String(120), nullable=False),
    Column("tokens_in", Integer, nullable=False, default=0),
    Column("tokens_out", Integer, nullable=False, default=0),
    Column("latency_ms", Integer, nullable=False, default=0),
    Column("cost", Float),
    Column("created_at", TS, nullable=False),
    Index("ix_usage_created", "created_at"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),  # up, down, star
    Column("note", Text, nullable=False, default=""),
    Column("editor", String(120), nullable=False),
    Column("created_at", TS, nullable=False),
    # the story's judgement when the vote was cast: what the editor was answering
    Column("judgement_id", Integer),
    Column("policy_version", String(40)),
    Column("importance", Integer),
    Column("tier", String(12)),
    Column("hkr", String(3)),  # "HKR" with "-" for a failed judgement, e.g. "H-R"
    Column("origin", String(20), nullable=False, default="web"),  # web, import
    # the account that voted (no foreign key: a deleted account's votes stay, anonymised)
    Column("user_id", Integer),
    Index("ix_feedback_item", "item_id"),
    Index("ix_feedback_user", "user_id"),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("version", String(40), primary_key=True),
    Column("text", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    Column("number", Integer, unique=True),  # 1, 2, 3… in the order versions were recorded
    Column("origin", String(20)),  # file, admin, proposal
    Column("created_by", String(120)),
    Column("proposal", JSON),  # a proposal's changes and the feedback it did not act on
    Column("preview", JSON),  # the last preview's figures
)

policy_activations = Table(
    "policy_activations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(40), nullable=False),
    Column("previous", String(40)),
    Column("editor", String(120), nullable=False),
    Column("activated_at", TS, nullable=False),
    Column("diff", Text, nullable=False, default=""),
    Column("preview", JSON),
    Column("feedback_ids", JSON, nullable=False, default=list),  # the votes it answers
)

policy_jobs = Table(
    "policy_jobs",
    metadata,
    # work an editor asks for in the admin pages (propose, preview) and the runner does:
    # pages never judge stories themselves
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # propose, preview
    Column("version", String(40)),
    Column("params", JSON, nullable=False, default=dict),
    Column("status", String(12), nullable=False),  # waiting, done, failed
    Column("result", JSON),
    Column("error", Text),
    Column("requested_by", String(120), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("finished_at", TS),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),  # daily, weekly, monthly
    Column("period", String(10), nullable=False),  # YYYY-MM-DD of its first day
    Column("markdown", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("kind", "period"),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS),
    Column("status", String(20), nullable=False),
    Column("stats", JSON, nullable=False, default=dict),
)

notifications = Table(
    "notifications",
    metadata,
    # the notification outbox: one row per (what, target); delivery retries update it
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),  # p1, daily
    Column("ref", String(40), nullable=False),  # item id or the brief's date
    Column("target", String(16), nullable=False),  # hash of the target URL (URLs hold secrets)
    Column("status", String(10), nullable=False),  # pending, sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", TS, nullable=False),
    Column("sent_at", TS),
    UniqueConstraint("kind", "ref", "target"),
    Index("ix_notifications_status", "status"),
)

reader_marks = Table(
    "reader_marks",
    metadata,
    # read / starred state for reader apps (Google Reader API); one reader per desk
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("read", Boolean, nullable=False, default=False),
    Column("starred", Boolean, nullable=False, default=False),
    Column("updated_at", TS, nullable=False),
)

# ---- the reader: editor sessions, saved stories, admin overrides (migration 0005_reader) ----

editor_sessions = Table(
    "editor_sessions",
    metadata,
    # only the SHA-256 of the cookie token is stored: a leaked table signs nobody in
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("address", String(64), nullable=False, default=""),
    Column("user_agent", String(200), nullable=False, default=""),
    Index("ix_editor_sessions_expires", "expires_at"),
    Index("ix_editor_sessions_user", "user_id"),
)

collections = Table(
    "collections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),
    Column("name", String(80), nullable=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("user_id", "name", name="uq_collections_user_name"),
)

saved_items = Table(
    "saved_items",
    metadata,
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("saved_at", TS, nullable=False),
    Index("ix_saved_items_item", "item_id"),
)

source_overrides = Table(
    "source_overrides",
    metadata,
    # an editor's choice in the admin pages outlives the next catalog upsert
    Column(
        "source_id", String(100), ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("enabled", Boolean),
    Column("tier", String(8)),
    Column("updated_at", TS, nullable=False),
)

auth_failures = Table(
    "auth_failures",
    metadata,
    # one row per account ("signin:editor", "reader:NAME") and per client address; see
    # store/throttle.py. Rows of a quiet day are deleted, so the table stays small.
    Column("scope", String(10), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", TS, nullable=False),
    Column("blocked_until", TS),
    Index("ix_auth_failures_last", "last_failure_at"),
)

# What every process of the fleet must see alike: why model steps are paused (0009_queue).
desk_state = Table(
    "desk_state",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", TS, nullable=False),
)


# ---- people (migration 0015_people) ----

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("role", String(10), nullable=False),  # reader, editor, admin
    Column("password_hash", Text, nullable=False, default=""),  # argon2id (store/passwords.py)
    # the NEWSDESK_ADMIN_PASSWORD account: no hash of its own, signs in with that password
    Column("bootstrap", Boolean, nullable=False, default=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("alert_key", String(64), nullable=False, default=""),  # signs unsubscribe links
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

desk_actions = Table(
    "desk_actions",
    metadata,
    # who merged, split, changed a source, a budget or an account
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer),
    Column("account", String(120), nullable=False),
    Column("action", String(40), nullable=False),
    Column("ref", String(200), nullable=False, default=""),
    Column("detail", JSON),
    Column("created_at", TS, nullable=False),
    Index("ix_desk_actions_created", "created_at"),
)

follows = Table(
    "follows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),  # event, tag, entity, source, search
    Column("target", String(300), nullable=False),
    Column("alert", String(10), nullable=False, default="off"),  # off, immediate, daily, weekly
    Column("created_at", TS, nullable=False),
    Column("seen_at", TS, nullable=False),  # when the person last looked
    UniqueConstraint("user_id", "kind", "target", name="uq_follows_user_target"),
    Index("ix_follows_target", "kind", "target"),
)

feed_tokens = Table(
    "feed_tokens",
    metadata,
    # a personal feed URL's secret, stored as its SHA-256
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", TS, nullable=False),
    Index("ix_feed_tokens_user", "user_id"),
)

alert_targets = Table(
    "alert_targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),  # an apprise URL: shown to its owner only
    Column("label", String(80), nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Index("ix_alert_targets_user", "user_id"),
)

user_marks = Table(
    "user_marks",
    metadata,
    # read / starred per account for reader apps (reader_marks stays the NEWSDESK_READER_*
    # pair's)
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("read", Boolean, nullable=False, default=False),
    Column("starred", Boolean, nullable=False, default=False),
    Column("updated_at", TS, nullable=False),
)
