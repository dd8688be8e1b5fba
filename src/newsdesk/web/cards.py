"""Rendered cards, kept: most of an uncached page's time was Jinja building 30 cards (about
0.6 ms each; a P1 card carries its sharp analysis). The same card appears on Hot, All, search,
tag pages and in every scroll page, so an anonymous card's HTML is kept, keyed by everything the
card shows (its data serialised), and any change of that data (a new judgement, take, age label,
coverage count) is simply a new key. Signed-in editors' cards carry their CSRF token and saved
state, so they are always rendered afresh."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

MAX_CARDS = 2000  # about 5 KB each: ~10 MB at most


class CardCache:
    def __init__(self, env: Environment, size: int = MAX_CARDS) -> None:
        self.env, self.size = env, size
        self._kept: OrderedDict[str, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, card: dict[str, Any]) -> Markup:
        key = json.dumps(card, sort_keys=True, default=str, ensure_ascii=False)
        with self._lock:
            html = self._kept.get(key)
            if html is not None:
                self._kept.move_to_end(key)
                return html
        # An anonymous reader: no editor, nothing saved (the macro reads both from context).
        module = self.env.get_template("_card.html").make_module({"editor": None, "saved": set()})
        html = Markup(module.card(card))  # type: ignore[attr-defined]
        with self._lock:
            self._kept[key] = html
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return html


def install(env: Environment) -> None:
    env.globals["cached_card"] = CardCache(env)
