"""Properties over generated input (Hypothesis), for the code that reads what strangers write:
the feed readers, the identity key, the faithfulness guard, the OPML reader and the policy
checker. Examples are bounded and derandomized, so the suite stays fast and repeatable."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.domain import Entry, Source
from newsdesk.editor.guard import INJECTION, Evidence, violations
from newsdesk.normalize.identity import canonical_url, identity_key
from newsdesk.policy.check import check_policy
from newsdesk.policy.loader import PolicyError, load_policy, parse_policy
from newsdesk.sources.kinds import parse_bytes
from newsdesk.sources.opml import OpmlError, parse_opml, to_opml
from newsdesk.sources.rss import NotAFeed

BOUNDED = settings(
    max_examples=60, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
FEED_CODES = {"not_a_feed", "parse_error", "no_items", "config"}  # documented, stable
XML_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co")), max_size=40
).filter(lambda s: "\ufffe" not in s and "\uffff" not in s)
RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{0}</title>
<item><title>{1}</title><link>{2}</link><guid>{3}</guid><pubDate>{4}</pubDate>
<description>{5}</description></item></channel></rss>"""
ATOM = """<feed xmlns="http://www.w3.org/2005/Atom"><title>{0}</title><entry><title>{1}</title>
<link href="{2}"/><id>{3}</id><updated>{4}</updated><summary>{5}</summary></entry></feed>"""


def _read(body: bytes) -> list[Entry] | str:
    """Entries, or the error code: the two answers a source may get for its bytes."""
    source = Source(id="s", name="S", url="https://s.example/feed")
    try:
        parsed = parse_bytes(source, body, "https://s.example/feed")
    except NotAFeed as exc:
        return exc.code
    return parsed.entries


def _answers_sanely(found: list[Entry] | str) -> None:
    if isinstance(found, str):
        assert found in FEED_CODES
        return
    for entry in found:
        assert isinstance(entry, Entry)
        assert isinstance(entry.title, str) and isinstance(entry.link, str)
        assert isinstance(entry.guid, str) and entry.source_id == "s"


@BOUNDED
@given(st.binary(max_size=2000))
def test_feed_readers_turn_any_bytes_into_entries_or_a_stable_code(body: bytes) -> None:
    _answers_sanely(_read(body))


@BOUNDED
@given(
    st.sampled_from([RSS, ATOM]),
    st.lists(st.text(max_size=30), min_size=6, max_size=6),
    st.sampled_from(["utf-8", "latin-1", "utf-16"]),
)
def test_feed_readers_survive_any_text_in_every_field(
    template: str, fields: list[str], encoding: str
) -> None:
    body = template.format(*fields).encode(encoding, errors="replace")
    _answers_sanely(_read(body))


@BOUNDED
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=6))
def test_json_feed_reader_turns_any_items_into_entries_or_a_stable_code(
    item: dict[str, str],
) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [item]}
    _answers_sanely(_read(json.dumps(doc).encode()))


HOSTS = st.from_regex(r"[a-z][a-z0-9]{0,8}\.(com|org|example)", fullmatch=True)
SEGMENTS = st.lists(st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True), max_size=3)


@BOUNDED
@given(st.sampled_from(["http", "https"]), HOSTS, SEGMENTS, st.text(max_size=20))
def test_identity_key_ignores_tracking_case_fragments_and_trailing_slashes(
    scheme: str, host: str, segments: list[str], guid: str
) -> None:
    url = f"{scheme}://{host}/{'/'.join(segments)}"
    key = identity_key("s", url, guid, "title", "body")
    variants = [
        f"{scheme}://{host.upper()}/{'/'.join(segments)}",
        url + "#comments",
        url + "?utm_source=newsletter&utm_medium=email",
        url.rstrip("/") + "/",
    ]
    for variant in variants:
        assert identity_key("other-source", variant, "another guid", "t", "b") == key, variant
    assert canonical_url(canonical_url(url)) == canonical_url(url)


@BOUNDED
@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=300))
def test_identity_key_is_bounded_and_total(url: str, guid: str, title: str) -> None:
    key = identity_key("s", url, guid, title, "body")
    assert key == identity_key("s", url, guid, title, "body")
    assert 0 < len(key) <= 600  # items.identity_key is a 600-character column
    if canonical_url(url):
        assert urlsplit(canonical_url(url)).scheme in ("http", "https")


@BOUNDED
@given(st.text(max_size=400))
def test_the_guard_never_flags_text_copied_from_the_source(text: str) -> None:
    if INJECTION.search(text):
        return  # instructions to an editor are flagged even when the source holds them
    assert violations(text, Evidence.of(text)) == []


@BOUNDED
@given(st.text(max_size=200), st.text(max_size=200), st.text(max_size=200))
def test_more_evidence_never_adds_a_violation(field: str, source: str, more: str) -> None:
    flagged = violations(field, Evidence.of(source))
    assert set(violations(field, Evidence.of(source, more))) <= set(flagged)
    assert len(flagged) == len(set(flagged))  # each span once


@BOUNDED
@given(st.binary(max_size=1500))
def test_opml_reader_turns_any_bytes_into_sources_or_one_error(data: bytes) -> None:
    try:
        sources = parse_opml(data)
    except OpmlError as exc:
        assert str(exc)
        return
    assert all(s.url for s in sources)


@BOUNDED
@given(
    st.lists(
        st.tuples(
            XML_TEXT.filter(str.strip), HOSTS, st.lists(XML_TEXT.filter(str.strip), max_size=2)
        ),
        max_size=6,
    )
)
def test_opml_round_trips_feeds_names_and_folders(rows: list[tuple[str, str, list[str]]]) -> None:
    sources = [
        Source(
            id=f"s{n}",
            name=name.strip(),
            url=f"https://{host}/feed/{n}",
            tags=tuple(t.strip() for t in tags),
        )
        for n, (name, host, tags) in enumerate(rows)
    ]
    back = parse_opml(to_opml(sources).encode())  # folders may come back in another order
    assert sorted((s.url, s.name, s.tags) for s in back) == sorted(
        (s.url, s.name, s.tags) for s in sources
    )


POLICY = load_policy()
FRONT = POLICY.numbers
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.floats(allow_nan=True)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@BOUNDED
@given(st.sampled_from(sorted(FRONT)), VALUES)
def test_policy_checker_answers_any_front_matter_with_lines_not_a_crash(
    key: str, value: object
) -> None:
    numbers = {**FRONT, key: value}
    problems = check_policy(type(POLICY)(POLICY.version, numbers, POLICY.brief, POLICY.path))
    assert all(isinstance(p, str) and "\n" not in p for p in problems)


@BOUNDED
@given(st.text(max_size=300))
def test_policy_reader_takes_any_text_to_a_policy_or_one_error(text: str) -> None:
    try:
        policy = parse_policy("+++\n" + text, "edited.md")
    except PolicyError as exc:
        assert str(exc).startswith("edited.md")
        return
    check_policy(policy)


def test_the_shipped_policy_passes_its_own_checks() -> None:
    assert check_policy(POLICY) == []
    assert Path(POLICY.path).exists()
