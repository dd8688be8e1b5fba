"""Follow-up papers: a paper on a model whose release the desk carried days before is kept in
`all`, by both editors, and the policy can switch it off (the pure detection; the store query
and the judge paths are exercised on the demo desk, tests/outputs/test_tier_shares.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from fakes.fake_llm import FakeLLM, Rule
from newsdesk.config import load_settings
from newsdesk.domain import EarlierStory, Item, Source, SourceTier, Tier
from newsdesk.editor.judge import model_judgement
from newsdesk.editor.propose import _coordinates
from newsdesk.editor.providers import LLMProvider, MemoryReceipts
from newsdesk.editor.rules import follow_up_patterns, release_before, rules_judgement
from newsdesk.policy import Policy, is_follow_up, load_policy
from newsdesk.policy.check import check_policy

PAPER_AT = datetime(2025, 5, 14, 9, 0, tzinfo=UTC)
PAPER_BODY = (
    "The Qwen3 technical report describes the training of eight open-weight models, from "
    "0.6B to 235B parameters, on 36 trillion tokens in 119 languages. The flagship "
    "Qwen3-235B-A22B scores 85.7 on AIME'24 and 70.7 on LiveCodeBench, and the report details "
    "the thinking-mode fusion and the four-stage post-training pipeline with reinforcement "
    "learning. " * 2
)
RELEASE_LEAD = (
    "Today we release Qwen3, the latest addition to the Qwen family: eight open-weight models "
    "under Apache 2.0, with hybrid thinking modes."
)
PREPRINTS = Source(id="preprints", name="Preprint Radar", url="https://p.example/rss",
                   tier=SourceTier.T1)  # fmt: skip


def item(title: str, body: str = PAPER_BODY, when: datetime = PAPER_AT) -> Item:
    return Item(identity_key=f"test:{title}", source_id=PREPRINTS.id, url="https://p.example/x",
                title=title, body_text=body, body_html="", language="en", published_at=when,
                filed_at=when, first_seen_at=when, backfill=False, content_hash="h")  # fmt: skip


def release(days_before: float, title: str = "Qwen3: Think Deeper, Act Faster") -> EarlierStory:
    return EarlierStory(title, RELEASE_LEAD, PAPER_AT - timedelta(days=days_before))


PAPER = item("Qwen3 Technical Report")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def off(policy: Policy) -> Policy:
    return dataclasses.replace(policy, numbers={**policy.numbers, "follow_up_days": 0})


def test_a_paper_naming_a_model_released_weeks_earlier_is_a_follow_up(policy: Policy) -> None:
    found = release_before(PAPER, [release(16)])
    assert found is not None and found.model == "Qwen3" and round(found.days) == 16
    assert is_follow_up(policy, found.days)

    alone = rules_judgement(PAPER, PREPRINTS, policy)
    followed = rules_judgement(PAPER, PREPRINTS, policy, released=found)
    assert alone.tier in (Tier.P1, Tier.FEATURED)
    # kept, with its score, and the card says why it is not on the front page
    assert followed.tier is Tier.ALL and followed.importance == alone.importance
    assert "follow-up paper: the desk carried Qwen3's release 16 days earlier" in followed.why


def test_a_release_of_the_same_day_or_no_release_makes_no_follow_up(policy: Policy) -> None:
    same_day = release_before(PAPER, [release(0.5)])
    assert same_day is not None and not is_follow_up(policy, same_day.days)
    two_days = release_before(PAPER, [release(2)])
    assert two_days is not None and not is_follow_up(policy, two_days.days)
    assert rules_judgement(PAPER, PREPRINTS, policy, released=two_days).tier is not Tier.ALL
    # earlier stories that are not a release of the model: another model, an opinion, a paper,
    # or a release filed after the paper
    weeks_ago = PAPER_AT - timedelta(days=20)
    others = [
        release(30, "Gemini 2.5: Our most intelligent AI model"),
        EarlierStory("What Qwen3 means for open models", "An opinion piece.", weeks_ago),
        EarlierStory("Qwen3 paper preview", "A preprint.", weeks_ago),
        release(-5),
    ]
    assert release_before(PAPER, others) is None
    assert release_before(PAPER, []) is None


def test_a_release_story_itself_is_never_a_follow_up(policy: Policy) -> None:
    """A second release post on the model (or a release of a point version) is no paper."""
    post = item("Qwen3 is now available on our API", RELEASE_LEAD)
    assert follow_up_patterns(post) == ()
    assert release_before(post, [release(16)]) is None


def test_the_patterns_find_the_release_the_detection_then_checks() -> None:
    assert follow_up_patterns(PAPER) == ("%qwen%3%",)
    assert follow_up_patterns(item("Native Sparse Attention: a technical report")) == ()
    gemini = item("Gemini 2.5: Pushing the Frontier (technical report)")
    assert follow_up_patterns(gemini) == ("%gemini%2.5%",)
    media = release(112, "谷歌发布 Gemini 2.5 Pro：思考型模型登顶 LMArena")
    found = release_before(gemini, [media])
    assert found is not None and found.model == "Gemini 2.5"


def test_the_policy_can_switch_follow_ups_off(policy: Policy) -> None:
    found = release_before(PAPER, [release(16)])
    assert policy["follow_up_days"] == 3 and check_policy(policy) == []
    assert not is_follow_up(off(policy), found.days if found else None)
    assert rules_judgement(PAPER, PREPRINTS, off(policy), released=found).tier is not Tier.ALL
    bad = dataclasses.replace(policy, numbers={**policy.numbers, "follow_up_days": -1})
    assert any("follow_up_days" in p for p in check_policy(bad))
    # the offline proposal's search may move it, switching it off included
    coords = dict(_coordinates(policy.numbers, {}))
    assert 0.0 in coords[("follow_up_days",)]


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


async def test_the_model_editor_keeps_a_follow_up_in_all(fake: FakeLLM, policy: Policy) -> None:
    reply = {
        "hkr": {"hook": True, "hook_reason": "a technical report", "knowledge": True,
                "knowledge_reason": "training details", "resonance": True,
                "resonance_reason": "Qwen3"},
        "importance": 84, "title_en": "Qwen3 Technical Report",
        "summary_en": "The Qwen3 technical report describes eight open-weight models.",
        "why": "A detailed report on Qwen3.",
    }  # fmt: skip
    fake.rules.append(Rule(schema="judgement", reply=reply))
    settings = load_settings(llm_base_url=fake.base_url, llm_model="editor-a")
    client = LLMProvider(settings, MemoryReceipts())
    found = release_before(PAPER, [release(16)])
    alone = (await model_judgement(client, PAPER, PREPRINTS, policy)).judgement
    result = await model_judgement(client, PAPER, PREPRINTS, policy, released=found)
    await client.close()
    assert alone.tier is not Tier.ALL
    assert result.judgement.tier is Tier.ALL and not result.second_opinion
    assert result.judgement.importance == alone.importance
    said = "follow-up paper: the desk carried Qwen3's release 16 days earlier"
    assert said in result.judgement.why
