"""The embedding step on both engines: idempotent, resumable, one model's vectors per search,
and the bundled model in the CPU pool grouping an English and a Chinese report of one ruling."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import update

from newsdesk.config import load_settings
from newsdesk.embed.local import model_name
from newsdesk.policy import load_policy
from newsdesk.runner.embed import StoryEmbedder, current_model, embed_pending
from newsdesk.runner.events import group_pending
from newsdesk.runner.steps import StepContext, embed
from newsdesk.store import schema as t
from newsdesk.store import vectors as store_vectors

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)


def digest(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}|{text}".encode()).hexdigest()


def seed(db, stories: list[tuple[str, str, str]]):
    def write(c):
        for n, (source, title, text) in enumerate(stories):
            if not c.execute(t.sources.select().where(t.sources.c.id == source)).first():
                c.execute(t.sources.insert().values(
                    id=source, name=source, url=f"https://{source}.example", kind="rss",
                    group_name="media", language="en", tier="T2", cadence_min=15,
                    cadence_max=60, tags=[], enabled=True, notes="", created_at=NOW))  # fmt: skip
            c.execute(t.items.insert().values(
                identity_key=f"url:https://{source}.example/{n}", source_id=source,
                url=f"https://{source}.example/{n}", title=title, body_text=text,
                language="en", filed_at=NOW + timedelta(hours=n), first_seen_at=NOW,
                updated_at=NOW, content_hash=digest(title, text), backfill=False))  # fmt: skip

    return write


class Counting:
    """A stand-in embedder that counts the texts it was asked for."""

    def __init__(self, name: str = "fake/3") -> None:
        self.texts: list[str] = []
        self.embedder = StoryEmbedder(name, 3, self.run)

    async def run(self, texts: list[str]) -> np.ndarray:
        self.texts += texts
        return np.array([[1.0, len(x) % 7, 0.5] for x in texts], dtype=np.float32)


async def test_embedding_is_idempotent_resumable_and_follows_revisions(db) -> None:
    await db.write(seed(db, [("a", f"Story {n}", f"text {n}") for n in range(5)]))
    fake = Counting()
    first = await embed_pending(db, fake.embedder, NOW, batch=2, limit=3)
    assert first == 3  # a pass stopped after three (a limit, a crash): resumable
    second = await embed_pending(db, fake.embedder, NOW, batch=2)
    assert second == 2 and len(fake.texts) == 5
    third = await embed_pending(db, fake.embedder, NOW)
    assert third == 0 and len(fake.texts) == 5  # nothing embedded twice
    with db.read() as conn:
        assert store_vectors.models(conn) == {"fake/3": (3, 5)}
        story = conn.execute(t.items.select().where(t.items.c.title == "Story 2")).first()
    await db.write(lambda c: c.execute(
        update(t.items).where(t.items.c.id == story.id).values(revision=2, title="Story 2, v2")
    ))  # fmt: skip
    assert await embed_pending(db, fake.embedder, NOW) == 1
    assert fake.texts[-1].startswith("Story 2, v2")
    # another model embeds everything again and keeps its own rows; nothing mixes the two
    other = Counting("fake/other")
    assert await embed_pending(db, other.embedder, NOW) == 5
    with db.read() as conn:
        assert store_vectors.models(conn) == {"fake/3": (3, 5), "fake/other": (3, 5)}
        assert store_vectors.prune_other_models(conn, "fake/other") == 5
        conn.commit()
        assert set(store_vectors.models(conn)) == {"fake/other"}


async def test_bundled_model_in_the_cpu_pool_groups_a_translation(db) -> None:
    await db.write(seed(db, [
        ("wire", "US judge rules AI training on licensed news archives is fair use",
         "A federal judge ruled that training a model on a newspaper's licensed archive was "
         "fair use, the first ruling of its kind."),
        ("zhsite", "美国法官裁定：用授权新闻档案训练人工智能属于合理使用",
         "美国一名联邦法官裁定，使用报纸授权档案训练模型属于合理使用，这是同类案件的首个裁决。"),
        ("blog", "How to write prompts for AI video", "A practical guide with ten examples."),
    ]))  # fmt: skip
    settings = load_settings()
    assert current_model(settings) == (model_name(), 512)
    async with StepContext(db, settings, load_policy(), started=NOW) as ctx:
        ids = [1, 2, 3]
        result = await embed(ctx, ids)  # in the context's CPU pool
        assert result.counts["embedded"] == 3 and result.next == {"group": ids}
        assert (await embed(ctx, ids)).counts["embedded"] == 0
    done = await group_pending(db, NOW, vectors_model=model_name())
    grouped, created = done.placed, done.created
    assert (grouped, created) == (3, 2)  # the ruling in two languages is one event
    with db.read() as conn:
        events = {r.title: r.event_id for r in conn.execute(
            t.items.join(t.event_members).select().with_only_columns(
                t.items.c.title, t.event_members.c.event_id))}  # fmt: skip
    assert len(set(events.values())) == 2
    (guide,) = [e for title, e in events.items() if title.startswith("How to")]
    assert list(events.values()).count(guide) == 1


async def test_embedding_switched_off_stores_nothing(db) -> None:
    await db.write(seed(db, [("a", "Story", "text")]))
    settings = load_settings(embed_enabled=False)
    assert current_model(settings) is None
    async with StepContext(db, settings, load_policy(), started=NOW) as ctx:
        assert (await embed(ctx, [1])).counts["embedded"] == 0
    with db.read() as conn:
        assert store_vectors.models(conn) == {}


async def test_one_sources_repost_under_a_new_url_joins_the_story(db) -> None:
    from newsdesk.domain import Item
    from newsdesk.embed.local import embed_texts
    from newsdesk.runner.embed import fold_reposts
    from newsdesk.store import repo

    body = (
        "Example Lab releases Nova-3, a reasoning model with a 400K context window, priced "
        "at $2 per million input tokens. Nova-3 scores 71.2% on SWE-bench Verified."
    )
    await db.write(seed(db, [
        ("lab", "Introducing Nova-3", body),
        ("lab", "Introducing Nova-3", body),  # the same post again under a new URL
        ("lab", "Introducing  Nova-3", body.replace("priced", "now priced")),  # edited
        ("lab", "Nova-3 system card", "The safety work behind Nova-3: red teaming, evals."),
        ("wire", "Introducing Nova-3", body),  # another source: coverage, grouped later
    ]))  # fmt: skip

    async def run(texts: list[str]) -> np.ndarray:
        return embed_texts(texts)

    embedder = StoryEmbedder(model_name(), 512, run)
    assert await embed_pending(db, embedder, NOW) == 5
    folded = await fold_reposts(db, embedder.name, [1, 2, 3, 4, 5], NOW)
    assert folded == {"discovery": 1, "revision": 1}
    with db.read() as conn:
        left = {r.id: r for r in conn.execute(t.items.select())}
        aliases = conn.execute(t.item_aliases.select()).all()
        found = conn.execute(t.discoveries.select()).all()
    assert set(left) == {1, 4, 5}  # the system card and the other source's report stay
    assert left[1].revision == 2 and "now priced" in left[1].body_text
    assert {a.item_id for a in aliases} == {1} and len(aliases) == 2
    assert [(d.item_id, d.url) for d in found] == [(1, "https://lab.example/1")]
    # the re-post's next poll finds the story instead of making a new one
    again = Item(
        identity_key="url:https://lab.example/1", source_id="lab", url="https://lab.example/1",
        guid="", title="Introducing Nova-3", body_text=body, body_html="", language="en",
        authors=(), published_at=NOW, filed_at=NOW, first_seen_at=NOW, backfill=False,
        content_hash=digest("Introducing  Nova-3", body.replace("priced", "now priced")),
    )  # fmt: skip
    item_id, outcome = await db.write(lambda c: repo.save_item(c, again))
    assert (item_id, outcome) == (1, "unchanged")


async def test_an_embeddings_endpoint_embeds_through_receipts(db) -> None:
    from fakes.fake_llm import FakeLLM

    await db.write(seed(db, [("a", f"Story {n}", f"text {n}") for n in range(3)]))
    with FakeLLM() as fake:
        settings = load_settings(llm_base_url=fake.base_url, embed_model="emb-1")
        assert current_model(settings) == ("endpoint/emb-1", 0)
        async with StepContext(db, settings, load_policy(), started=NOW) as ctx:
            assert (await embed(ctx, [1, 2, 3])).counts["embedded"] == 3
            assert (await embed(ctx, [1, 2, 3])).counts["embedded"] == 0
        calls = [e for e in fake.log if e.path == "embeddings"]
        assert len(calls) == 1 and calls[0].model == "emb-1" and fake.paid_twice() == []
    with db.read() as conn:
        assert store_vectors.models(conn) == {"endpoint/emb-1": (64, 3)}
    # the endpoint down: the step counts the failure and the pass goes on
    await db.write(seed(db, [("b", "Story later", "text")]))
    settings = load_settings(llm_base_url="http://127.0.0.1:9/v1", embed_model="emb-1",
                             llm_max_retries=0, llm_timeout_seconds=2)  # fmt: skip
    async with StepContext(db, settings, load_policy(), started=NOW) as ctx:
        result = await embed(ctx, [4])
    assert result.counts["embed_failed"] == 1 and result.next == {"group": [4]}
