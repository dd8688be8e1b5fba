"""Grouping: does a new story belong to an event already on the desk, and how?

Candidates come from the last 14 days through an index (MinHash LSH over character shingles,
plus exact keys for model names, strong entities and scaled numbers), so an English and a
Chinese report of one launch can meet. Each candidate pair gets one of four relations:

- same_occurrence: two reports of one happening (a launch and its coverage);
- same_story: a development of it (teaser → launch, launch → review, incident → response);
- roundup: a digest that mentions it among other things (never joins);
- unrelated.

Stories never grow by chaining: only an event's root and its same-occurrence reports can pull a
new story in; a development cannot bring its own developments.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Protocol

from datasketch import MinHashLSH
from rapidfuzz import fuzz

from newsdesk.domain import GroupDecision, StoryRef
from newsdesk.events.features import _SPECIFIC, NUM_PERM, Features, features

RELATIONS = ("same_occurrence", "same_story", "roundup", "unrelated")
WINDOW = timedelta(days=14)
OCCURRENCE_WINDOW = timedelta(days=4)  # a weekly newsletter reports a launch a few days late
STORY_WINDOW = timedelta(days=7)
TITLE_MATCH = 0.86  # token-set ratio of normalised titles
SHINGLE_SAME = 0.38  # estimated Jaccard of word shingles: the same report reworded
SHINGLE_STORY = 0.27
LSH_THRESHOLD = 0.3
# Cosine of the stories' vectors (title and lead, embed/): calibrated on the bundled model over
# eval/grouping.jsonl, where unrelated pairs within a week reach 0.56 (one lab's funding round
# against its model launch) and reports of one happening in two languages 0.6-0.9.
COSINE_SAME = 0.62  # within two days, meaning alone is enough
COSINE_STORY = 0.6  # within a week, a development told in other words
COSINE_NEAR = 0.45  # with specific shared evidence (not just the company)
COSINE_ADDENDUM = 0.4  # one source's follow-up naming the same model


@dataclass(frozen=True, slots=True)
class Relation:
    relation: str
    score: float
    reasons: tuple[str, ...] = ()


def rules_relation(
    a: StoryRef, fa: Features, b: StoryRef, fb: Features, cosine: float | None = None
) -> Relation:
    """Judge a pair by rules: similarity plus shared model names, entities and numbers, and
    (when both stories have vectors of one model) the cosine of their meaning."""
    if a.url and a.url == b.url:
        return Relation("same_occurrence", 1.0, ("same canonical URL",))
    gap = abs(a.filed_at - b.filed_at)
    if gap > WINDOW:
        return Relation("unrelated", 0.0, ("more than 14 days apart",))
    if a.source_id and a.source_id == b.source_id:
        return _one_source(gap, fa, fb, cosine)
    key_a, key_b = fa.title_key, fb.title_key
    short = min(len(key_a.split()), len(key_b.split()))
    title = fuzz.token_set_ratio(key_a, key_b) / 100 if short >= 3 else 0.0
    jaccard = fa.jaccard(fb)
    both_titles = fa.title_models & fb.title_models
    one_title = ((fa.title_models & fb.models) | (fb.title_models & fa.models)) - both_titles
    strong = fa.strong & fb.strong
    strong_in_title = strong & (fa.title_strong | fb.title_strong)
    nums = fa.numbers & fb.numbers
    orgs = fa.orgs & fb.orgs
    named = (fa.names & fb.names) - orgs - strong
    named_in_titles = fa.title_names & fb.title_names & named
    dates = {n for n in nums if n.startswith("date:")}  # "takes effect on 2 August" = 8 月 2 日
    evidence = len(strong) + len(nums) + 0.5 * len(orgs) + 0.5 * min(len(named), 2)
    values = nums - dates
    strong_both = fa.title_strong & fb.title_strong
    # Two titles that each name a model, and neither names the other's: different launches.
    other_launch = bool(
        fa.title_models
        and fb.title_models
        and not fa.title_models & fb.models
        and not fb.title_models & fa.models
    )
    reasons: list[str] = []
    if both_titles:
        reasons.append("same model in both titles: " + ", ".join(sorted(both_titles)))
    if one_title:
        reasons.append(
            "model named in one title and the other text: " + ", ".join(sorted(one_title))
        )
    if title >= TITLE_MATCH:
        reasons.append(f"titles {title:.0%} alike")
    if jaccard >= SHINGLE_STORY:
        reasons.append(f"text ~{jaccard:.0%} alike")
    if strong or nums or named:
        reasons.append("shared: " + ", ".join(sorted(strong | nums | orgs | named)))
    score = max(title, jaccard, min(1.0, evidence / 4), 0.9 if both_titles else 0.0)
    why = tuple(reasons)
    if other_launch:
        return Relation("unrelated", score, (*why, "titles name different models"))
    linked = bool(both_titles or one_title or strong or values or title >= TITLE_MATCH
                  or jaccard >= SHINGLE_STORY or len(named) >= 2)  # fmt: skip
    if fa.roundup != fb.roundup:
        if linked and gap <= STORY_WINDOW:
            return Relation("roundup", score, (*why, "one side is a roundup"))
        return Relation("unrelated", score, why)
    near = gap <= timedelta(days=2)
    meaning = cosine if cosine is not None else 0.0
    if cosine is not None:
        why = (*why, f"meaning {cosine:.2f} alike")
    # Specific evidence that two texts talk of one thing, beyond a company both name.
    specific = bool(strong or values or both_titles)
    if near and (meaning >= COSINE_SAME or (meaning >= COSINE_NEAR and specific)):
        return Relation("same_occurrence", max(score, meaning), why)
    if gap <= OCCURRENCE_WINDOW and (
        both_titles
        or title >= TITLE_MATCH
        or jaccard >= SHINGLE_SAME
        or (strong_in_title and evidence >= 3)
        or (strong_in_title and dates and near)
        or (strong_both and evidence >= 2.5 and near)
        or (one_title and (orgs or named) and near and (jaccard >= 0.2 or strong or values))
        or (values and named and evidence >= 2 and near)
        or (named_in_titles and (values or strong or jaccard >= 0.15) and near)
        or (strong_in_title and named and evidence >= 2 and near)
    ):
        return Relation("same_occurrence", score, why)
    if gap <= STORY_WINDOW and (meaning >= COSINE_STORY or (meaning >= COSINE_NEAR and specific)):
        return Relation("same_story", max(score, meaning), why)
    if gap <= STORY_WINDOW and (
        (both_titles and (jaccard >= 0.15 or evidence >= 1))
        or jaccard >= SHINGLE_STORY
        or (strong_in_title and evidence >= 2.5)
        or (strong_in_title and named and evidence >= 2)
        or (values and (named or orgs) and evidence >= 1.5)
    ):
        return Relation("same_story", score, why)
    if (both_titles and jaccard >= SHINGLE_STORY) or (strong_in_title and evidence >= 4):
        return Relation("same_story", score, why)
    return Relation("unrelated", score, why)


def _one_source(gap: timedelta, fa: Features, fb: Features, cosine: float | None) -> Relation:
    """One source's two posts are two stories, except an addendum to its own launch post (a
    system card, a follow-up) within two days: both titles name the same model and the texts
    mean much the same. One lab's different announcements of one day stay apart."""
    shared = fa.title_models & fb.title_models
    if (
        shared
        and fa.title_models == fb.title_models
        and gap <= timedelta(days=2)
        and (cosine or 0.0) >= COSINE_ADDENDUM
    ):
        return Relation(
            "same_story",
            cosine or 0.0,
            ("one source's follow-up on " + ", ".join(sorted(shared)), f"meaning {cosine:.2f}"),
        )
    return Relation("unrelated", 0.0, ("one source's two posts are two stories",))


def could_join(a: StoryRef, fa: Features, b: StoryRef, fb: Features) -> bool:
    """False when `rules_relation` is sure to keep the pair apart, found without scoring it.

    The same early exits as the rules, in the same order: more than 14 days apart, titles naming
    different models, one side a roundup. On a busy desk most candidates end here.
    """
    if a.url and a.url == b.url:
        return True
    if abs(a.filed_at - b.filed_at) > WINDOW or fa.roundup != fb.roundup:
        return False
    if a.source_id and a.source_id == b.source_id:
        return bool(fa.title_models & fb.title_models)  # only an addendum can join
    return not (
        fa.title_models
        and fb.title_models
        and not fa.title_models & fb.models
        and not fb.title_models & fa.models
    )


def joinable(new: StoryRef, other: StoryRef) -> bool:
    if other.item_id == new.item_id or other.event_id is None:
        return False
    # No chaining: a development cannot pull in more developments.
    return other.relation in ("lead", "same_occurrence", "manual")


def decide(new: StoryRef, judged: Iterable[tuple[StoryRef, Relation]]) -> GroupDecision:
    """The strongest joining relation wins: same_occurrence over same_story, then score."""
    rank = {"same_occurrence": 2, "same_story": 1}
    best: tuple[int, float, StoryRef | None, Relation | None] = (0, 0.0, None, None)
    for other, rel in judged:
        level = rank.get(rel.relation, 0)
        if level and (level, rel.score) > best[:2]:
            best = (level, rel.score, other, rel)
    _, _, match, rel = best
    if match is None or rel is None:
        return GroupDecision(event_id=None, relation="lead")
    return GroupDecision(
        event_id=match.event_id,
        relation=rel.relation,
        similarity=round(rel.score, 3),
        matched_item_id=match.item_id,
        reasons=list(rel.reasons),
    )


class Meaning(Protocol):
    """Stories' vectors as grouping sees them (the runner adapts its vector index): the
    nearest stories of the window, and the cosine of a pair (None when either has no vector
    of the current model)."""

    def near(self, ref: StoryRef, floor: float, limit: int) -> list[tuple[int, float]]: ...

    def cosine(self, a: int, b: int) -> float | None: ...


async def choose_event(
    new: StoryRef,
    candidates: list[StoryRef],
    cache: FeatureCache | None = None,
    meaning: Meaning | None = None,
) -> GroupDecision:
    """Pick the best matching candidate's event, or say that the story starts a new one."""
    cache = cache or FeatureCache()
    fn = cache.get(new)

    def cosine(other: StoryRef) -> float | None:
        return meaning.cosine(new.item_id, other.item_id) if meaning is not None else None

    judged = [
        (other, rules_relation(new, fn, other, cache.get(other), cosine(other)))
        for other in candidates
        if joinable(new, other)
    ]
    return decide(new, judged)


@dataclass
class FeatureCache:
    """Features by item id, so a story is shingled once per pass, not once per comparison."""

    by_id: dict[int, Features] = field(default_factory=dict)

    def get(self, ref: StoryRef) -> Features:
        found = self.by_id.get(ref.item_id)
        if found is None:
            found = self.by_id[ref.item_id] = features(ref.title, ref.text)
        return found


# datasketch's choice of bands for this threshold (it weighs false positives and negatives);
# we keep the bands ourselves so the index stores hash values, not MinHash objects.
_BANDING = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
BANDS = [(start, end) for start, end in _BANDING.hashranges]
MAX_CANDIDATES = 60  # per new story, the best by shared keys and estimated Jaccard
PER_KEY = 40  # stories kept per busy key: the latest
NEAR_LIMIT = 20  # candidates by meaning per new story


class CandidateIndex:
    """Stories of the last 14 days, findable by shingle similarity (LSH) or shared keys.

    The runner loads the window once per pass and adds each story it groups, so each new story
    costs one LSH query and a few dictionary look-ups instead of a scan of the window. A story
    can only join through an event's root or same-occurrence reports (`joinable`), so only those
    are returned, and at most `MAX_CANDIDATES` of them: a big launch puts hundreds of reports in
    reach, and judging them all made the slowest stories several times slower than the median
    without changing where they went.
    """

    def __init__(self, cache: FeatureCache | None = None, meaning: Meaning | None = None) -> None:
        self.cache = cache or FeatureCache()
        self.meaning = meaning
        self.refs: dict[int, StoryRef] = {}
        # One table per band: band hash values -> item ids (one int for a lone story, the
        # common case, so the index stays small).
        self.bands: list[dict[bytes, int | list[int]]] = [{} for _ in BANDS]
        self.by_key: dict[str, dict[int, None]] = {}  # insertion-ordered: oldest first
        self._by_time: list[tuple[datetime, int]] = []  # heap, for forget_before

    def __len__(self) -> int:
        return len(self.refs)

    def add(self, ref: StoryRef) -> None:
        if ref.item_id in self.refs:
            self.refs[ref.item_id] = ref  # its event or relation changed
            return
        f = self.cache.get(ref)
        self.refs[ref.item_id] = ref
        for table, band in zip(self.bands, _band_keys(f), strict=True):
            found = table.get(band)
            if found is None:
                table[band] = ref.item_id
            elif isinstance(found, int):
                table[band] = [found, ref.item_id]
            else:
                found.append(ref.item_id)
        for key in f.index_keys():
            self.by_key.setdefault(key, {})[ref.item_id] = None
        heapq.heappush(self._by_time, (ref.filed_at, ref.item_id))

    def brings_new_numbers(self, ref: StoryRef, event_id: int) -> bool:
        """Whether a story reports a specific figure (an amount, a percentage, a date) where
        its event's stories in the window reported others: a repeat with a different number
        is news to those who follow the event (store/follows.py)."""
        mine = {n for n in self.cache.get(ref).numbers if _SPECIFIC.search(n)}
        if not mine:
            return False
        known: set[str] = set()
        for other in self.refs.values():
            if other.event_id == event_id and other.item_id != ref.item_id:
                known |= {n for n in self.cache.get(other).numbers if _SPECIFIC.search(n)}
        return bool(known) and bool(mine - known)

    def remove(self, item_id: int) -> None:
        ref = self.refs.pop(item_id, None)
        if ref is None:
            return
        f = self.cache.by_id.pop(item_id, None) or self.cache.get(ref)
        for table, band in zip(self.bands, _band_keys(f), strict=True):
            found = table.get(band)
            if found == item_id:
                del table[band]
            elif isinstance(found, list) and item_id in found:
                found.remove(item_id)
                if len(found) == 1:
                    table[band] = found[0]
        for key in f.index_keys():
            bucket = self.by_key.get(key)
            if bucket is not None:
                bucket.pop(item_id, None)
                if not bucket:
                    del self.by_key[key]

    def forget_before(self, cutoff: datetime) -> int:
        """Drop stories filed before `cutoff`, which no later story can meet, with their
        features; returns how many. Cheap enough to call before every story."""
        dropped = 0
        while self._by_time and self._by_time[0][0] < cutoff:
            _, item_id = heapq.heappop(self._by_time)
            if item_id in self.refs:
                self.remove(item_id)
                dropped += 1
        return dropped

    def candidates(
        self,
        ref: StoryRef,
        per_key: int = PER_KEY,
        limit: int = MAX_CANDIDATES,
        keep: Callable[[StoryRef, Features], bool] | None = None,
    ) -> list[StoryRef]:
        """Joinable stories of the window near `ref`, at most `limit` of them; `keep` filters
        before the limit is applied."""
        f = self.cache.get(ref)
        hits: dict[int, int] = {}  # item id -> keys shared (LSH counts as none)
        for table, band in zip(self.bands, _band_keys(f), strict=True):
            found = table.get(band)
            if isinstance(found, int):
                hits.setdefault(found, 0)
            elif found is not None:
                for i in found:
                    hits.setdefault(i, 0)
        for key in f.query_keys():
            bucket = self.by_key.get(key)
            if bucket:
                # A busy key (a launch everyone covers) keeps its latest stories: the event
                # is already among them, and scanning hundreds would cost without changing it.
                for i in islice(reversed(bucket), per_key):
                    hits[i] = hits.get(i, 0) + 1
        if self.meaning is not None:
            # Stories that mean the same in other words (or another language) share no key.
            for item_id, cos in self.meaning.near(ref, COSINE_NEAR, NEAR_LIMIT):
                if item_id in self.refs:
                    hits[item_id] = hits.get(item_id, 0) + (cos >= COSINE_STORY)
        hits.pop(ref.item_id, None)
        by_id = self.cache.by_id
        near = [
            r
            for r in (self.refs[i] for i in hits)
            if abs(r.filed_at - ref.filed_at) <= WINDOW and joinable(ref, r)
        ]
        if keep is not None:
            near = [r for r in near if keep(r, by_id[r.item_id])]
        if len(near) > limit:
            # The best by keys shared, then by estimated Jaccard, then the latest.
            near.sort(
                key=lambda r: (hits[r.item_id], f.jaccard(by_id[r.item_id]), r.filed_at),
                reverse=True,
            )
            del near[limit:]
        # A fixed order, so ties go the same way whichever fetch landed first (item ids
        # follow arrival order, and a desk must group the same feeds the same way).
        return sorted(near, key=lambda r: (r.filed_at, r.source_id, r.url))

    async def choose(self, ref: StoryRef, limit: int = MAX_CANDIDATES) -> GroupDecision:
        """Rules mode: the limit applies after the pairs the rules would reject anyway."""
        f = self.cache.get(ref)
        found = self.candidates(ref, limit=limit, keep=lambda r, g: could_join(ref, f, r, g))
        return await choose_event(ref, found, self.cache, self.meaning)


def _band_keys(f: Features) -> list[bytes]:
    return [f.hashes[start:end].tobytes() for start, end in BANDS]
