from datetime import UTC, datetime, timedelta

from newsdesk.domain import StoryRef
from newsdesk.events import CandidateIndex, choose_event, model_tokens

T0 = datetime(2025, 1, 20, 12, tzinfo=UTC)


def ref(item_id, source, title, text="", event=None, url="", hours=0.0) -> StoryRef:
    return StoryRef(item_id, event, source, url, title, text, T0 + timedelta(hours=hours))


def test_model_tokens_find_versioned_names_not_sizes() -> None:
    tokens = model_tokens("DeepSeek-R1 beats o1 with 671B params, 128K context; Qwen3 and GPT-4.5")
    assert {"deepseek-r1", "r1", "o1", "qwen3", "gpt4.5"} <= tokens
    assert "671b" not in tokens and "128k" not in tokens


async def test_english_and_chinese_reports_of_one_launch_meet() -> None:
    official = ref(1, "deepseek", "DeepSeek-R1 release", "DeepSeek-R1 is out", event=10)
    chinese = ref(2, "zh-media", "深度求索发布 DeepSeek-R1 推理模型", "开源", hours=5)
    decision = await choose_event(chinese, [official])
    assert decision.event_id == 10 and decision.matched_item_id == 1


async def test_same_model_weeks_apart_is_a_new_event() -> None:
    launch = ref(1, "lab", "Nova-2 launches", "Nova-2", event=10)
    later = ref(2, "media", "Nova-2 gets a price cut", "Nova-2", hours=24 * 20)
    assert (await choose_event(later, [launch])).event_id is None


async def test_near_identical_titles_group_and_unrelated_do_not() -> None:
    a = ref(1, "wire", "OpenAI announces Stargate with SoftBank and Oracle", event=5)
    b = ref(2, "blog", "OpenAI announces the Stargate project with SoftBank, Oracle", hours=3)
    c = ref(3, "blog", "Anthropic publishes a new interpretability paper", hours=3)
    assert (await choose_event(b, [a])).event_id == 5
    assert (await choose_event(c, [a])).event_id is None


async def test_same_canonical_url_groups() -> None:
    a = ref(1, "lab", "Post", url="https://lab.example.com/x", event=3)
    b = ref(2, "hn", "Totally different words", url="https://lab.example.com/x", hours=1)
    assert (await choose_event(b, [a])).event_id == 3


async def test_stargate_in_english_and_chinese_meets_through_entities_and_numbers() -> None:
    en = ref(1, "wire", "OpenAI, SoftBank and Oracle pledge up to $500 billion for AI data centers",
             "The Stargate venture", event=7)  # fmt: skip
    zh = ref(2, "zh", "星际之门计划：OpenAI 联合软银、甲骨文拟四年投入 5000 亿美元", hours=50)
    decision = await choose_event(zh, [en])
    assert decision.event_id == 7 and decision.relation == "same_occurrence"


async def test_same_company_different_launch_stays_apart() -> None:
    a = ref(1, "lab", "Introducing Claude Opus 4.1", "Anthropic releases Claude Opus 4.1", event=1)
    b = ref(2, "wire", "Anthropic raises $13B Series F", "Anthropic raised money", hours=30)
    assert (await choose_event(b, [a])).event_id is None


async def test_a_development_joins_the_root_but_never_pulls_in_its_own_developments() -> None:
    root = ref(
        1, "lab", "Introducing gpt-oss", "OpenAI releases gpt-oss-120b open-weight models", event=4
    )
    text = "We ran OpenAI's open-weight gpt-oss-20b on a laptop"
    review = ref(2, "pod", "Running gpt-oss-20b on a laptop", text, hours=24 * 6)
    decision = await choose_event(review, [root])
    assert decision.event_id == 4 and decision.relation == "same_story"
    developed = ref(2, "pod", review.title, review.text, event=4, hours=24 * 6)
    developed = StoryRef(**{**{f: getattr(developed, f) for f in developed.__slots__},
                            "relation": "same_story"})  # fmt: skip
    follow = ref(3, "blog", "Running gpt-oss-20b on a laptop, part two", "gpt-oss", hours=24 * 12)
    assert (await choose_event(follow, [developed])).event_id is None


async def test_roundup_never_joins() -> None:
    a = ref(1, "lab", "Introducing GPT-5", "OpenAI launches GPT-5", event=2)
    b = ref(2, "news", "This week in AI: GPT-5, Genie 3 and gpt-oss", "GPT-5 and more", hours=30)
    decision = await choose_event(b, [a])
    assert decision.event_id is None


def test_index_finds_candidates_by_keys_and_shingles() -> None:
    index = CandidateIndex()
    index.add(ref(1, "lab", "Introducing Claude Sonnet 4.5", "Anthropic model", event=1))
    index.add(ref(2, "lab", "Gemma 3 open models", "Google", event=2))
    found = index.candidates(ref(3, "zh", "Claude Sonnet 4.5 发布", "编程", hours=20))
    assert [r.item_id for r in found] == [1]
    far = index.candidates(ref(4, "zh", "Claude Sonnet 4.5 回顾", "", hours=24 * 30))
    assert far == []
