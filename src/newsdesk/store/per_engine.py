"""One object per database engine, made on first use and dropped with the engine.

The change clock, the read memo and the card store each keep one object per engine: several
desks (tests, the bench's before/after) live in one process, and an engine that is garbage
collected takes its object with it (weak keys), so nothing outlives its database.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")


class PerEngine(Generic[T]):
    def __init__(self, make: Callable[[Engine], T]) -> None:
        self._make = make
        self._kept: weakref.WeakKeyDictionary[Engine, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, engine: Engine) -> T:
        with self._lock:  # two threads asking at once get one object
            found = self._kept.get(engine)
            if found is None:
                found = self._kept[engine] = self._make(engine)
            return found

    def pop(self, engine: Engine) -> T | None:
        with self._lock:
            return self._kept.pop(engine, None)
