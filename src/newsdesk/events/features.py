"""What grouping compares: language-aware features of one story, computed once.

English and Chinese reports of one launch rarely share words, but they share model names
("Claude 3.7", "gpt-oss-120b"), entities written either way (星际之门 = Stargate, 软银 =
SoftBank), numbers once units are resolved ("$500 billion" = "5000 亿美元") and dates ("2 August"
= "8 月 2 日"). Same-language reports also share character shingles, which MinHash estimates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

NUM_PERM = 64  # MinHash permutations: enough for a 0.3-0.5 Jaccard bar, cheap to compute
BODY_CHARS = 600  # the lead of the body says what happened; the rest dilutes shingles

# Model families: a family word followed by a version ("Llama 4", "Gemini 2.5") is a model name.
FAMILIES = (
    "gpt|claude|gemini|gemma|llama|qwen|qwq|grok|kimi|deepseek|glm|sora|veo|genie|mistral|"
    "opus|sonnet|haiku|phi|dinov|ernie|hunyuan|doubao|minimax|codex|imagen|nova|mixtral|"
    "magistral|devstral|o"
)
_FAMILY_VERSION = re.compile(rf"\b({FAMILIES})[\s-]?(\d+(?:\.\d+)?)(?![\d.%])", re.IGNORECASE)
# Any capitalised name followed by a small version number is a product name ("Lumen 2",
# "Atlas 5"); words that number parts of things are not.
_NAME_VERSION = re.compile(
    r"\b([A-Z][a-z]{2,})\s(\d{1,2}(?:\.\d)?)\b(?![\d.%]|\s*(?:[%x×]|percent|"
    r"million|billion|trillion|hours?|days?|weeks?|months?|years?|minutes?|"
    r"seconds?|times|of|per|tb|gb|mb|k)\b)"
)
_NOT_PRODUCTS = {"ep", "episode", "part", "chapter", "day", "week", "phase", "level", "tier",
                 "step", "top", "series", "season", "section", "article", "page", "round", "for",
                 "and", "the", "with", "from", "over", "than", "about", "after", "until", "since",
                 "under", "only", "all", "its", "our", "their", "get", "gets", "has", "had", "are",
                 "was", "were", "will", "into", "across", "more", "less", "nearly", "almost",
                 "some", "those", "these", "both", "each", "every", "july", "june", "may", "march",
                 "april", "august", "september", "october", "november", "december", "january",
                 "february", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                 "sunday", "bill", "sb", "covid", "figure", "table"}  # fmt: skip
# Latin proper names (capitalised, CamelCase or acronyms) name who and what a story is about;
# they survive translation into Chinese text ("智能体平台 Relay 泄露").
_NAME = re.compile(r"(?<![\w-])(?:[A-Z][a-z]+[A-Z][A-Za-z]*|[A-Z]{2,6}|[A-Z][a-z]{2,})(?![\w-])")
_COMMON_CAPS = {
    "the", "a", "an", "and", "or", "our", "we", "this", "that", "these", "in", "on", "at", "for",
    "with", "by", "from", "to", "of", "it", "its", "is", "are", "was", "new", "how", "why", "what",
    "when", "who", "introducing", "announcing", "update", "today", "now", "here", "after",
    "before", "opinion", "analysis", "review", "exclusive", "breaking", "report", "reports",
    "says", "said", "two", "three", "four", "five", "first", "one", "more", "than", "all", "api",
    "ai", "llm", "llms", "gpu", "gpus", "ceo", "cto", "us", "uk", "eu", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december",
    "anyone", "thread", "discussion", "link", "must", "read", "week", "weekly", "you",
    "your", "they", "their", "his", "her", "model", "models", "company", "companies", "lab",
    "researchers", "research", "company's", "but", "also", "not", "can", "will", "has", "have",
}  # fmt: skip
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
_DIGIT = re.compile(r"\d")
_UNIT = re.compile(r"^\d+(\.\d+)?[a-z]{0,2}$")  # 128k, 70b, 3x: sizes, not names
_GENERIC = {"h100", "h200", "b200", "gb200", "a100", "mp4", "covid19", "q1", "q2", "q3", "q4",
            "ep", "sb", "g7", "g20", "p1", "t1", "t2", "t3"}  # fmt: skip
_FAMILY_WORDS = set(FAMILIES.split("|"))
_ORG_WORDS = {"deepseek", "qwen", "kimi", "glm", "openai", "google", "meta", "mistral"}

# Canonical entity -> aliases. "strong" ones name one occurrence or programme (Stargate, the
# IMO, the Code of Practice); "org" ones name makers, which launch many things, so they only
# support other evidence. English aliases match on word boundaries, Chinese ones as substrings.
STRONG: dict[str, tuple[str, ...]] = {
    "stargate": ("stargate", "星际之门"),
    "imo": ("imo", "international mathematical olympiad", "math olympiad", "数学奥赛",
            "数学奥林匹克", "奥数"),
    "gold-medal": ("gold medal", "gold-medal", "金牌"),
    "code-of-practice": ("code of practice", "行为准则"),
    "ai-act": ("ai act", "人工智能法"),
    "general-purpose": ("general-purpose", "general purpose", "gpai", "通用模型",
                        "通用人工智能模型"),
    "labeling": ("label", "labeling", "labelling", "标识"),
    "action-plan": ("action plan", "行动计划"),
    "system-card": ("system card", "系统卡"),
    "open-weight": ("open-weight", "open weights", "开源权重", "开放权重"),
    "swe-bench": ("swe-bench",),
    "lmarena": ("lmarena", "chatbot arena"),
    "series-f": ("series f", "f 轮"),
    "series-e": ("series e", "e 轮"),
    "diffusion-rule": ("diffusion rule", "扩散规则"),
    "sb-53": ("sb 53", "sb53"),
    "nature": ("nature", "《自然》"),
    "manus": ("manus",),
    "deep-think": ("deep think",),
    "deep-research": ("deep research", "深度研究"),
    "agent-mode": ("chatgpt agent",),
}  # fmt: skip
ORGS: dict[str, tuple[str, ...]] = {
    "openai": ("openai",),
    "anthropic": ("anthropic",),
    "google": ("google", "deepmind", "谷歌"),
    "meta": ("meta", "脸书"),
    "microsoft": ("microsoft", "微软"),
    "nvidia": ("nvidia", "英伟达"),
    "deepseek": ("deepseek", "深度求索"),
    "qwen": ("qwen", "alibaba", "通义千问", "通义", "阿里"),
    "moonshot": ("moonshot", "月之暗面"),
    "zhipu": ("zhipu", "智谱"),
    "xai": ("xai",),
    "mistral": ("mistral",),
    "softbank": ("softbank", "软银"),
    "oracle": ("oracle", "甲骨文"),
    "eu": ("eu", "european union", "european commission", "欧盟"),
    "china": ("china", "chinese", "中国"),
    "us": ("white house", "trump", "us government", "美国"),
}


# An entity: its canonical name, its aliases as plain substrings, and the pattern that checks
# word boundaries. The substring test runs first because most entities are absent from most
# stories and `in` is far cheaper than a regex search (it was half of feature extraction).
Entity = tuple[str, tuple[str, ...], re.Pattern[str]]


def _compile(table: dict[str, tuple[str, ...]]) -> list[Entity]:
    compiled = []
    for name, aliases in table.items():
        parts = []
        for alias in aliases:
            if alias.isascii():
                parts.append(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])")
            else:
                parts.append(re.escape(alias))
        compiled.append((name, aliases, re.compile("|".join(parts))))
    return compiled


_STRONG = _compile(STRONG)
_ORGS = _compile(ORGS)

# Numbers with their scale, in both languages; bare small integers say nothing.
_SCALES = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9,
    "trillion": 1e12, "t": 1e12, "万": 1e4, "亿": 1e8, "万亿": 1e12, "千亿": 1e11,
}  # fmt: skip
_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)\s*"
    r"(万亿|千亿|万|亿|thousand|million|billion|trillion|bn|%|k|m|b|t)?(?![a-z])",
    re.IGNORECASE,
)
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"])}  # fmt: skip
_DATE_EN = re.compile(
    r"\b(?:(\d{1,2})\s+(" + "|".join(_MONTHS) + r")|(" + "|".join(_MONTHS) + r")\s+(\d{1,2})\b)",
    re.IGNORECASE,
)
_DATE_ZH = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CJK = re.compile(r"[\u3400-\u9fff]")
_NOISE = re.compile(r"[^\w\u3400-\u9fff]+")


@dataclass(frozen=True, slots=True)
class Features:
    """Kept for every story of the window, so compact: the MinHash is only its 64 hash values
    (256 bytes; the shingles themselves are not kept) and empty sets share one object."""

    title_models: frozenset[str]
    models: frozenset[str]
    strong: frozenset[str]
    title_strong: frozenset[str]
    orgs: frozenset[str]
    names: frozenset[str]
    title_names: frozenset[str]
    numbers: frozenset[str]
    hashes: npt.NDArray[np.uint32]  # MinHash signature of the word shingles
    roundup: bool
    title_key: str  # lowercased title words, for fuzzy title comparison

    def jaccard(self, other: Features) -> float:
        """Estimated Jaccard similarity of the two stories' shingles (as datasketch does)."""
        return int(np.count_nonzero(self.hashes == other.hashes)) / NUM_PERM

    def index_keys(self) -> set[str]:
        """Keys a story is filed under: every model it names, title-level entities, and
        numbers specific enough to mean something (scaled amounts, percentages, dates)."""
        return (
            {f"m:{m}" for m in self.models}
            | {f"tm:{m}" for m in self.title_models}
            | {f"s:{s}" for s in self.title_strong}
            | {f"n:{n}" for n in self.numbers if _SPECIFIC.search(n)}
        )

    def query_keys(self) -> set[str]:
        """Keys to look up: its title models against every mention, its other models against
        titles (so "model in one title, named in the other's text" is found both ways)."""
        return (
            {f"m:{m}" for m in self.title_models}
            | {f"tm:{m}" for m in self.models}
            | {f"s:{s}" for s in self.strong}
            | {f"n:{n}" for n in self.numbers if _SPECIFIC.search(n)}
        )


_SPECIFIC = re.compile(r"e\+|%|^date:|\.")


def model_tokens(text: str) -> set[str]:
    """Names that carry a version: o3-mini, qwen3, gpt-4.5, and "Llama 4" as llama-4."""
    found = set()
    for match in _FAMILY_VERSION.finditer(text):
        found.add(f"{match.group(1).lower()}-{match.group(2)}")
    for match in _NAME_VERSION.finditer(text):
        if match.group(1).lower() not in _NOT_PRODUCTS:
            found.add(f"{match.group(1).lower()}-{match.group(2)}")
    for match in _TOKEN.finditer(text):
        word = match.group(0)
        if "-" not in word and not _DIGIT.search(word):
            continue  # plain words: every rule below needs a hyphen or a digit
        token = word.lower().rstrip(".")
        parts = token.split("-")
        has_digit = any(ch.isdigit() for ch in token)
        if len(parts) > 1 and parts[0] in _FAMILY_WORDS and parts[0] != "o":
            # gpt-oss, gpt-oss-120b: a named family member; its stem names the release too
            found.add("-".join(parts[:2]))
        if len(parts) > 1 and parts[0] in _ORG_WORDS and parts[1][:1].isalpha():
            found.add("-".join(parts[1:]))  # deepseek-r1 is also "R1" in "DeepSeek's R1"
        if not has_digit or _UNIT.match(token) or token in _GENERIC or len(token) < 2:
            continue
        if token.split("-")[0].isdigit():
            continue
        found.add(token)
    return {_canonical_model(t) for t in found}


def _canonical_model(token: str) -> str:
    # "qwen-3" and "qwen3", "gpt4.5" and "gpt-4.5" are one name
    return re.sub(r"^([a-z]+)-?(\d)", r"\1\2", token)


def numbers(text: str) -> set[str]:
    """Scaled numbers (500 billion = 5000 亿 = 5e11), percentages and day-month dates."""
    found = set()
    lowered = text.lower()
    for match in _NUMBER.finditer(lowered):
        raw, unit = match.group(1).replace(",", ""), (match.group(2) or "").lower()
        try:
            value = float(raw)
        except ValueError:
            continue
        if unit == "%":
            found.add(f"{value:g}%")
            continue
        if unit in _SCALES:
            found.add(f"{value * _SCALES[unit]:.3g}")
        elif value >= 100 and not (1900 <= value <= 2100 and "." not in raw):
            found.add(f"{value:.3g}")  # plain numbers: only the ones that are not years
    for match in _DATE_EN.finditer(lowered):
        day = match.group(1) or match.group(4)
        month = _MONTHS[(match.group(2) or match.group(3)).lower()]
        found.add(f"date:{month}-{int(day)}")
    for match in _DATE_ZH.finditer(text):
        found.add(f"date:{int(match.group(1))}-{int(match.group(2))}")
    return found


def names(text: str) -> set[str]:
    """Proper names in Latin script, lowercased, minus words that are capitalised by grammar."""
    found = {m.group(0).lower() for m in _NAME.finditer(text)}
    return {n for n in found if n not in _COMMON_CAPS and not any(ch.isdigit() for ch in n)}


def entities(text: str, table: list[Entity]) -> set[str]:
    lowered = text.lower()
    return {
        name
        for name, aliases, pattern in table
        if any(alias in lowered for alias in aliases) and pattern.search(lowered)
    }


# Function words every English report shares; they would make unrelated stories look alike.
_STOP_WORDS = (
    "the a an and or of to in on for with by at from is are was were be been as it its this "
    "that these those has have had will would can could new our we you they their more than "
    "into about after over not but also which who what how why when all one two its up out "
    "says said just now"
)
_STOP = frozenset(_STOP_WORDS.split(" "))


def shingles(text: str) -> set[str]:
    """Content words of Latin text, character bigrams of CJK runs.

    Measured on the demo: word shingles (function words dropped) put reworded reports of one
    launch at 0.27-0.47 Jaccard and unrelated launches at 0.06-0.15; character trigrams put
    both near 0.2-0.5, too close to separate.
    """
    clean = _NOISE.sub(" ", text.lower()).strip()
    out: set[str] = set()
    for word in clean.split():
        if _CJK.search(word):
            out.update(word[i : i + 2] for i in range(max(1, len(word) - 1)))
        elif word not in _STOP and len(word) > 1:
            out.add(word)
    return out


_ROUNDUP = re.compile(
    r"\b(roundup|round-up|(this|the) (week|month) in|weekly|digest|newsletter|recap|"
    r"what we read|(news )?briefing|week in review)\b|周报|周刊|一周|速览|汇总|早报|晚报|日报"
)


_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*|[\u3400-\u9fff]+")
# datasketch derives the same permutations for every MinHash of a seed; derive them once.
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=7)
_PERMUTATIONS, _SCHEME = _TEMPLATE.permutations, _TEMPLATE.scheme


_EMPTY: frozenset[str] = frozenset()


def _frozen(values: set[str]) -> frozenset[str]:
    return frozenset(values) if values else _EMPTY


def features(title: str, text: str) -> Features:
    body = text[:BODY_CHARS]
    whole = f"{title}\n{body}"
    mh = MinHash(num_perm=NUM_PERM, seed=7, permutations=_PERMUTATIONS, scheme=_SCHEME)
    mh.update_batch([g.encode() for g in shingles(whole)] or [b""])
    return Features(
        title_models=_frozen(model_tokens(title)),
        models=_frozen(model_tokens(whole)),
        strong=_frozen(entities(whole, _STRONG)),
        title_strong=_frozen(entities(title, _STRONG)),
        orgs=_frozen(entities(whole, _ORGS)),
        names=_frozen(names(whole)),
        title_names=_frozen(names(title)),
        numbers=_frozen(numbers(whole)),
        hashes=mh.hashvalues,
        roundup=bool(_ROUNDUP.search(title.lower())),
        title_key=" ".join(_WORDS.findall(title.lower())) or title.lower(),
    )
