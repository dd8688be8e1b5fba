"""The fast entity search (`taxonomy._entity_matches`) finds what the alias pattern with its
word-boundary look-behind finds, alias for alias, in any text: stories name the same
entities, and tags rank them the same, as before it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.editor import taxonomy
from newsdesk.editor.taxonomy import find_entities

ALIASES = sorted(taxonomy._ALIAS_TO_ENTITY)
# pieces that stress the boundaries: letters and digits glued to an alias, spaces, punctuation,
# Chinese text around Chinese aliases, prefixes of longer aliases
PIECES = st.one_of(
    st.sampled_from(ALIASES),
    st.sampled_from(ALIASES).map(lambda a: a[: max(1, len(a) // 2)]),
    st.sampled_from(["x", "9", "_", " ", "-", "\n", ".", "的", "和", "AI", "s", "'s", "Pro"]),
    st.text(max_size=4),
)


def reference(text: str) -> list[str]:
    return [m.group(0) for m in taxonomy._ENTITY_RE.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=24).map("".join))
def test_the_fast_search_matches_the_boundary_pattern(text: str) -> None:
    assert list(taxonomy._entity_matches(text)) == reference(text)


def test_glued_and_free_names() -> None:
    text = "xOpenAI, OpenAIs, OpenAI's model; 9Google DeepMind, Google DeepMind; 谷歌DeepMind"
    assert list(taxonomy._entity_matches(text)) == reference(text)
    names = [taxonomy._ALIAS_TO_ENTITY[a] for a in reference(text)]
    assert find_entities(text) == list(dict.fromkeys(names))
    assert find_entities("xOpenAI, OpenAIs") == []  # glued to a word: not the name
