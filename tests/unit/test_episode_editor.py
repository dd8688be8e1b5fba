"""The model editor on an episode, against the fake model: the judge reads the show notes and the
bounded transcript sample (not the first characters, not the whole hour); the commentary may
cite a time, and the faithfulness guard keeps a correct citation and removes a made-up one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from episodes import long_episode
from fakes.fake_llm import FakeLLM, Rule, count_tokens
from newsdesk.config import load_settings
from newsdesk.domain import Item, Media, Source, SourceTier, Tier, Transcript
from newsdesk.editor.comment import model_commentary
from newsdesk.editor.episode import pointed_text
from newsdesk.editor.judge import judge_messages, model_judgement
from newsdesk.editor.providers import LLMProvider, MemoryReceipts
from newsdesk.editor.rules import rules_judgement
from newsdesk.policy import Policy, load_policy

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SOURCE = Source(id="inference-hours", name="Inference Hours", group="podcast",
                url="https://inference-hours.example/feed.xml", tier=SourceTier.T2)  # fmt: skip
TITLE = "Ep. 21: What a million-token context really costs"
# said at 23:10 (tests/fixtures/media/long/make_ep21.py)
QUOTE = "we cut the price of long-context requests by 60 percent"


@pytest.fixture(scope="module")
def episode() -> tuple[Item, Transcript]:
    transcript, notes = long_episode()
    item = Item(identity_key="guid:ih-21", source_id=SOURCE.id, url="https://inference-hours.example/21",
                title=TITLE, body_text=notes, body_html="", language="en", published_at=NOW,
                filed_at=NOW, first_seen_at=NOW, backfill=False, content_hash="h",
                media=Media("audio", "https://cdn.inference-hours.example/ep21.mp3",
                            duration=3725))  # fmt: skip
    return item, transcript


@pytest.fixture
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def client_for(fake: FakeLLM) -> LLMProvider:
    return LLMProvider(load_settings(llm_base_url=fake.base_url, llm_model="editor-a"),
                       MemoryReceipts())  # fmt: skip


def judged(importance: int) -> dict[str, object]:
    return {
        "hkr": {"hook": True, "hook_reason": "a 60 percent price cut", "knowledge": True,
                "knowledge_reason": "prices and recall figures", "resonance": True,
                "resonance_reason": "long context is what practitioners pay for"},
        "importance": importance, "hard_exclusion": False, "exclusion_reason": "",
        "tags": {"capabilities": [], "entities": ["Larkspur AI"], "topics": []},
        "title_en": TITLE, "title_zh": "百万 token 上下文的真实成本",
        "summary_en": "Larkspur AI cut the price of long-context requests by 60 percent, from $5 "
                      "to $2 per million input tokens, after moving the KV cache to host memory.",
        "summary_zh": "Larkspur AI 将长上下文请求降价 60%。",
        "why": "A concrete price cut with figures, said on the record.",
    }  # fmt: skip


def sharp(citation: str) -> dict[str, str]:
    """A commentary long enough for a featured sharp (150 words), every fact from the sample."""
    padding = (" The episode gives its figures on the record: prefill is about 90 percent of "
               "the GPU time on a full prompt, and recall falls from 94 percent to 71 percent "
               "at the full million. I have not verified any of it.") * 4  # fmt: skip
    text = f"{citation} That is the number to watch, and it comes with a cost.{padding}"
    return {"take_en": "The price cut is real; the recall drop is the catch.",
            "take_zh": "降价是真的，召回率下降才是代价。",
            "sharp_en": text, "sharp_zh": "降价 60%，但召回率从 94% 降到 71%。"}  # fmt: skip


async def test_the_judge_reads_the_notes_and_the_sample_not_the_whole_hour(
    fake: FakeLLM, policy: Policy, episode: tuple[Item, Transcript]
) -> None:
    item, transcript = episode
    # the scripted answer applies only when the request carries what was said at 23:10
    rule = Rule(schema="judgement", match="Once the KV cache lived in host memory",
                reply=judged(84), times=5)  # fmt: skip
    fake.rules.append(rule)
    client = client_for(fake)
    result = await model_judgement(client, item, SOURCE, policy, transcript=transcript)
    j = result.judgement
    assert rule.times < 5  # it answered
    assert j.importance >= 84 and j.tier in (Tier.P1, Tier.FEATURED)
    assert result.flags == []  # the summary's figures were in the sample it was shown
    messages = judge_messages(policy, item, SOURCE, 1)
    bare = count_tokens("\n".join(m["content"] for m in messages))
    sent = fake.log[0].tokens_in
    # the sample (3,000 characters) and its note add under 1,000 tokens; the hour is 10,000+
    assert 0 < sent - bare <= 1000
    assert count_tokens(transcript.text) > 10 * (sent - bare)
    await client.close()


async def test_without_a_transcript_the_judge_sees_the_notes_only(
    fake: FakeLLM, policy: Policy, episode: tuple[Item, Transcript]
) -> None:
    item, _ = episode
    rule = Rule(schema="judgement", match="TRANSCRIPT", reply=judged(84), times=5)
    fake.rules.append(rule)
    client = client_for(fake)
    await model_judgement(client, item, SOURCE, policy)
    assert rule.times == 5 and fake.log  # asked, and never with a transcript
    await client.close()


async def test_a_correct_time_in_the_sharp_is_kept(
    fake: FakeLLM, policy: Policy, episode: tuple[Item, Transcript]
) -> None:
    item, transcript = episode
    answer = sharp(f"At 23:10 Priya Raman says “{QUOTE}”.")
    fake.rules.append(Rule(schema="commentary", match="<<<TRANSCRIPT", reply=answer))
    client = client_for(fake)
    judgement = replace(rules_judgement(item, SOURCE, policy), tier=Tier.FEATURED)
    result = await model_commentary(client, item, SOURCE, judgement, policy, [],
                                    transcript=transcript)  # fmt: skip
    assert result.flags == []
    assert result.commentary.sharp_en.startswith(f"At 23:10 Priya Raman says “{QUOTE}”.")
    assert not result.rewritten and len(fake.log) == 1
    await client.close()


async def test_a_made_up_time_in_the_sharp_is_flagged_and_removed(
    fake: FakeLLM, policy: Policy, episode: tuple[Item, Transcript]
) -> None:
    item, transcript = episode
    # the words were said, but at 23:10: at 52:40 the two talk about something else
    answer = sharp(f"At 52:40 Priya Raman says “{QUOTE}”.")
    fake.rules.append(Rule(schema="commentary", match="<<<TRANSCRIPT", reply=answer))
    client = client_for(fake)
    judgement = replace(rules_judgement(item, SOURCE, policy), tier=Tier.FEATURED)
    result = await model_commentary(client, item, SOURCE, judgement, policy, [],
                                    transcript=transcript)  # fmt: skip
    (flag,) = result.flags
    assert (flag.field, flag.action) == ("sharp_en", "dropped")
    assert flag.spans[0].startswith("52:40 “we cut the price") and "52:40" in flag.text
    assert result.commentary.sharp_en == ""  # the repair (the fake's empty answer) failed too
    assert result.commentary.take_en  # the other fields stand
    await client.close()


async def test_a_made_up_time_is_repaired_when_the_repair_cites_it_right(
    fake: FakeLLM, policy: Policy, episode: tuple[Item, Transcript]
) -> None:
    item, transcript = episode
    fixed = sharp(f"At 23:10 Priya Raman says “{QUOTE}”.")["sharp_en"]
    fake.rules += [
        Rule(schema="rewrite", match="A cited time must be one",
             reply={"fields": {"sharp_en": fixed}}),
        Rule(schema="commentary", reply=sharp("At 1:15:00 Priya Raman promises open weights.")),
    ]  # fmt: skip
    client = client_for(fake)
    judgement = replace(rules_judgement(item, SOURCE, policy), tier=Tier.FEATURED)
    result = await model_commentary(client, item, SOURCE, judgement, policy, [],
                                    transcript=transcript)  # fmt: skip
    (flag,) = result.flags
    assert (flag.field, flag.action) == ("sharp_en", "repaired")
    assert flag.spans == ("1:15:00 (no such time in the transcript)",)
    assert result.commentary.sharp_en == fixed
    await client.close()


def test_the_rules_editor_reads_the_passages_the_notes_point_to(
    policy: Policy, episode: tuple[Item, Transcript]
) -> None:
    item, transcript = episode
    short = replace(item, body_text="Ana talks to Priya Raman of Larkspur AI. At 23:10 she "
                    "gives the price cut; later, recall on internal documents.")  # fmt: skip
    heard = pointed_text(transcript, short.body_text)
    assert QUOTE in heard and "Thanks for having me" not in heard  # pointed passages only
    notes_only = rules_judgement(short, SOURCE, policy)
    with_heard = rules_judgement(short, SOURCE, policy, heard=heard)
    # the notes carry no figure; what the notes point to carries several
    assert not notes_only.hkr.knowledge and with_heard.hkr.knowledge
    assert with_heard.importance > notes_only.importance
    # the summary stays the notes' own words, never a line of the conversation
    assert with_heard.summary_en == notes_only.summary_en
    assert pointed_text(None, short.body_text) == ""
