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

Text that addresses an editor ("ignore previous instructions", 忽略之前的指令) is flagged too: it
echoes an injection from the source. Bare integers up to 10 without a unit are not checked:
they are counts ("two sources", "3 reasons") far more often than facts. Pure function; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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

    @classmethod
    def of(cls, *texts: str) -> Evidence:
        text = "\n".join(t for t in texts if t)
        return cls(
            text=text,
            values={v for _, v in _numbers(text)},
            entities=set(find_entities(text)),
            squashed=_squash(text),
            lower=text.casefold(),
        )


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
    number_spans: list[tuple[int, int]] = []
    for m in _NUMBER.finditer(text):
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


def _odd_case(word: str) -> bool:
    """Internal capitals or all caps mark a name even at a sentence start (OpenAI, CBRN)."""
    return any(c.isupper() for c in word[1:])


def check_fields(fields: dict[str, str], evidence: Evidence) -> dict[str, list[str]]:
    """Field name -> offending spans, for the fields that have any."""
    out = {}
    for name, value in fields.items():
        if value:
            spans = violations(value, evidence)
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
    lines.append('Answer with JSON: {"fields": {"<field name>": "<rewritten text>"}}')
    return "\n".join(lines)
