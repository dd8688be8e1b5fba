"""The card written in Python (web/card_html.py) is the markup the Jinja macro it replaced
wrote, byte for byte: tests/fixtures/card_macro_before_python.html is that macro as it was
(main at 879bdcb), rendered here beside the new one for readers and editors, in a feed and on the
story's page, with every optional part present, absent or hostile. A change of the card's
markup on purpose changes that file too."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader
from test_templates import full_card, minimal_card  # tests/unit is on the path

from newsdesk.web.cards import card_globals
from newsdesk.web.deps import EditorSession

HERE = Path(__file__).resolve().parents[1]
TEMPLATES = HERE.parent / "src" / "newsdesk" / "web" / "templates"
BEFORE = (HERE / "fixtures" / "card_macro_before_python.html").read_text()


def environments() -> tuple[Environment, Environment]:
    now = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True)
    card_globals(now)
    before = Environment(
        loader=ChoiceLoader([DictLoader({"_card.html": BEFORE}), FileSystemLoader(str(TEMPLATES))]),
        autoescape=True,
    )
    return now, before


def cards() -> list[dict]:
    full = full_card()
    hostile = copy.deepcopy(full) | {
        "url": "javascript:alert(1)", "title": {"en": "", "zh": ""},
        "summary": {"en": "<script>x</script>", "zh": "<b>摘要</b>"}, "why": "a & b <i>",
        "take": {"en": "Take <1>", "zh": "Take <1>"}, "sharp": {"en": "a\n\n  b <c>\n", "zh": ""},
        "tags": {"capabilities": ["Agent", "agent", "", "A&B"], "entities": ["Agent"],
                 "topics": ["x/y z"]},
        "media": {"kind": "audio", "label": "🎧 52 min"}, "backfill": True,
        "model_unavailable": True, "verdict": "event", "event": {"id": 4, "sources_count": 5},
        "hkr": {"h": False, "k": True, "r": False, "h_reason": "no <hook>", "k_reason": "",
                "r_reason": "r"},
        "adjustments": ["−6: Product update (editors' policy)", "<x>"],
        "source": {"name": "Wire <&>", "name_zh": "通讯社", "kind": "", "tier": None,
                   "group": "g"},
    }  # fmt: skip
    bare = minimal_card() | {"importance": None, "editor": None, "time_hm": "", "date_md": "d",
                             "language": "", "tier": "all", "event": {"id": 2,
                             "sources_count": 2}, "age": ""}  # fmt: skip
    other = copy.deepcopy(full) | {
        "tier": "featured", "event": {"id": 3, "sources_count": 1},
        "sharp": {"en": "", "zh": "第一段\n第二段"}, "why": "",
    }  # fmt: skip
    return [full, hostile, bare, other, minimal_card(), minimal_card() | {"tier": "excluded"}]


READER = {"editor": None, "saved": set(), "votes": {}}
EDITOR = {
    "editor": EditorSession(csrf="token-1", role="editor"), "saved": {1201}, "votes": {},
    "followed": {4: True}, "follow_topics": (("tag", "Agent", True), ("source", "wire", False)),
}  # fmt: skip


@pytest.mark.parametrize("context", [READER, EDITOR], ids=["reader", "editor"])
def test_the_card_is_the_markup_the_macro_wrote(context: dict) -> None:
    now, before = environments()
    new, old = (e.get_template("_card.html").make_module(context) for e in (now, before))
    for c in cards():
        for how in ({}, {"open": True, "h": 1, "standalone": True}, {"open": True, "h": 2}):
            assert str(new.card(c, **how)) == str(old.card(c, **how)), (c["id"], how)
    assert "&lt;script&gt;" in str(new.card(cards()[1]))  # and the text is escaped
