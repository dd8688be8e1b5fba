from datetime import UTC, datetime, timedelta

from newsdesk.domain import StoryRef
from newsdesk.events import choose_event, model_tokens

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
