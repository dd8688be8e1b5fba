"""The candidate index's shortcuts change cost, never where a story goes."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from datasketch import MinHash

from newsdesk.cli.events import load_gold
from newsdesk.domain import StoryRef
from newsdesk.events import CandidateIndex, FeatureCache, features, rules_relation
from newsdesk.events.features import NUM_PERM, shingles
from newsdesk.events.grouping import could_join

GOLD = Path(__file__).resolve().parents[2] / "eval" / "grouping.jsonl"
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)


def ref(item_id, source, title, text="", hours=0.0, event=None) -> StoryRef:
    return StoryRef(item_id, event, source, "", title, text, T0 + timedelta(hours=hours))


def test_skipped_pairs_are_only_pairs_the_rules_keep_apart() -> None:
    cache = FeatureCache()
    skipped = 0
    for _, a, b, _ in load_gold(GOLD):
        for new, old in ((a, b), (b, a)):
            fn, fo = cache.get(new), cache.get(old)
            if not could_join(new, fn, old, fo):
                skipped += 1
                assert rules_relation(new, fn, old, fo).relation in ("roundup", "unrelated")
    assert skipped >= 20  # the shortcut is actually taken (different launches, roundups)


def test_stored_signature_estimates_jaccard_as_datasketch_does() -> None:
    texts = [("Nova-2 launches", "Example Lab releases Nova-2, an open-weight reasoning model"),
             ("Nova-2 is here", "Example Lab's open-weight Nova-2 reasons through math"),
             ("诺瓦 2 发布", "示例实验室发布开源权重推理模型")]  # fmt: skip
    found = [features(title, text) for title, text in texts]
    for (ta, xa), fa in zip(texts, found, strict=True):
        for (tb, xb), fb in zip(texts, found, strict=True):
            expected = []
            for title, text in ((ta, xa), (tb, xb)):
                mh = MinHash(num_perm=NUM_PERM, seed=7)
                mh.update_batch([g.encode() for g in shingles(f"{title}\n{text}")])
                expected.append(mh)
            assert fa.jaccard(fb) == expected[0].jaccard(expected[1])
    assert found[0].jaccard(found[1]) > found[0].jaccard(found[2])


def test_a_busy_model_keeps_the_strongest_candidates() -> None:
    index = CandidateIndex()
    index.add(ref(1, "lab", "Nova-2 is out with a 1.5 million token context",
                  "Example Lab's Nova-2 model", event=1))  # fmt: skip
    for n in range(2, 90):  # later stories that only mention the model in passing
        index.add(ref(n, f"s{n}", f"Notes from the bench {n}", "We also tried Nova-2 today",
                      hours=n / 10, event=n))  # fmt: skip
    new = ref(100, "wire", "Nova-2 launches with 1.5 million tokens of context", hours=10)
    found = index.candidates(new, limit=5)
    assert len(found) == 5 and 1 in [r.item_id for r in found]


async def test_the_limit_does_not_change_a_clear_decision() -> None:
    index = CandidateIndex()
    index.add(ref(1, "lab", "Nova-2 is out with a 1.5 million token context",
                  "Example Lab's Nova-2 model", event=1))  # fmt: skip
    for n in range(2, 90):
        index.add(ref(n, f"s{n}", f"Notes from the bench {n}", "We also tried Nova-2 today",
                      hours=n / 10, event=n))  # fmt: skip
    new = ref(100, "wire", "Nova-2 launches with 1.5 million tokens of context", hours=10)
    assert (await index.choose(new, limit=3)).event_id == 1


def test_forgotten_stories_are_no_longer_candidates_and_free_their_features() -> None:
    index = CandidateIndex()
    index.add(ref(1, "a", "Nova-2 launches", "Example Lab model", hours=0, event=1))
    index.add(ref(2, "b", "Nova-2 launches today", "Example Lab model", hours=200, event=2))
    index.add(ref(3, "c", "Nova-2 launches now", "Example Lab model", hours=300, event=3))
    assert index.forget_before(T0 + timedelta(hours=100)) == 1
    assert len(index) == 2 and 1 not in index.cache.by_id
    new = ref(4, "d", "Nova-2 launches", "Example Lab model", hours=310)
    assert sorted(r.item_id for r in index.candidates(new)) == [2, 3]
    assert index.forget_before(T0 + timedelta(hours=100)) == 0
    index.remove(2)
    assert [r.item_id for r in index.candidates(new)] == [3]


def test_a_repeat_with_a_different_figure_brings_new_numbers() -> None:
    index = CandidateIndex()
    first = ref(
        1, "wire", "Example Lab raises $500 million", "It is valued at $5 billion.", event=7
    )
    index.add(first)
    index.add(ref(2, "other", "Unrelated story about $9 billion", "Elsewhere.", event=8))
    same = ref(3, "blog", "Example Lab raises $500 million, sources say", "A $500 million round.")
    more = ref(4, "blog", "Example Lab raises $650 million", "The round grew to $650 million.")
    plain = ref(5, "blog", "Example Lab raises a round", "No figures in this one.")
    assert not index.brings_new_numbers(same, 7)
    assert index.brings_new_numbers(more, 7)
    assert not index.brings_new_numbers(plain, 7)
    assert not index.brings_new_numbers(more, 9)  # an event with no figures: nothing differs
