"""Rendered cards, kept: most of an uncached page's time was Jinja building 30 cards (about
0.6 ms each; a P1 card carries its sharp analysis). The same card appears on Hot, All, search,
tag pages and in every scroll page, so its HTML is kept, keyed by the card's version (see
`publish/cards.py`: it changes with every write the card shows), its age label and how it is
drawn (in a feed or open on its own page).

An editor's card differs only in its actions: the save form (saved or not), the vote form
(the editor's last vote pressed), the follow forms (its event, entities, tags and source:
followed or not) and the CSRF token they all carry. The editor's variants are kept too,
rendered with a placeholder for the token, which is put in per request; the saved, voted and
followed marks are part of the key, read per request by small queries (`publish/desk.py:
editor_marks`, `store/follows.py: pairs`), so a mark is right on the page that follows the
action.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import OrderedDict
from typing import Any

from jinja2 import Environment
from markupsafe import Markup, escape

from newsdesk.publish.following import follow_pairs
from newsdesk.publish.footprint import footprint
from newsdesk.web.card_html import bi, card_html
from newsdesk.web.deps import EditorSession

MAX_CARDS = 4000
# each kept HTML weighed with its key (the card's version): 6-8 KB a card, ~1,600 cards
MAX_BYTES = 12 * 1024 * 1024
CSRF_SLOT = "nd-csrf-slot-7f3a"  # not a token this desk makes (they are URL-safe base64)


class CardCache:
    def __init__(self, env: Environment, size: int = MAX_CARDS, max_bytes: int = MAX_BYTES) -> None:
        self.env, self.size, self.max_bytes = env, size, max_bytes
        self._kept: OrderedDict[Any, tuple[str, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()
        self._reader_module: Any = None

    def __call__(
        self,
        card: dict[str, Any],
        editor: EditorSession | None = None,
        saved: Any = (),
        votes: dict[int, str] | None = None,
        followed: dict[int, bool] | None = None,
        following: Any = (),
        *,
        open: bool = False,
        h: int = 3,
        standalone: bool = False,
    ) -> Markup:
        item_id = card["id"]
        editor = editor or None  # a template without an editor passes an undefined value
        marks = None
        if editor is not None:  # a reader's card has the save form; an editor's also votes
            event = (card.get("event") or {}).get("id")
            marks = (
                item_id in (saved or ()), (votes or {}).get(item_id), editor.allows("editor"),
                (followed or {}).get(event) if event else None,
                # what the card offers to follow, each followed or not (`following`: the
                # person's (kind, target) pairs)
                tuple((k, v, (k, v) in (following or ())) for k, v in follow_pairs(card)),
            )  # fmt: skip
        version = card.get("version")
        if version is None:  # a card not read through the card store: its data is its key
            version = json.dumps(card, sort_keys=True, default=str, ensure_ascii=False)
        key = (item_id, version, card.get("age"), open, h, standalone, marks)
        with self._lock:
            hit = self._kept.get(key)
            if hit is not None:
                self._kept.move_to_end(key)
        if hit is not None:
            html = hit[0]
        else:
            html = self._render(card, marks, open, h, standalone)
            weight = sys.getsizeof(html) + footprint(key)
            with self._lock:
                old = self._kept.pop(key, None)
                if old is not None:
                    self._total -= old[1]
                self._kept[key] = (html, weight)
                self._total += weight
                while len(self._kept) > self.size or (self._total > self.max_bytes and self._kept):
                    _, (_, dropped) = self._kept.popitem(last=False)
                    self._total -= dropped
        if editor is not None:
            return Markup(html.replace(CSRF_SLOT, str(escape(editor.csrf))))
        return Markup(html)

    def _render(
        self, card: dict[str, Any], marks: tuple[Any, ...] | None,
        open: bool,
        h: int, standalone: bool,
    ) -> str:  # fmt: skip
        context: dict[str, Any] = {"editor": None, "saved": set(), "votes": {}}
        module: Any
        if marks is not None:
            context = {
                "editor": EditorSession(csrf=CSRF_SLOT, role="editor" if marks[2] else "reader"),
                "saved": {card["id"]} if marks[0] else set(),
                "votes": {card["id"]: marks[1]} if marks[1] else {},
                "followed": {card["event"]["id"]: marks[3]} if marks[3] is not None else {},
                "follow_topics": marks[4],
            }
            module = self.env.get_template("_card.html").make_module(context)
        else:  # a reader's actions read nothing per card: one module for every card
            if self._reader_module is None:
                self._reader_module = self.env.get_template("_card.html").make_module(context)
            module = self._reader_module
        return str(card_html(card, open, h, standalone, module.actions))  # type: ignore[attr-defined]


def card_globals(env: Environment) -> None:
    """What `_card.html` calls: the card's and bilingual fields' HTML (web/card_html.py)."""
    env.globals["card_html"] = card_html
    env.globals["bi_html"] = lambda *args: Markup(bi(*args))  # bi escapes every text


def install(env: Environment) -> None:
    card_globals(env)
    env.globals["cached_card"] = CardCache(env)
