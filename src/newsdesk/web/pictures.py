"""The desk's pictures, rendered once per value: `picture("spark", event.spark)` in a template
calls the macro of that name in `_pictures.html` and keeps the SVG by (name, value). The value
is the frozen data the picture draws (publish/pictures.py), so a kept rendering is exactly the
one the data asks for: nothing to invalidate, and a sparkline is drawn once however many
pages, cards and scroll pages show it (beside the cards kept by version in web/cards.py)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from jinja2 import Environment
from markupsafe import Markup

MAX_PICTURES = 4000  # a sparkline is ~1 KB of SVG: a few MB at most


class PictureCache:
    def __init__(self, env: Environment, size: int = MAX_PICTURES) -> None:
        self.env, self.size = env, size
        self._kept: OrderedDict[tuple[str, Hashable], Markup] = OrderedDict()
        self._lock = threading.Lock()
        self._module: object | None = None

    def __call__(self, name: str, value: Hashable) -> Markup:
        key = (name, value)
        with self._lock:
            svg = self._kept.get(key)
            if svg is not None:
                self._kept.move_to_end(key)
                return svg
        svg = self.render(name, value)
        with self._lock:
            self._kept[key] = svg
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return svg

    def render(self, name: str, value: Hashable) -> Markup:
        """The macro's SVG, not kept (bench/pictures.py measures this)."""
        if self._module is None:  # the macros need no context: one module serves every call
            self._module = self.env.get_template("_pictures.html").make_module({})
        return Markup(str(getattr(self._module, name)(value)).strip())


def install(env: Environment) -> None:
    env.globals["picture"] = PictureCache(env)
