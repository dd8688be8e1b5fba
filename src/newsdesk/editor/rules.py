"""The offline rules editor: a deterministic judgement from signals in the text. No I/O.

It stands in for the model editor when none is configured (DESIGN.md §3 Judge): signals ->
HKR -> importance; then `policy.decide_tier` applies bands, caps and source-tier lines, so the
numbers stay in the policy file. It writes an extractive summary and no take or sharp.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from newsdesk.domain import (
    HKR,
    EarlierStory,
    Item,
    Judgement,
    ScorePart,
    Source,
    SourceTier,
    Tags,
    Tier,
)
from newsdesk.editor.taxonomy import (
    FRONTIER_LABS,
    find_entities,
    find_flagship_models,
    find_model_names,
    tag_text,
)
from newsdesk.policy import Policy, decide_tier, is_follow_up
from newsdesk.policy.adjust import adjusted, adjustments, bonus_parts

EDITOR_NAME = "rules"
SUMMARY_MAX_CHARS = 420
SUMMARY_MAX_SENTENCES = 3
LEAD_CHARS = 600  # kinds, exclusions and novelty count only in the title and this lead
# Why a secondary report is not featured (policy.decide_tier), as both editors' "why" says it.
SECONDARY_NOTE = "secondary report: another source leads its event"

# The points live in the policy's `[rules]` front matter (calibrated on eval/selection.jsonl,
# docs/editor.md); what a signal *is* lives here. Length thresholds of the signals:
LONG_BODY = 1200
SHORT_BODY = 200
MAX_RATINGS, MAX_MECHANISMS = 4, 2  # risk ratings and mechanisms counted as facts, at most
TIER_LABEL = {
    SourceTier.T1: "official source",
    SourceTier.T1_5: "official account",
    SourceTier.T2: "media source",
    SourceTier.T3: "community source",
}

_I = re.IGNORECASE
# Story kinds in priority order: the first found in the title (else the lead) names the story.
# Their points are the policy's `[rules.kind]` (a partnership is often a press release, so it
# weighs least; a system card, the rarest first-hand disclosure, most).
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "system card",
        re.compile(r"system card|model card|preparedness framework|模型卡|系统卡", _I),
    ),
    ("paper", re.compile(r"arXiv|\bpapers?\b|technical report|preprint|论文|技术报告", _I)),
    (
        "research",
        re.compile(
            r"\b(?:researchers|we|study|studies|trial|analysis|experiments?)"
            r" (?:found|find|finds|show|shows|showed|measured?|tested|stress-tested)\b"
            r"|\bstress-test(?:s|ed|ing)?\b|randomi[sz]ed (?:controlled )?trial|interpretability"
            r"|\bfound (?:evidence|that)\b|研究(?:发现|表明)|实验(?:发现|表明)",
            _I,
        ),
    ),
    (
        "policy action",
        re.compile(
            r"(?i:executive order|AI Act|regulation|legislation|guidance)|\b(?:bill|law)\b"
            r"|监管|法规|管理办法|征求意见稿|立法"
        ),
    ),
    ("acquisition", re.compile(r"\bacquir(?:es|ed|ing)\b|acquisition|收购|并购", _I)),
    (
        "funding",
        re.compile(
            r"\brais(?:es|ed|ing)\s+(?:(?:US)?[$€£]|\d[\d.,]*\s?(?:[KMB]|bn|million|billion)?\s?[€£$])"
            r"|funding round|Series [A-F]\b|融资",
            _I,
        ),
    ),
    (
        "incident",
        re.compile(r"outage|breach|\bleak(?:s|ed)?\b|lawsuit|\bsue[sd]\b|宕机|泄露|诉讼|事故", _I),
    ),
    (
        "personnel move",
        re.compile(
            r"\b(?:to )?join(?:s|ing)\b|appointed|\bhire[sd]?\b|steps down|resign(?:s|ed)\b"
            r"|departs|离职|任命|出任|加盟",
            _I,
        ),
    ),
    ("partnership", re.compile(r"partners? with|partnership|collaborat\w* with|合作|联手", _I)),
    (
        "release",
        re.compile(
            r"\b(?:launch(?:es|ed|ing)?|releas(?:e|es|ed|ing)|introduc(?:e|es|ed|ing)"
            r"|unveil(?:s|ed|ing)?|announc(?:e|es|ed|ing)|open[- ]sourc(?:e|es|ed|ing))\b"
            r"|now (?:generally )?available|generally available|public preview|now live"
            r"|rolls? out|发布|推出|上线|开源|亮相",
            _I,
        ),
    ),
)
KINDS = tuple(name for name, _ in _KINDS)
SUBSTANTIVE_KINDS = ("release", "paper", "system card")  # what earns the frontier-lab bonus
_EXCLUSIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "webinar or event promotion",
        re.compile(
            r"webinar|register (?:now|today|here)|save your seat|join us live|virtual event"
            r"|网络研讨会|直播预约|报名参加|立即报名",
            _I,
        ),
    ),
    (
        "customer-case marketing",
        re.compile(
            r"customer (?:story|stories|spotlight|success)|case study|success story"
            r"|^How \S+(?: \S+){0,2} (?:uses|used|leverages|leveraged|built|cuts|cut)\b"
            r"|客户案例|成功案例",
            _I | re.MULTILINE,
        ),
    ),
    (
        "cloud-vendor promotion",
        re.compile(
            r"(?:AWS|Amazon Bedrock|SageMaker|Azure|Google Cloud|Vertex AI|阿里云|腾讯云|华为云"
            r"|火山引擎|百度智能云)[^\n]{0,200}?(?:get started|sign up|free trial|start building"
            r"|try it (?:today|now|for free)|contact sales|限时|优惠|免费试用|立即体验)"
            r"|now available (?:in|on|through) (?:AWS|Amazon Bedrock|Azure|Google Cloud|Vertex AI)",
            _I,
        ),
    ),
    ("stale rerun with no new angle", re.compile(r"\b(?:rerun|encore|throwback)\b|重播|旧文", _I)),
)
_AI_AS_TOOL = re.compile(
    r"(?:uses?|using|used|appl(?:y|ies|ying))"
    r" (?:AI|machine learning|deep learning|neural networks?) to|(?:利用|借助)(?:AI|人工智能)",
    _I,
)
_SCIENCE = re.compile(
    r"protein|cancer|patients?|tumou?r|galax|climate|species|molecul|genom|earthquake|astronom"
    r"|fossil|蛋白|癌|气候|基因|天文|地震",
    _I,
)
_MARKETING = re.compile(
    r"revolutioni[sz]e|revolutionary|\bunlock\w*|\bempower\w*|game[- ]chang\w*|cutting[- ]edge"
    r"|seamless\w*|best[- ]in[- ]class|world[- ]class|supercharg\w*|unleash\w*|next[- ]level"
    r"|赋能|助力|引领|重塑|颠覆|革命性|一站式",
    _I,
)
_OPINION_TITLE = re.compile(
    r"\bopinion\b|op-ed|\bessay\b|I think|my take|thoughts on|in defen[cs]e of"
    r"|the case (?:for|against)|观点|评论|我认为|我觉得|随笔",
    _I,
)
_QUESTION_TITLE = re.compile(r"^why\b|\?\s*$|为什么|？\s*$", _I)  # opinion only with body markers
_OPINION_BODY = re.compile(
    r"\bI (?:think|believe|feel)\b|in my (?:view|opinion)|my take|\bwe (?:should|need to)\b"
    r"|我认为|我觉得|在我看来|个人认为",
    _I,
)
_EXAMPLE = re.compile(r"for (?:example|instance)|e\.g\.|例如|比如", _I)
_NOVELTY = re.compile(
    r"\bfirst\b|\brecord\b|surpass\w*|outperform\w*|\bbeats?\b|state[- ]of[- ]the[- ]art|\bSOTA\b"
    r"|首次|首个|首款|超越|刷新",
    _I,
)
_EXPERIMENT = re.compile(
    r"\bI (?:tested|ran|benchmarked|measured|tried|timed)\b|\bwe (?:tested|benchmarked|measured)\b"
    r"|in my (?:tests|experiments?)|我(?:测试|实测|跑了|试了)|实测|亲测",
    _I,
)
INJECTION = re.compile(
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) instructions"
    r"|disregard (?:all |the )?(?:previous|prior|above) "
    r"|忽略(?:之前|以上|上述)的?(?:所有)?(?:指令|指示)",
    _I,
)
# Concrete facts the K judgement can rest on.
_VERSION = re.compile(r"(?<![A-Za-z0-9_.-])[A-Za-z][A-Za-z.-]*\d[A-Za-z0-9_.-]*")
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE = re.compile(
    rf"{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?"
    r"|\d{4}[-/]\d{1,2}[-/]\d{1,2}|(?:\d{4}年)?\d{1,2}月(?:\d{1,2}日)?|\d{4}年|\d{1,2}:\d{2}"
)
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(?:US)?[$€£¥]?\d+(?:[.,]\d+)*"
    r"(?:\s?(?:%|percent|x|×|[KMB]|bn|billion|million|thousand|trillion|tokens?|ms|GB|TB)"
    r"(?![A-Za-z])|(?:亿|万)?(?:美元|元)|亿|万|倍|个百分点)?"
)
_YEAR = re.compile(r"(?:19|20)\d\d")
_BIG_MONEY = re.compile(
    r"(?:US)?[$€£]\s?\d+(?:[.,]\d+)?\s?(?:billion|bn|trillion|B\b)|(?:\d{2,}(?:\.\d+)?\s?亿|\d+(?:\.\d+)?\s?万亿)(?:美元|欧元|元)"
)
MONEY_KINDS = ("funding", "acquisition", "policy action", "incident", "personnel move", "")
_RATING = re.compile(
    r"\b(?:as|at|in|to|of|rated|rating|reach(?:es|ed)?|scor(?:e|es|ed))\s+(?:Low|Medium|High|Critical)\b"
    r"|\b(?:Low|Medium|High|Critical)\s+(?:risk|in|on|for|or)\b|[低中高]风险|风险(?:等级|评级)为?[低中高]"
)
_BENCHMARK = re.compile(
    r"MMLU(?:-Pro)?|GPQA|SWE-bench|AIME|HumanEval|MATH-500|ARC-AGI|LiveCodeBench|LMArena"
    r"|Chatbot Arena|MMMU|GSM8K|BrowseComp|Terminal-Bench|Humanity's Last Exam"
)
_MECHANISM = re.compile(
    r"deliberative alignment|chain[- ]of[- ]thought|mixture[- ]of[- ]experts|\bMoE\b|\bRLHF\b"
    r"|reinforcement learning|distillation|sparse autoencoder|speculative decoding|red[- ]teaming"
    r"|constitutional AI|test[- ]time compute|混合专家|强化学习|蒸馏|思维链",
    _I,
)


@dataclass(frozen=True, slots=True)
class Signals:
    """What the rules editor read from one item; every judgement field derives from these."""

    source_tier: SourceTier
    entities: tuple[str, ...]  # everything named, first mention first
    subject: str  # whom the story is about (see _subject); "" when nobody we track
    flagship: tuple[str, ...]  # Chinese flagship model families the story is about (_about)
    kind: str  # one of _KINDS ("system card", "paper", "release", ...) or ""
    figures: int
    ratings: int
    benchmarks: int
    mechanisms: int
    versions: int
    marketing: tuple[str, ...]
    novelty: bool
    opinion: bool
    experiment: bool  # first person, with numbers
    exclusion: str  # hard-exclusion reason, "" when none
    coverage: int
    body_chars: int  # Latin-equivalent length: a CJK character counts as three
    big_money: bool = False  # a sum of a billion (十亿) or more is named
    secondary: bool = False  # its event is led by a higher-tier source's report (policy/rules)
    released: Release | None = None  # a paper on a model the desk carried the release of

    @property
    def facts(self) -> int:
        return (
            self.figures
            + min(self.ratings, MAX_RATINGS)
            + self.benchmarks
            + min(self.mechanisms, MAX_MECHANISMS)
        )

    @property
    def frontier_subject(self) -> bool:
        return self.subject in FRONTIER_LABS


# ---- text helpers ---------------------------------------------------------------------------

_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*(?=\s)|[。！？][\"'”’」』）)]*")
_ABBREV = re.compile(
    r"(?:\b(?:e\.g|i\.e|vs|Mr|Mrs|Ms|Dr|Prof|Inc|Ltd|Co|St|Jr|Sr|No|Fig|approx)\.|\b[A-Z]\.|U\.S\.)$"
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_UNIT_AFTER_DIGIT = set("亿万千百倍元%个年月日美")


def split_sentences(text: str) -> list[str]:
    """Sentences on . ! ? (English) and 。！？ (Chinese); lines are never joined."""
    out: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        start = 0
        for match in _BOUNDARY.finditer(line):
            piece = line[start : match.end()].strip()
            if _ABBREV.search(piece):  # "e.g." or "U.S." is not a sentence end
                continue
            if piece:
                out.append(piece)
            start = match.end()
        if line[start:].strip():
            out.append(line[start:].strip())
    return out


def _latin(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "-_.,%$'")


def clip(text: str, limit: int) -> str:
    """Shorten to at most `limit` characters with an ellipsis, never inside a word or number."""
    if len(text) <= limit:
        return text
    cut = 0
    for i in range(limit - 1, 0, -1):
        before, after = text[i - 1], text[i]
        if after.isspace() or before.isspace():
            cut = i
            break
        if before.isdigit() and after in _UNIT_AFTER_DIGIT:
            continue
        if not (_latin(before) and _latin(after)):
            cut = i
            break
    head = text[:cut].rstrip(" ,;:，、；：-")
    return f"{head}…" if head else text[: limit - 1] + "…"


def _norm(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()


def extract_summary(title: str, sentences: list[str]) -> str:
    """Lead 2-3 sentences of the body, verbatim (so numbers are kept), at most ~420 chars."""
    lead = [
        s
        for s in sentences
        if _norm(s) != _norm(title) and (len(s) >= 20 or s[-1] in ".!?。！？")  # skip bylines
    ]
    if not lead:
        return clip(title, SUMMARY_MAX_CHARS)
    summary = clip(lead[0], SUMMARY_MAX_CHARS)
    for sentence in lead[1:SUMMARY_MAX_SENTENCES]:
        joiner = "" if summary[-1] in "。！？" or _CJK.match(sentence) else " "
        if len(summary) + len(joiner) + len(sentence) > SUMMARY_MAX_CHARS:
            break
        summary = f"{summary}{joiner}{sentence}"
    return summary


def _is_chinese(item: Item) -> bool:
    lang = item.language.lower()
    if lang.startswith(("zh", "en")):
        return lang.startswith("zh")
    text = f"{item.title}{item.body_text[:500]}"
    return len(_CJK.findall(text)) > 0.2 * max(1, len(text))  # undetected: guess from script


# ---- signals --------------------------------------------------------------------------------


def _count_figures(text: str) -> int:
    text = _VERSION.sub(" ", _DATE.sub(" ", text))  # versions and dates are not figures
    figures = {
        " ".join(m.group(0).split())
        for m in _NUMBER.finditer(text)
        if not _YEAR.fullmatch(m.group(0).strip())
    }
    return len(figures)


def _versions(text: str) -> int:
    tokens = {m.group(0).rstrip(".-") for m in _VERSION.finditer(text)}
    return len({t for t in tokens if not re.fullmatch(r"Q[1-4]", t)})


def _about(title: str, sentences: list[str]) -> str:
    """Where a story says what it is about: its title and the very start of its body."""
    return f"{title}\n{sentences[0][:100]}" if sentences else title


def _subject(title: str, sentences: list[str], source: Source) -> str:
    """Who the story is about: named in the title, else the official source itself, else named
    at the very start of the body. A lab mentioned in passing further down is not the subject."""
    candidates = find_entities(title)
    if not candidates and source.tier in (SourceTier.T1, SourceTier.T1_5):
        candidates = find_entities(source.name)  # "OpenAI Blog" speaks for OpenAI
    if not candidates and sentences:
        candidates = find_entities(sentences[0][:100])
    frontier = [name for name in candidates if name in FRONTIER_LABS]
    return (frontier or candidates or [""])[0]


def _is_opinion(title: str, body: str) -> bool:
    markers = len(_OPINION_BODY.findall(body)) + bool(_QUESTION_TITLE.search(title))
    return bool(_OPINION_TITLE.search(title)) or markers >= 2


def _exclusion(
    title: str, lead: str, text: str, entities: list[str], facts: int, opinion: bool
) -> str:
    head = f"{title}\n{lead}"
    for reason, pattern in _EXCLUSIONS:
        if pattern.search(head):
            return reason
    if _AI_AS_TOOL.search(head) and _SCIENCE.search(text) and not FRONTIER_LABS & set(entities):
        return "science that only uses AI as a tool"
    if opinion and facts == 0 and not _EXAMPLE.search(text):
        return "opinion with no data or example"
    return ""


def body_sentences(item: Item) -> list[str]:
    # Sentences that address the editor are data, not instructions: drop them (invariant 6).
    return [s for s in split_sentences(item.body_text) if not INJECTION.search(s)]


def story_kind(title: str, lead: str) -> str:
    """The first kind found in the title, else in the lead (`_KINDS`' order), else "release"
    for a title that is a model's name ("Qwen3-VL", "DINOv3: Self-supervised learning …");
    "" for none."""
    found = next((name for name, rx in _KINDS if rx.search(title)), "") or next(
        (name for name, rx in _KINDS if rx.search(lead)), ""
    )
    return found or ("release" if _names_a_model(title) else "")


def _names_a_model(title: str) -> bool:
    """The title is a versioned model's name, alone or before a colon."""
    head = " ".join(title.split(":")[0].split())
    return head in find_model_names(head).values()


@dataclass(frozen=True, slots=True)
class RulesInput:
    """What the rules editor judges one story from (`compute_signals`, `read_story`).

    `heard`: an episode's transcript passages its show notes point to. They count for what
    the story names and the facts it carries (figures, benchmarks, mechanisms, versions); its
    kind, novelty, opinion, exclusions, length and summary stay the notes', because a
    conversation's "we launched", "I think" and sheer length are not what those signals mean.
    `secondary`: another source leads the story's event (`repo.secondary_reports`).
    `released`: the desk's earlier release of a model the story's title names, when the story
    is a paper (`release_before`)."""

    item: Item
    source: Source
    coverage: int = 1
    heard: str = ""
    secondary: bool = False
    released: Release | None = None

    @property
    def title(self) -> str:
        return " ".join(self.item.title.split())

    @property
    def spoken(self) -> str:
        """The heard passages, without sentences that address the editor (invariant 6)."""
        return " ".join(s for s in split_sentences(self.heard) if not INJECTION.search(s))


def compute_signals(story: RulesInput) -> Signals:
    """Every signal the rules editor reads from one story (see `RulesInput`)."""
    item, source, coverage = story.item, story.source, story.coverage
    sentences = body_sentences(item)
    body = " ".join(sentences)
    title = story.title
    lead = body[:LEAD_CHARS]
    spoken = story.spoken
    text = f"{title}\n{body}\n{spoken}" if spoken else f"{title}\n{body}"
    entities = find_entities(text)
    subject = _subject(title, sentences, source)
    kind = story_kind(title, lead)
    figures = _count_figures(text)
    partial = Signals(
        source_tier=SourceTier(source.tier),
        entities=tuple(entities),
        subject=subject,
        # Like the frontier-lab subject: a paper that fine-tunes Qwen2.5 further down is not a
        # Qwen release, and earns neither the flagship bonus nor its resonance.
        flagship=tuple(find_flagship_models(_about(title, sentences))),
        kind=kind,
        figures=figures,
        ratings=len(_RATING.findall(text)),
        benchmarks=len(set(_BENCHMARK.findall(text))),
        mechanisms=len({m.casefold() for m in _MECHANISM.findall(text)}),
        versions=_versions(text),
        marketing=tuple(sorted({m.casefold() for m in _MARKETING.findall(text)})),
        novelty=bool(_NOVELTY.search(f"{title}\n{lead}")),
        opinion=_is_opinion(title, body),
        experiment=bool(_EXPERIMENT.search(f"{title}\n{body}")) and figures >= 2,
        exclusion="",
        coverage=max(1, coverage),
        body_chars=len(body) + 2 * len(_CJK.findall(body)),
        big_money=bool(_BIG_MONEY.search(text)),
        secondary=story.secondary,
        released=story.released if kind == "paper" else None,
    )
    reason = _exclusion(title, lead, f"{title}\n{body}", entities, partial.facts, partial.opinion)
    return replace(partial, exclusion=reason)


# ---- HKR and importance ---------------------------------------------------------------------


def derive_hkr(s: Signals) -> HKR:
    """Three judgements, each with a one-line reason naming the signal or what is missing."""
    who = f" by {s.subject}" if s.subject else ""
    if s.exclusion:
        hook, hook_reason = False, f"hard exclusion: {s.exclusion}"
    elif len(s.marketing) >= 2:
        hook, hook_reason = False, f"marketing language ({', '.join(s.marketing)}) is no hook"
    elif s.kind:
        hook, hook_reason = True, f"{s.kind}{who}"
    elif s.novelty and (s.entities or s.facts):
        hook, hook_reason = True, f"novelty claim{who}"
    elif s.coverage >= 3:
        hook, hook_reason = True, f"{s.coverage} independent sources on the event"
    elif s.experiment:
        hook, hook_reason = True, "first-person experiment with numbers"
    else:
        hook, hook_reason = False, "no release, paper, policy action or novelty"

    if s.facts >= 2:
        knowledge, knowledge_reason = True, f"{_facts_phrase(s)} in text"
    elif s.facts == 1 and s.body_chars >= 600:
        knowledge, knowledge_reason = True, f"{_facts_phrase(s)} in a full-length body"
    elif s.body_chars < SHORT_BODY:
        knowledge, knowledge_reason = False, "body too short to carry a fact"
    else:
        knowledge, knowledge_reason = False, "no figure, rating, benchmark or mechanism in text"

    if s.frontier_subject:
        resonance, resonance_reason = True, f"touches {s.subject}, a frontier lab"
    elif s.flagship:
        resonance, resonance_reason = True, f"Chinese flagship model {s.flagship[0]}"
    elif s.kind == "policy action" and s.entities:
        resonance, resonance_reason = True, f"AI policy action by {s.entities[0]}"
    elif s.coverage >= 2:
        resonance, resonance_reason = True, f"covered by {s.coverage} independent sources"
    elif s.subject and s.kind:
        resonance, resonance_reason = True, f"{s.kind} by {s.subject}, a tracked company"
    else:
        resonance, resonance_reason = False, "no frontier lab, flagship model or wider coverage"
    return HKR(hook, knowledge, resonance, hook_reason, knowledge_reason, resonance_reason)


def _bonus(policy: Policy, key: str) -> int:
    return int(policy.numbers.get("bonus", {}).get(key, 0))


def credited_facts(s: Signals, policy: Policy) -> int:
    """The facts a story's points count: those in its text, and for a feed's teaser (a body
    under SHORT_BODY) at least the policy's `teaser_facts`, the facts its page would show that
    the desk did not read. Its K judgement still counts only what it read."""
    if s.body_chars >= SHORT_BODY:
        return s.facts
    return max(s.facts, int(policy.numbers["rules"].get("teaser_facts", 0)))


def score(s: Signals, policy: Policy) -> tuple[int, list[str]]:
    """Importance before the policy's caps, and the bonus notes for `why`. Every point comes
    from the policy's `[rules]` and `[bonus]` tables."""
    w = policy.numbers["rules"]
    facts = credited_facts(s, policy)
    points = int(w["base"].get(s.source_tier.value, 0))
    points += int(w["kind"].get(s.kind, 0)) if s.kind else 0
    if s.frontier_subject:
        points += int(w["frontier_subject"])
    elif s.subject:
        points += int(w["entity_subject"])
    points += int(w["fact"]) * min(facts, int(w["max_facts"]))
    points += int(w["version"]) if s.versions else 0
    points += int(w["big_money"]) if s.big_money and s.kind in MONEY_KINDS else 0
    points += int(w["extra_source"]) * min(s.coverage - 1, int(w["max_extra_sources"]))
    points += int(w["long_body"]) if s.body_chars >= LONG_BODY else 0
    points += int(w["short_body"]) if s.body_chars < SHORT_BODY else 0
    points += int(w["marketing"]) * min(len(s.marketing), int(w["max_marketing"]))
    points += int(w["opinion"]) if s.opinion and s.facts == 0 else 0

    notes: list[str] = []
    # A release with no concrete facts (a localisation, a grants list) earns no release bonus.
    substantive = s.kind in SUBSTANTIVE_KINDS and facts >= 2
    # A Chinese flagship carries the same weight as a US lab: take the larger bonus, not both.
    lab = _bonus(policy, "frontier_lab_release") if substantive and s.frontier_subject else 0
    flag = _bonus(policy, "chinese_flagship_model") if substantive and s.flagship else 0
    if lab or flag:
        points += max(lab, flag)
        label = "frontier-lab release" if lab >= flag else "Chinese flagship"
        notes.append(f"{label} +{max(lab, flag)}")
    if s.coverage >= 3 and (extra := _bonus(policy, "multi_source_event")):
        points += extra
        notes.append(f"{s.coverage} sources +{extra}")
    if s.experiment and (extra := _bonus(policy, "first_person_experiment")):
        points += extra
        notes.append(f"first-person experiment +{extra}")
    return points, notes


# ---- why and the judgement ------------------------------------------------------------------


def _facts_phrase(s: Signals) -> str:
    parts = [
        (s.figures, "figure"),
        (min(s.ratings, MAX_RATINGS), "risk rating"),
        (s.benchmarks, "benchmark"),
        (min(s.mechanisms, MAX_MECHANISMS), "mechanism"),
    ]
    named = [f"{n} {word}{'s' if n > 1 else ''}" for n, word in parts if n]
    return ", ".join(named) if named else "no figures"


def compose_why(
    s: Signals,
    hkr: HKR,
    notes: list[str],
    importance: int,
    tier: Tier,
    limit: int,
    follow_up: bool = False,
) -> str:
    head = f"Rules editor: {s.source_tier.value} {TIER_LABEL[s.source_tier]}"
    tail = f"HKR {hkr.count}/3 → {importance}, {tier.value}."
    middle: list[str] = []
    if s.exclusion:
        middle.append(f"hard exclusion: {s.exclusion}")
    if s.secondary:  # says why a story scored above a line is not featured: keep it early
        middle.append(SECONDARY_NOTE)
    if follow_up and s.released is not None:  # likewise: why a paper above a line is in `all`
        middle.append(follow_up_note(s.released))
    if s.kind:
        middle.append(f"{s.kind} by {s.subject}" if s.subject else s.kind)
    elif s.subject:
        middle.append(f"names {s.subject}")
    middle.append(f"{_facts_phrase(s)} in text")
    middle.extend(notes)
    if s.marketing:
        middle.append(f"marketing words ({', '.join(s.marketing[:3])})")
    if s.opinion and s.facts == 0:
        middle.append("opinion without data")
    if s.body_chars < SHORT_BODY:
        middle.append("a teaser, scored as its page")
    # Drop the least important notes until it fits; head and tail always stay.
    while middle and len("; ".join([head, *middle, tail])) > limit:
        middle.pop()
    return clip("; ".join([head, *middle, tail]), limit)


@dataclass(frozen=True)
class Reading:
    """What the rules editor reads from one story, once. Judging it again under another policy
    is arithmetic on this (the policy search in `editor/propose.py` does it thousands of
    times)."""

    signals: Signals
    hkr: HKR
    tags: Tags
    source_id: str


@dataclass(frozen=True)
class Verdict:
    tier: Tier
    importance: int
    notes: list[str]
    breakdown: tuple[ScorePart, ...]
    follow_up: bool = False  # a follow-up paper under this policy (`is_follow_up`)


def read_story(story: RulesInput) -> Reading:
    signals = compute_signals(story)
    tags = tag_text(story.title, " ".join([*body_sentences(story.item), story.spoken]).strip())
    return Reading(signals, derive_hkr(signals), tags, story.source.id)


def verdict(reading: Reading, policy: Policy) -> Verdict:
    """Score, bonuses, the editors' adjustments, then the policy's caps and tier lines."""
    s = reading.signals
    raw, notes = score(s, policy)
    parts = adjustments(policy, reading.tags, reading.source_id)
    follow_up = is_follow_up(policy, s.released.days if s.released else None)
    tier, importance = decide_tier(
        policy,
        adjusted(raw, parts),
        reading.hkr,
        s.source_tier,
        hard_excluded=bool(s.exclusion),
        secondary=s.secondary,
        follow_up=follow_up,
    )
    return Verdict(tier, importance, notes, bonus_parts(notes) + tuple(parts), follow_up)


def rules_judgement(
    item: Item,
    source: Source,
    policy: Policy,
    coverage: int = 1,
    heard: str = "",
    *,
    secondary: bool = False,
    released: Release | None = None,
) -> Judgement:
    """Judge one item from text signals; deterministic, so a rerun gives the same judgement.
    An episode's `heard` passages (`editor/episode.py: pointed_text`) add to its facts and
    names (see `compute_signals`). `released`: see `release_before`."""
    reading = read_story(RulesInput(item, source, coverage, heard, secondary, released))
    signals, hkr = reading.signals, reading.hkr
    found = verdict(reading, policy)
    tier, importance = found.tier, found.importance
    limit = int(policy.numbers.get("lengths", {}).get("why_max_chars", 280))
    why = compose_why(signals, hkr, found.notes, importance, tier, limit, found.follow_up)

    title = " ".join(item.title.split())
    sentences = body_sentences(item)
    summary = extract_summary(title, sentences)
    zh = _is_chinese(item)  # it cannot translate: fill only the item's own language
    excluded_reason = signals.exclusion or ("zero HKR" if tier is Tier.EXCLUDED else "")
    return Judgement(
        importance=importance,
        tier=tier,
        hkr=hkr,
        tags=reading.tags,
        title_en="" if zh else title,
        summary_en="" if zh else summary,
        title_zh=title if zh else "",
        summary_zh=summary if zh else "",
        why=why,
        editor=EDITOR_NAME,
        policy_version=policy.version,
        excluded_reason=excluded_reason,
        breakdown=found.breakdown,
    )


# ---- follow-up papers -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Release:
    """The desk's first release story naming a model a paper's title names."""

    model: str  # as the paper's title spells it ("Gemini 2.5")
    days: float  # how long before the paper the release story was filed


def follow_up_note(release: Release) -> str:
    """Why a follow-up paper is in `all`, as both editors' "why" says it."""
    days = f"{release.days:.0f} days"
    return f"follow-up paper: the desk carried {release.model}'s release {days} earlier"


def _paper_models(item: Item) -> dict[str, str]:
    """The models a paper's title names; empty when the story is not a paper."""
    title = " ".join(item.title.split())
    names = find_model_names(title)
    if not names:  # most stories: no need to read the body
        return {}
    lead = " ".join(body_sentences(item))[:LEAD_CHARS]
    return names if story_kind(title, lead) == "paper" else {}


def follow_up_patterns(item: Item) -> tuple[str, ...]:
    """SQL LIKE patterns (lower case) for the earlier stories a paper could follow up: each
    names one of the models its title names, loosely ("%gemini%2.5%"); `release_before` checks
    what they really name. Empty when the story is not a paper naming a model."""
    return tuple(
        "%" + "%".join(re.findall(r"[a-z]+|\d+(?:\.\d+)*", key)) + "%"
        for key in _paper_models(item)
    )


def release_before(item: Item, earlier: Iterable[EarlierStory]) -> Release | None:
    """The desk's first release story (kind "release") filed before this paper whose title
    names a model the paper's title names; None when the story is not a paper or there is
    none. A release story is never a follow-up: only a paper is. Whether it is one under a
    policy (how many days before) is `policy.is_follow_up`."""
    names = _paper_models(item)
    if not names:
        return None
    found: Release | None = None
    for story in earlier:
        if story.filed_at >= item.filed_at:
            continue
        title = " ".join(story.title.split())
        lead = " ".join(s for s in split_sentences(story.lead) if not INJECTION.search(s))
        if story_kind(title, lead[:LEAD_CHARS]) != "release":
            continue
        shared = [key for key in find_model_names(title) if key in names]
        days = (item.filed_at - story.filed_at).total_seconds() / 86400
        if shared and (found is None or days > found.days):
            found = Release(names[shared[0]], days)
    return found
