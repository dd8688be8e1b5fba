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

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice

from datasketch import MinHashLSH
from rapidfuzz import fuzz

from newsdesk.domain import GroupDecision, StoryRef
from newsdesk.events.features import NUM_PERM, Features, features

RELATIONS = ("same_occurrence", "same_story", "roundup", "unrelated")
WINDOW = timedelta(days=14)
OCCURRENCE_WINDOW = timedelta(days=4)  # a weekly newsletter reports a launch a few days late
STORY_WINDOW = timedelta(days=7)
TITLE_MATCH = 0.86  # token-set ratio of normalised titles
SHINGLE_SAME = 0.38  # estimated Jaccard of word shingles: the same report reworded
SHINGLE_STORY = 0.27
LSH_THRESHOLD = 0.3


@dataclass(frozen=True, slots=True)
class Relation:
    relation: str
    score: float
    reasons: tuple[str, ...] = ()


def rules_relation(a: StoryRef, fa: Features, b: StoryRef, fb: Features) -> Relation:
    """Judge a pair by rules: similarity plus shared model names, entities and numbers."""
    if a.url and a.url == b.url:
        return Relation("same_occurrence", 1.0, ("same canonical URL",))
    gap = abs(a.filed_at - b.filed_at)
    if gap > WINDOW:
        return Relation("unrelated", 0.0, ("more than 14 days apart",))
    key_a, key_b = fa.title_key, fb.title_key
    short = min(len(key_a.split()), len(key_b.split()))
    title = fuzz.token_set_ratio(key_a, key_b) / 100 if short >= 3 else 0.0
    jaccard = fa.minhash.jaccard(fb.minhash)
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


def joinable(new: StoryRef, other: StoryRef) -> bool:
    if other.item_id == new.item_id or other.event_id is None:
        return False
    if other.source_id == new.source_id and other.url != new.url:
        return False  # one source's two posts are two stories
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


async def choose_event(
    new: StoryRef, candidates: list[StoryRef], cache: FeatureCache | None = None
) -> GroupDecision:
    """Pick the best matching candidate's event, or say that the story starts a new one."""
    cache = cache or FeatureCache()
    fn = cache.get(new)
    judged = [
        (other, rules_relation(new, fn, other, cache.get(other)))
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


class CandidateIndex:
    """Stories of the last 14 days, findable by shingle similarity (LSH) or shared keys.

    The runner loads the window once per pass and adds each story it groups, so each new story
    costs one LSH query and a few dictionary look-ups instead of a scan of the window.
    """

    def __init__(self, cache: FeatureCache | None = None) -> None:
        self.cache = cache or FeatureCache()
        self.lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self.refs: dict[int, StoryRef] = {}
        self.by_key: dict[str, dict[int, None]] = {}  # insertion-ordered: oldest first

    def __len__(self) -> int:
        return len(self.refs)

    def add(self, ref: StoryRef) -> None:
        if ref.item_id in self.refs:
            self.refs[ref.item_id] = ref  # its event or relation changed
            return
        f = self.cache.get(ref)
        self.refs[ref.item_id] = ref
        self.lsh.insert(ref.item_id, f.minhash)
        for key in f.index_keys():
            self.by_key.setdefault(key, {})[ref.item_id] = None

    def remove(self, item_id: int) -> None:
        ref = self.refs.pop(item_id, None)
        if ref is None:
            return
        self.lsh.remove(item_id)
        for key in self.cache.get(ref).index_keys():
            self.by_key.get(key, {}).pop(item_id, None)

    def candidates(self, ref: StoryRef, per_key: int = 40) -> list[StoryRef]:
        f = self.cache.get(ref)
        ids = set(self.lsh.query(f.minhash))
        for key in f.query_keys():
            bucket = self.by_key.get(key)
            if bucket:
                # A busy key (a launch everyone covers) keeps its latest stories: the event
                # is already among them, and scanning hundreds would cost without changing it.
                ids.update(islice(reversed(bucket), per_key))
        found = (self.refs[i] for i in ids if i != ref.item_id)
        near = [r for r in found if abs(r.filed_at - ref.filed_at) <= WINDOW]
        # A fixed order, so ties go the same way whichever fetch landed first (item ids
        # follow arrival order, and a desk must group the same feeds the same way).
        return sorted(near, key=lambda r: (r.filed_at, r.source_id, r.url))

    async def choose(self, ref: StoryRef) -> GroupDecision:
        return await choose_event(ref, self.candidates(ref), self.cache)
