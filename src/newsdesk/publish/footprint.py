"""What a kept value holds in memory, in bytes: the caches that keep pages, cards and
answers are bounded by it, so a cap in megabytes is what the process really holds.

`footprint` walks the value (dicts, lists, tuples, sets, dataclasses and slotted objects,
each object once) and adds up `sys.getsizeof`; a dict's string keys (field names, shared by
every card) are not counted. An object shared with another cache is counted
by each that keeps it: a cache cannot tell when the other lets it go, and the sum is then an
upper bound. A card copied from the card store (`publish/cards.py` keeps each card's
footprint under `FOOTPRINT`) counts its own dict and what the store measured for the card,
so a page of 30 copies is not walked again. An object whose class sets
`footprint_shared = True` (`web/deps.py: Same`, the filter choices every page shares) counts
only itself.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

FOOTPRINT = "footprint"  # a kept card's key: its measured bytes (set by the card store)
_SCALARS = (str, bytes, int, float, bool, type(None))


def footprint(value: Any) -> int:
    """Bytes that `value` and everything it refers to occupy (each container counted once; a
    scalar as often as it is referred to, an upper bound)."""
    size = sys.getsizeof
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:
        obj = stack.pop()
        kind = type(obj)
        if kind in _SCALARS:
            total += size(obj)
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        total += size(obj)
        if kind is dict:
            known = obj.get(FOOTPRINT)
            if known is not None:  # a card (or its copy): its fields measured once
                total += known
                continue
            # keys that are strings are the code's own names, shared by every dict that has
            # them (interned): counted by none
            stack.extend(k for k in obj if type(k) is not str)
            stack.extend(obj.values())
        elif kind is tuple or kind is list or kind is set or kind is frozenset:
            stack.extend(obj)
        elif getattr(kind, "footprint_shared", False):
            continue
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            stack.extend(getattr(obj, f.name) for f in dataclasses.fields(obj))
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            stack.append(vars(obj))
        else:
            for name in getattr(kind, "__slots__", ()):
                if hasattr(obj, name):
                    stack.append(getattr(obj, name))
    return total


def tree_footprint(value: Any) -> int:
    """`footprint` of plain data built fresh (dicts, lists and tuples of scalars, such as a
    card as the read layer builds it), twice as fast: no object is looked for twice (one
    referred to twice is counted twice, an upper bound)."""
    kind = type(value)
    if kind is dict:
        return sys.getsizeof(value) + sum(map(tree_footprint, value.values()))
    if kind is tuple or kind is list:
        return sys.getsizeof(value) + sum(map(tree_footprint, value))
    return sys.getsizeof(value)
