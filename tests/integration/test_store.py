"""Repository behaviour on both engines."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from newsdesk.domain import Item, Source, SourceTier
from newsdesk.store import repo

NOW = datetime(2025, 2, 1, 12, tzinfo=UTC)
OFFICIAL = Source(id="lab", name="Lab", url="https://lab.example/feed", tier=SourceTier.T1)
COMMUNITY = Source(id="hn", name="HN", url="https://hn.example/feed", tier=SourceTier.T3)


def story(source: str, published: datetime, title: str = "Nova-2 system card") -> Item:
    return Item(
        identity_key="url:https://lab.example/nova-2",
        source_id=source,
        url=f"https://lab.example/nova-2?utm_source={source}",
        title=title,
        body_text=f"{title} body",
        body_html=f"<p>{title} body</p>",
        language="en",
        published_at=published,
        filed_at=published,
        first_seen_at=NOW,
        backfill=False,
        content_hash=title,
    )


def test_first_hand_source_owns_the_story_whatever_arrived_first(db) -> None:
    official_time = NOW - timedelta(hours=9)
    community = story("hn", NOW - timedelta(hours=1), title="Nova-2 card is out (discussion)")
    official = story("lab", official_time)

    def run(conn):
        repo.upsert_sources(conn, [OFFICIAL, COMMUNITY], NOW)
        first = repo.save_item(conn, community)
        second = repo.save_item(conn, official)
        third = repo.save_item(conn, official)
        fourth = repo.save_item(conn, community)
        return first, second, third, fourth

    first, second, third, fourth = db.write_sync(run)
    assert first[1] == "new" and second == (first[0], "discovery")
    assert third[1] == "unchanged" and fourth[1] == "unchanged"
    with db.read() as conn:
        row = conn.execute(repo.select(repo.t.items).where(repo.t.items.c.id == first[0])).one()
    assert row.source_id == "lab" and row.title == "Nova-2 system card"
    assert row.published_at == official_time and row.filed_at == official_time


def test_changed_story_becomes_a_revision_and_is_judged_again(db) -> None:
    item = story("lab", NOW)

    def run(conn):
        repo.upsert_sources(conn, [OFFICIAL], NOW)
        item_id, _ = repo.save_item(conn, item)
        return item_id, repo.save_item(
            conn, replace(item, title="Nova-2 card v2", content_hash="v2")
        )

    item_id, (same_id, outcome) = db.write_sync(run)
    assert same_id == item_id and outcome == "revision"
    with db.read() as conn:
        revisions = conn.execute(
            repo.select(repo.t.item_revisions.c.revision, repo.t.item_revisions.c.title)
            .where(repo.t.item_revisions.c.item_id == item_id)
            .order_by(repo.t.item_revisions.c.revision)
        ).all()
        todo = repo.items_to_judge(conn)
    assert [tuple(r) for r in revisions] == [(1, "Nova-2 system card"), (2, "Nova-2 card v2")]
    assert [i for i, _, _ in todo] == [item_id]
