"""The server-rendered templates: every part of the reference card, nothing without data,
source text always escaped."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from newsdesk.web.cards import card_globals

WEB = Path(__file__).resolve().parents[2] / "src" / "newsdesk" / "web"
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"

SHARP_EN = (
    "OpenAI's most important disclosure here is not that o3-mini scored Medium in three "
    "categories. It's that the company put two explicit gates into one public document.\n\n"
    "I only half-buy the \u201cfirst model to reach Medium on model autonomy\u201d framing. "
    "The article gives one cause: stronger coding and research-engineering performance."
)


def env() -> Environment:
    e = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True)
    card_globals(e)  # the card's HTML is written in Python (web/card_html.py)
    return e


def render_card(c: dict, **kw) -> str:
    tpl = env().from_string('{% from "_card.html" import card %}{{ card(c, **kw) }}')
    return tpl.render(c=c, kw=kw)


def text(markup: str) -> str:
    """Visible-ish text: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def assert_in_order(haystack: str, parts: list[str]) -> None:
    pos = 0
    for part in parts:
        found = haystack.find(part, pos)
        assert found >= 0, f"{part!r} missing after position {pos}: …{haystack[pos : pos + 200]!r}"
        pos = found + len(part)


def full_card(**over) -> dict:
    c = {
        "id": 1201,
        "url": "https://openai.com/index/o3-mini-system-card/",
        "title": {"en": "OpenAI o3-mini System Card", "zh": "OpenAI o3-mini 系统卡"},
        "summary": {
            "en": "OpenAI rates o3-mini's post-mitigation overall risk as Medium, with Medium "
            "in CBRN, persuasion, and model autonomy, and Low in cybersecurity.",
            "zh": "OpenAI 将 o3-mini 缓解后的总体风险评为中等，其中 CBRN、说服和模型自主性为中等，"
            "网络安全为低。",
        },
        "language": "en",
        "source": {
            "id": "openai-blog",
            "name": "OpenAI Blog",
            "name_zh": "",
            "kind": "rss",
            "tier": "T1",
            "group": "vendor-official",
        },
        "time_hm": "11:00",
        "date_md": "01·31",
        "age": "499d ago",
        "tier": "p1",
        "importance": 86,
        "hkr": {
            "h": True,
            "k": True,
            "r": True,
            "h_reason": "first Medium autonomy rating",
            "k_reason": "explicit deploy/develop gates",
            "r_reason": "frontier-lab safety policy",
        },
        "tags": {
            "capabilities": ["Reasoning", "Alignment", "Safety"],
            "entities": ["OpenAI"],
            "topics": [],
        },
        "why": "This is an official OpenAI system card, not routine promo copy. "
        "HKR-H/K/R all pass.",
        "adjustments": ["+3: Safety (editors' policy)"],
        "take": {
            "en": "OpenAI set o3-mini's deployment gate at post-mitigation Medium.",
            "zh": "OpenAI 把 o3-mini 的部署门槛定在缓解后中等。",
        },
        "sharp": {"en": SHARP_EN, "zh": ""},
        "editor": "gpt-4.1-mini",
        "model_unavailable": False,
        "verdict": "story",
        "event": {"id": 7, "sources_count": 3},
        "backfill": False,
        "media": None,
    }
    c.update(over)
    return c


def test_an_episode_card_says_listen_and_how_long_in_its_meta_line():
    out = render_card(full_card(media={"kind": "audio", "duration": 3120, "label": "🎧 52 min"}))
    meta = out.split('<p class="meta">', 1)[1].split("</p>", 1)[0]
    assert '<span class="media-badge" title="audio episode">🎧 52 min</span>' in meta
    video = render_card(full_card(media={"kind": "video", "duration": 840, "label": "▶ 14 min"}))
    assert ">▶ 14 min</span>" in video
    assert "media-badge" not in render_card(full_card())


def minimal_card(**over) -> dict:
    c = {
        "id": 1202,
        "url": "https://example.com/post",
        "title": {"en": "A small model update", "zh": ""},
        "summary": {"en": "", "zh": ""},
        "language": "en",
        "source": {
            "id": "ex",
            "name": "Example",
            "name_zh": "",
            "kind": "web_list",
            "tier": "T2",
            "group": "media",
        },
        "time_hm": "09:05",
        "date_md": "02·01",
        "age": "3h ago",
        "tier": "all",
        "importance": 52,
        "hkr": {"h": True, "k": False, "r": False, "h_reason": "", "k_reason": "", "r_reason": ""},
        "tags": {"capabilities": [], "entities": [], "topics": []},
        "why": "",
        "take": {"en": "", "zh": ""},
        "sharp": {"en": "", "zh": ""},
        "editor": "rules",
        "model_unavailable": False,
        "event": None,
        "backfill": False,
    }
    c.update(over)
    return c


def test_full_card_shows_every_part_in_order():
    out = render_card(full_card())
    assert_in_order(
        text(out),
        [
            "● P1",
            "OpenAI Blog · rss",
            "EN",
            "11:00 · 01·31",
            "499d ago",
            "OpenAI o3-mini System Card",
            "OpenAI rates o3-mini",
            "#Reasoning",
            "#Alignment",
            "#Safety",
            "#OpenAI",
            "also reported by 2 sources",
            "why featured",
            "official OpenAI system card",
            "editor take",
            "deployment gate",
            "sharp",
            "most important disclosure",
            "half-buy",
            "hook ✓",
            "knowledge ✓",
            "resonance ✓",
            "judged by gpt-4.1-mini",
            "item page",
            "86",
        ],
    )
    assert '<article class="card tier-p1" id="item-1201"' in out
    assert 'href="https://openai.com/index/o3-mini-system-card/" rel="noopener noreferrer"' in out
    assert 'target="_blank"' in out
    assert 'href="/?tag=Reasoning"' in out
    assert 'href="/items/1201"' in out
    # sharp: one <p> per paragraph, no blank paragraph
    sharp = out[out.index('class="sharp-body"') :]
    assert sharp.count("<p>") >= 2 and "<p></p>" not in out
    # HKR reasons as tooltips; all three arcs lit
    assert 'title="first Medium autonomy rating"' in out
    for arc in ("arc-h on", "arc-k on", "arc-r on"):
        assert arc in out
    # both languages present, marked for the switch; the language badge is not switched
    assert '<span class="bi" lang="en">OpenAI o3-mini System Card</span>' in out
    assert '<span class="bi" lang="zh">OpenAI o3-mini 系统卡</span>' in out
    assert '<span class="lang-badge"' in out
    # collapsed by default, with no JS needed to expand
    assert '<details class="more">' in out


def test_minimal_card_hides_parts_without_data():
    out = render_card(minimal_card())
    plain = text(out)
    for absent in (
        "why featured",
        "why not featured",
        "editor take",
        "sharp",
        "● P1",
        "FEATURED",
        "also reported",
        'class="summary',
        'class="chips"',
        "backfill",
    ):
        assert absent not in out, absent
    assert "hook ✓" in plain and "knowledge —" in plain and "resonance —" in plain
    assert "judged by rules editor" in plain
    assert "arc-h on" in out and "arc-k on" not in out and "arc-r on" not in out
    assert "52" in plain
    assert '<article class="card tier-all" id="item-1202"' in out


def test_featured_marker_and_single_other_source():
    out = render_card(
        minimal_card(
            tier="featured", event={"id": 2, "sources_count": 2}, why="Two HKR and above the line."
        )
    )
    plain = text(out)
    assert plain.startswith("FEATURED · Example · web_list")
    assert "also reported by 1 source" in plain and "1 sources" not in plain
    assert "why featured" in plain


def test_hostile_text_is_escaped():
    bad = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    out = render_card(
        full_card(
            title={"en": bad, "zh": ""},
            summary={"en": bad, "zh": bad + "中"},
            why=bad,
            take={"en": bad, "zh": ""},
            sharp={"en": bad + "\n\n" + bad, "zh": ""},
            source={
                "id": "x",
                "name": bad,
                "name_zh": "",
                "kind": "rss",
                "tier": "T2",
                "group": "",
            },
            tags={"capabilities": [bad], "entities": [], "topics": []},
            hkr={
                "h": True,
                "k": False,
                "r": True,
                "h_reason": '"><script>alert(1)</script>',
                "k_reason": "",
                "r_reason": "",
            },
        )
    )
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert 'title="&#34;&gt;&lt;script&gt;' in out
    assert "/?tag=%3Cscript%3E" in out


def test_non_http_url_is_not_linked():
    out = render_card(full_card(url="javascript:alert(1)"))
    assert "javascript:" not in out
    assert "OpenAI o3-mini System Card" in text(out)


def test_chinese_only_card_shows_its_title():
    out = render_card(
        minimal_card(
            language="zh",
            title={"en": "", "zh": "小米发布多模态大模型 MiMo-V2-Omni"},
            summary={"en": "", "zh": "小米发布大模型，支持图像、音频和视频输入。"},
            source={
                "id": "xm",
                "name": "Xiaomi",
                "name_zh": "小米",
                "kind": "web_list",
                "tier": "T1",
                "group": "vendor-official",
            },
        )
    )
    # only one language: no "bi" class, so it is shown whatever the reader chose
    assert '<span lang="zh">小米发布多模态大模型 MiMo-V2-Omni</span>' in out
    assert '<p class="summary" lang="zh">' in out
    assert "ZH" in text(out)
    assert '<span class="bi" lang="zh">小米</span>' in out


def test_a_rules_verdict_given_in_the_models_place_says_so():
    template = env().from_string('{% from "_card.html" import card %}{{ card(c) }}')
    stand_in = text(template.render(c=minimal_card() | {"model_unavailable": True}))
    assert "judged by rules editor: model unavailable" in stand_in
    plain = text(template.render(c=minimal_card()))
    assert "judged by rules editor" in plain and "model unavailable" not in plain


def test_card_works_with_attribute_objects_and_strict_undefined():
    """Cards may be objects (attribute access) and a StrictUndefined env must not trip."""

    class Obj(dict):
        __getattr__ = dict.__getitem__

    c = full_card()
    obj = Obj({k: Obj(v) if isinstance(v, dict) else v for k, v in c.items()})
    e = env()
    out = e.from_string('{% from "_card.html" import card %}{{ card(c) }}').render(c=obj)
    assert "OpenAI o3-mini System Card" in out and "arc-r on" in out
    strict = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined
    )
    card_globals(strict)
    strict.from_string('{% from "_card.html" import card %}{{ card(c) }}').render(c=c)


def feed(**ctx) -> str:
    base = {"heading": "Hot", "days": [], "next_cursor": None, "query_string": "", "active": "hot"}
    base.update(ctx)
    return env().get_template("feed.html").render(**base)


def test_feed_page_groups_by_day_and_pages():
    out = feed(
        days=[("Today · Fri 31 Jan", [full_card()]), ("Thu 30 Jan", [minimal_card()])],
        next_cursor="abc+/=",
        query_string="tag=Safety&cursor=old",
    )
    assert_in_order(
        text(out),
        [
            "newsdesk",
            "Hot",
            "All",
            "API",
            "Today · Fri 31 Jan",
            "OpenAI o3-mini System Card",
            "Thu 30 Jan",
            "A small model update",
            "Older →",
        ],
    )
    assert '<header class="top">' in out and '<nav class="nav"' in out and '<main id="main"' in out
    assert 'href="/static/desk.css"' in out and 'src="/static/desk.js" defer' in out
    assert 'name="viewport"' in out
    assert 'href="?tag=Safety&amp;cursor=abc%2B/%3D"' in out
    assert "cursor=old" not in out
    assert 'aria-current="page">Hot' in out
    assert "No stories" not in out


def test_feed_empty_state_and_filter():
    out = feed(active_filter="#Robotics", clear_url="/")
    plain = text(out)
    assert "Filtered by #Robotics" in plain
    assert "No stories match #Robotics." in plain
    assert "Older" not in plain
    assert "No stories yet" in text(feed())


def test_item_page_is_open_and_error_page():
    out = env().get_template("item.html").render(c=full_card())
    assert '<details class="more" open>' in out
    assert '<h1 class="title" id="t-1201">' in out
    assert "← Back" in out
    assert "<title>OpenAI o3-mini System Card · newsdesk</title>" in out
    assert 'href="/items/1201"' not in out  # no self-link on its own page
    err = env().get_template("error.html").render(status=404, message="No such story <b>")
    assert "404" in err and "No such story &lt;b&gt;" in err


def test_static_files_are_local_and_small():
    js = (STATIC / "desk.js").read_text(encoding="utf-8")
    css = (STATIC / "desk.css").read_text(encoding="utf-8")
    assert len(js.splitlines()) < 80
    assert len(css.splitlines()) < 360
    for name in ("base.html", "_card.html", "feed.html", "item.html", "error.html"):
        src = (TEMPLATES / name).read_text(encoding="utf-8")
        assert "|safe" not in src.replace(" ", "")
        assert not re.search(r"(src|href)=\"(https?:)?//", src), name
    assert not re.search(r"url\(|@import|https?://", css)
    assert "PingFang SC" in css and "Noto Sans CJK SC" in css
    assert "prefers-color-scheme" in css and "localStorage" in js


@pytest.mark.parametrize(
    "tier,marker", [("p1", "● P1"), ("featured", "FEATURED"), ("all", None), ("excluded", None)]
)
def test_marker_per_tier(tier, marker):
    plain = text(render_card(minimal_card(tier=tier)))
    if marker:
        assert plain.startswith(marker)
    else:
        assert plain.startswith("Example · web_list")
