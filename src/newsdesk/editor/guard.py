"""The faithfulness guard: every fact-shaped span a model writes must be in what it was given.

Checked spans, in English and Chinese text alike:
- numbers, compared by value after normalising thousands separators and units
  ("1,000" = "1000", "1.5 billion" = "1.5B" = "15亿", "50%" = "50 percent" = "50 per cent");
- version strings (letters mixed with digits: "o3-mini", "GPT-4o", "Llama 3.1"), compared
  without case, spaces or hyphens;
- organisations, compared by canonical name, so "谷歌" in a Chinese summary is backed by
  "Google" in an English source (editor/taxonomy.py holds the aliases);
- capitalised names (proper nouns inside a sentence, acronyms), found in the evidence without
  regard to case.

- times (23:10, 1:02:03): with the episode's transcript given, a cited time must be one the
  transcript has, and the words quoted beside it must have been said within a minute of it
  (unquoted, a third of the claim's distinctive words must be); without one, the time must
  be written in the evidence.

Text that addresses an editor ("ignore previous instructions", 忽略之前的指令) is flagged too: it
echoes an injection from the source. Bare integers up to 10 without a unit are not checked:
they are counts ("two sources", "3 reasons") far more often than facts. Pure function; no I/O.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from newsdesk.domain import Segment, Transcript
from newsdesk.editor.episode import CLOCK, passage_at, terms
from newsdesk.editor.rules import INJECTION
from newsdesk.editor.taxonomy import CAPABILITIES, TOPICS, find_entities

_MULT = {
    "thousand": 1e3, "k": 1e3, "千": 1e3, "万": 1e4, "million": 1e6, "m": 1e6, "mn": 1e6,
    "百万": 1e6, "亿": 1e8, "billion": 1e9, "bn": 1e9, "b": 1e9, "十亿": 1e9,
    "trillion": 1e12, "t": 1e12, "万亿": 1e12,
}  # fmt: skip
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
    r"\s?(%|percent\b|per cent\b|个百分点|万亿|十亿|百万|亿|万|千"
    r"|(?:thousand|million|billion|trillion|bn|mn)\b|[kKmMbBtT](?![A-Za-z]))?"
)
_VERSION = re.compile(
    r"(?<![A-Za-z0-9.])(?:[A-Za-z][A-Za-z.]*-?\d[A-Za-z0-9.]*|\d+(?:\.\d+)*[A-Za-z]+[A-Za-z0-9.]*)"
    r"(?:-[A-Za-z0-9.]+)*"
)
_CAPWORD = re.compile(r"\b[A-Z][A-Za-z0-9&'’-]*(?:\s+[A-Z][A-Za-z0-9&'’-]*)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;。！？：；\n]\s*|[\"“(（]\s*)$")
_COMMON_WORDS = """A An The This That These Those It Its I We Our You Your He She They Their
There Here What Why How When Where Who Which While If But And Or So Yet Still Also Even Only
Not No Yes For In On At By To Of With Without From As After Before Since Until Unlike Like Both
Either Neither Each Every Some Any Many Most More Less One Two Three Four Five First Second
Third Last Next New Today Monday Tuesday Wednesday Thursday Friday Saturday Sunday January
February March April May June July August September October November December Jan Feb Mar Apr
Jun Jul Aug Sep Sept Oct Nov Dec AI HKR P1 API URL CEO CTO LLM LLMs GPU GPUs US UK EU English
Chinese Medium Low High Critical Scores Score Judged Rules Editor Hook Knowledge Resonance
Featured Open Source"""
_COMMON = frozenset(_COMMON_WORDS.split())
_LATIN_TERMS = frozenset(CAPABILITIES) | frozenset(t.split("/")[0] for t in TOPICS)


@dataclass
class Evidence:
    """Everything a generated field may rest on: the source text plus the given context."""

    text: str
    values: set[float] = field(default_factory=set)
    entities: set[str] = field(default_factory=set)
    squashed: str = ""  # lower case, no spaces/hyphens/underscores: for versions
    lower: str = ""
    times: set[float] = field(default_factory=set)  # clock times written in the text
    transcript: Transcript | None = None  # an episode's: cited times are checked against it

    @classmethod
    def of(cls, *texts: str, transcript: Transcript | None = None) -> Evidence:
        text = "\n".join(t for t in texts if t)
        # a time's digits ("[23:10]") are not figures a generated number could rest on
        figures = CLOCK.sub(" ", text)
        return cls(
            text=text,
            values={v for _, v in _numbers(figures)},
            entities=set().union(*(_entities(t) for t in texts if t)),
            squashed=_squash(text),
            lower=text.casefold(),
            times={_seconds(m) for m in CLOCK.finditer(text)},
            transcript=transcript if transcript is not None and transcript.timed else None,
        )

    def but_text(self, *texts: str) -> Evidence:
        """Other text, the same transcript."""
        return Evidence.of(*texts, transcript=self.transcript)


@functools.lru_cache(maxsize=256)
def _entities(text: str) -> frozenset[str]:
    """The entities one part of the evidence names. Those of the parts joined are the union of
    the parts' (no alias spans the line between two parts), so the parts that come back (a
    story's text checked again with the policy's brief for `why`, the brief itself for every
    story) are searched once, not again for every field's evidence."""
    return frozenset(find_entities(text))


def _squash(text: str) -> str:
    return re.sub(r"[\s\-_]+", "", text).casefold()


def _numbers(text: str) -> list[tuple[str, float]]:
    out = []
    for m in _NUMBER.finditer(text):
        whole, frac, unit = m.group(1), m.group(2), (m.group(3) or "")
        value = float(whole.replace(",", "") + (f".{frac}" if frac else ""))
        key = unit.lower().strip()
        if key in _MULT:
            value *= _MULT[key]
        out.append((m.group(0).strip(), value))
    return out


def _value_known(value: float, known: set[float]) -> bool:
    return any(abs(value - k) <= 1e-9 * max(1.0, abs(k)) for k in known)


def violations(text: str, evidence: Evidence) -> list[str]:
    """The spans of `text` that the evidence does not back, each once, in order."""
    found: list[str] = []

    def add(span: str) -> None:
        if span not in found:
            found.append(span)

    # Instructions addressed to an editor are never a fact: they echo an injection.
    for m in INJECTION.finditer(text):
        add(m.group(0))
    clocks = [m.span() for m in CLOCK.finditer(text)]
    for span in time_violations(text, evidence):
        add(span)
    number_spans: list[tuple[int, int]] = []
    for m in _NUMBER.finditer(text):
        if any(s <= m.start() < e for s, e in clocks):
            continue  # part of a time, checked above
        span, value = _numbers(m.group(0))[0] if _numbers(m.group(0)) else (m.group(0), 0.0)
        unit = (m.group(3) or "").strip()
        if not unit and not m.group(2) and value <= 10:
            continue  # a small count, not a fact
        number_spans.append(m.span())
        if _value_known(value, evidence.values):
            continue
        add(span)
    for m in _VERSION.finditer(text):
        token = m.group(0).strip().rstrip(".")
        if not re.search(r"[A-Za-z]", token) or not re.search(r"\d", token):
            continue
        if any(s <= m.start() < e for s, e in number_spans) and re.fullmatch(
            r"[\d.,]+\s?[A-Za-z%]+", token
        ):
            continue  # "1.5B" is a number with a unit, checked above
        if _squash(token) not in evidence.squashed:
            add(token)
    for name in find_entities(text):
        if name not in evidence.entities:
            add(name)
    for m in _CAPWORD.finditer(text):
        phrase = m.group(0).strip(" -'’")
        words = phrase.split()
        at_start = bool(_SENTENCE_START.search(text[: m.start()]))
        if at_start and len(words) == 1 and not _odd_case(words[0]):
            continue  # an ordinary word that starts a sentence
        for word in words:
            word = word.strip("'’-")
            if word in _COMMON or word in _LATIN_TERMS or len(word) < 2:
                continue
            if re.search(r"\d", word):
                continue  # versions are checked above
            if word.casefold() in evidence.lower:
                continue
            if find_entities(word) and set(find_entities(word)) <= evidence.entities:
                continue
            add(word)
    return found


# ---- cited times ----------------------------------------------------------------------------

NEAR_SECONDS = 60.0  # quoted words must have been said this close to the time cited
MIN_CLAIM_TERMS = 3  # an unquoted claim this specific is checked for words said near it
_QUOTE = re.compile(r"“([^”]{2,400})”|\"([^\"]{2,400})\"|「([^」]{1,400})」|『([^』]{1,400})』")
_ELLIPSIS = re.compile(r"\s*(?:…|\.\.\.|\[…\]|\[\.\.\.\])\s*")
_END = re.compile(r"[.!?](?=\s|$)|[。！？]")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _seconds(m: re.Match[str]) -> float:
    return float(int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3)))


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans; an end mark inside a quotation does not end the sentence."""
    spans, start, open_quote = [], 0, ""
    closing = {"“": "”", '"': '"', "「": "」", "『": "』"}
    for i, ch in enumerate(text):
        if open_quote:
            if ch == open_quote:
                open_quote = ""
            continue
        if ch in closing:
            open_quote = closing[ch]
        elif _END.match(text, i):
            spans.append((start, i + 1))
            start = i + 1
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.replace("’", "'").casefold()).split())


def _window(segments: tuple[Segment, ...], seconds: float) -> str:
    """What was said within NEAR_SECONDS of `seconds`, speakers included."""
    out = []
    for n, seg in enumerate(segments):
        following = segments[n + 1].start if n + 1 < len(segments) else None
        end = seg.end or following or seg.start + 30
        if seg.start - NEAR_SECONDS <= seconds <= end + NEAR_SECONDS:
            out.append(f"{seg.speaker} {seg.text}")
    return " ".join(out)


def _same_script(a: str, b: str) -> bool:
    """Both Chinese or both not: a quotation translated into the other language cannot be
    compared word for word (its numbers and names are still checked like any span)."""
    return bool(_CJK.search(a)) == bool(_CJK.search(b))


def time_violations(text: str, evidence: Evidence) -> list[str]:
    """The cited times of `text` the evidence does not back: a time the transcript does not
    have, or one whose quoted words (or, unquoted, the claim's words) were not said near it."""
    found: list[str] = []
    marks = list(CLOCK.finditer(text))
    if not marks:
        return found
    transcript = evidence.transcript
    if transcript is None:  # no transcript: a time is a fact like any other
        return [m.group(0) for m in marks if _seconds(m) not in evidence.times]
    segments = transcript.segments
    heard = " ".join(s.text for s in segments[:50])
    speakers = terms(" ".join(sorted({s.speaker for s in segments if s.speaker})))
    for start, end in _sentences(text):
        inside = [m for m in marks if start <= m.start() < end]
        for k, m in enumerate(inside):
            seconds, raw = _seconds(m), m.group(0)
            if passage_at(segments, seconds) is None:
                found.append(f"{raw} (no such time in the transcript)")
                continue
            # this time's part of the sentence: up to the next time, or (the only time in its
            # sentence) the whole sentence
            upto = inside[k + 1].start() if k + 1 < len(inside) else end
            part = text[m.end() : upto] if len(inside) > 1 else text[start:end]
            near = _window(segments, seconds)
            quote = _QUOTE.search(part)
            if quote is not None:
                said = next(g for g in quote.groups() if g is not None)
                if not _same_script(said, heard):
                    continue
                pieces = [_normal(p) for p in _ELLIPSIS.split(said)]
                if not all(p in _normal(near) for p in pieces if p):
                    found.append(f"{raw} “{' '.join(said.split())[:80]}” (not said near {raw})")
                continue
            claim = text[m.end() : upto] if len(inside) > 1 else text[start:end].replace(raw, " ")
            if not _same_script(claim, heard):
                continue
            wanted = terms(claim) - speakers  # a name is said near every time of its show
            if len(wanted) >= MIN_CLAIM_TERMS and 3 * len(wanted & terms(near)) < len(wanted):
                found.append(f"{raw} (what the text says was not said near {raw})")
    return found


def _odd_case(word: str) -> bool:
    """Internal capitals or all caps mark a name even at a sentence start (OpenAI, CBRN)."""
    return any(c.isupper() for c in word[1:])


def check_fields(
    fields: dict[str, str], evidence: Evidence, per_field: dict[str, Evidence] | None = None
) -> dict[str, list[str]]:
    """Field name -> offending spans, for the fields that have any; a field named in
    `per_field` is checked against its own evidence instead."""
    out = {}
    for name, value in fields.items():
        if value:
            spans = violations(value, (per_field or {}).get(name, evidence))
            if spans:
                out[name] = spans
    return out


def repair_request(problems: dict[str, list[str]]) -> str:
    """The user message of the one repair call: names every offending span."""
    lines = [
        "Some fields state facts that are not in the source text or the given context.",
        "Rewrite only these fields so that every number, version, company or person you",
        "write appears in the source or context; drop the claim rather than guess.",
    ]
    for name, spans in problems.items():
        lines.append(f"- {name}: {', '.join(repr(s) for s in spans[:10])}")
    if any(CLOCK.search(s) for spans in problems.values() for s in spans):
        lines.append(
            "A cited time must be one the transcript sample shows, with the words said at it; "
            "quote them exactly, or drop the time."
        )
    lines.append('Answer with JSON: {"fields": {"<field name>": "<rewritten text>"}}')
    return "\n".join(lines)
