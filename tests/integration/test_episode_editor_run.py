"""An hour-long episode through `run_once` with the model editor, both engines: the transcript
step stores its transcript, the judge is asked with the show notes and the transcript sample,
and the commentary's cited time is checked against the stored transcript — a correct one is
published, a made-up one is flagged and removed (tests/fixtures/media/long, the fake model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select

from conftest import FIXTURES, Route
from fakes.fake_llm import FakeLLM, Rule
from newsdesk.config import load_settings
from newsdesk.domain import Source, SourceTier
from newsdesk.policy import load_policy
from newsdesk.runner.local import run_once
from newsdesk.store import schema as t

LONG = FIXTURES / "media" / "long"
QUOTE = "we cut the price of long-context requests by 60 percent"  # said at 23:10
NOTES = ("Priya Raman leads inference at Larkspur AI and explains why prefill, not decoding, "
         "dominates the bill of a context window of a million tokens.")  # fmt: skip


def serve_episode(server: Any) -> Source:
    recent = format_datetime(datetime.now(UTC) - timedelta(hours=2), usegmt=True)
    feed = (LONG / "feed.xml").read_text().replace("@BASE@", server.base)
    for name in ("ep21.vtt", "ep21.chapters.json"):
        server.add(f"/t/{name}", Route((LONG / name).read_bytes()))
    url = server.add("/ih.xml", Route(feed.replace("@DATE@", recent).encode()))
    return Source("inference-hours", "Inference Hours", url, tier=SourceTier.T2, group="podcast")


def judged() -> dict[str, Any]:
    return {
        "hkr": {"hook": True, "hook_reason": "a 60 percent price cut", "knowledge": True,
                "knowledge_reason": "prices and recall figures", "resonance": True,
                "resonance_reason": "long context is what practitioners pay for"},
        "importance": 90, "hard_exclusion": False, "exclusion_reason": "",
        "tags": {"capabilities": [], "entities": [], "topics": []},
        "title_en": "What a million-token context really costs", "title_zh": "百万上下文的成本",
        "summary_en": "Larkspur AI cut the price of long-context requests by 60 percent after "
                      "moving the KV cache to host memory.",
        "summary_zh": "Larkspur AI 将长上下文请求降价 60%。", "why": "Figures on the record.",
    }  # fmt: skip


def commentary(citation: str) -> dict[str, str]:
    sharp = (
        f"{citation} That is the figure that matters. " + f"{NOTES} I have not verified it. " * 9
    )
    return {"take_en": "The price cut is real; the recall drop is the catch.",
            "take_zh": "降价是真的。", "sharp_en": sharp, "sharp_zh": "降价 60%。"}  # fmt: skip


async def run_with(db: Any, server: Any, citation: str) -> tuple[Any, Rule, FakeLLM]:
    source = serve_episode(server)
    # the judgement answers only a request that carries what was said at 23:10
    judge = Rule(schema="judgement", match="Once the KV cache lived in host memory",
                 reply=judged(), times=10)  # fmt: skip
    with FakeLLM(rules=[judge, Rule(schema="commentary", reply=commentary(citation))]) as fake:
        settings = load_settings(allow_private_urls=True, fulltext_enabled=False,
                                 llm_base_url=fake.base_url, llm_model="fake-editor")  # fmt: skip
        summary = await run_once(db, settings, load_policy(), catalog=[source])
    return summary, judge, fake


def _story(db: Any) -> Any:
    with db.read() as conn:
        return conn.execute(select(t.items).where(t.items.c.guid == "ih-21")).one()


async def test_a_correct_time_is_published(db, server) -> None:
    summary, judge, _ = await run_with(db, server, f"At 23:10 Priya Raman says “{QUOTE}”.")
    assert summary.transcripts == {"ok": 1} and summary.judged == 1
    assert judge.times is not None and judge.times < 10  # the judge saw the sample
    story = _story(db)
    assert story.tier in ("p1", "featured") and story.importance >= 90
    with db.read() as conn:
        sharp = conn.execute(
            select(t.commentary.c.sharp_en).where(t.commentary.c.item_id == story.id)
        ).scalar_one()
        flags = conn.execute(select(t.guard_flags).where(t.guard_flags.c.item_id == story.id))
        assert flags.all() == []
    assert sharp.startswith(f"At 23:10 Priya Raman says “{QUOTE}”.")


async def test_a_made_up_time_is_flagged_and_removed(db, server) -> None:
    # the words were said at 23:10; at 52:40 the two talk of something else
    await run_with(db, server, f"At 52:40 Priya Raman says “{QUOTE}”.")
    story = _story(db)
    with db.read() as conn:
        row = conn.execute(
            select(t.commentary.c.sharp_en, t.commentary.c.take_en).where(
                t.commentary.c.item_id == story.id
            )
        ).one()
        flags = conn.execute(
            select(t.guard_flags.c.step, t.guard_flags.c.field, t.guard_flags.c.action,
                   t.guard_flags.c.spans, t.guard_flags.c.text)
            .where(t.guard_flags.c.item_id == story.id)
        ).all()  # fmt: skip
    assert row.sharp_en == "" and row.take_en  # the sharp went, the take stands
    (flag,) = flags
    assert (flag.step, flag.field, flag.action) == ("comment", "sharp_en", "dropped")
    assert flag.spans[0].startswith("52:40 “we cut the price") and "At 52:40" in flag.text


async def test_an_episode_waits_for_its_transcript_before_it_is_judged(
    db, server, monkeypatch
) -> None:
    """Five episodes, transcripts looked for two a pass: the rest are not judged from their
    show notes meanwhile, but on the pass that finds their transcript."""
    monkeypatch.setattr("newsdesk.runner.steps.TRANSCRIPTS_PER_PASS", 2)
    media = FIXTURES / "media"
    recent = format_datetime(datetime.now(UTC) - timedelta(hours=2), usegmt=True)
    feed = (media / "podcast.xml").read_text().replace("@BASE@", server.base)
    for name in ("ep12.vtt", "ep12.srt", "ep12.chapters.json", "ep13.srt", "ep14.vtt",
                 "ep14.json", "ep15.html", "ep16.txt"):  # fmt: skip
        server.add(f"/t/{name}", Route((media / name).read_bytes()))
    url = server.add("/podcast.xml", Route(feed.replace("@DATE@", recent).encode()))
    source = Source("inference-hours", "Inference Hours", url, group="podcast")
    settings = load_settings(allow_private_urls=True, fulltext_enabled=False)
    judged_per_pass = []
    for _ in range(3):
        summary = await run_once(db, settings, load_policy(), catalog=[source])
        judged_per_pass.append(summary.judged)
        with db.read() as conn:
            looked = set(conn.execute(select(t.item_transcripts.c.item_id)).scalars())
            has_judgement = t.items.c.judgement_id.is_not(None)
            judged = set(conn.execute(select(t.items.c.id).where(has_judgement)).scalars())
        assert judged == looked  # never judged before its transcript was looked for
    assert judged_per_pass == [2, 2, 1] and len(judged) == 5
