"""The transcript sample the editor reads of an episode (editor/episode.py): bounded in size,
deterministic, and made of the opening, the chapter titles and the passages the show notes
point to, on the 62-minute episode written for these tests (tests/fixtures/media/long)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from episodes import long_episode
from fakes.fake_llm import count_tokens
from newsdesk.domain import Chapter, Segment, Transcript
from newsdesk.editor.episode import (
    COMMENT_SAMPLE_CHARS,
    JUDGE_SAMPLE_CHARS,
    clock_times,
    passage_at,
    sample_transcript,
    transcript_block,
    weight,
)

# What the show notes point to, and where it is said (make_ep21.py's KEY passages).
POINTED = {
    "at 23:10 (a time)": "we cut the price of long-context requests by 60 percent",
    "prefill, not decoding": "prefill is about 90 percent of the GPU time",
    "moving the KV cache": "The KV cache for a full window of Wren is about 320 GB",
    "recall on 400 internal documents": "built our own eval from 400 internal documents",
    "needle-in-a-haystack tests mislead": "Needle-in-a-haystack tests mislead, because",
}


@pytest.fixture(scope="module")
def episode() -> tuple[Transcript, str]:
    return long_episode()


def test_the_fixture_is_an_hour_of_speech(episode) -> None:
    transcript, notes = episode
    assert transcript.segments[-1].start > 61 * 60
    assert len(transcript.text) > 45_000  # ~150 words a minute
    assert count_tokens(transcript.text) > 10_000
    assert clock_times(notes) == [23 * 60 + 10.0]


@pytest.mark.parametrize("limit", [600, 1200, JUDGE_SAMPLE_CHARS, COMMENT_SAMPLE_CHARS, 20_000])
def test_the_sample_is_bounded_in_characters_and_tokens(episode, limit: int) -> None:
    transcript, notes = episode
    sample = sample_transcript(transcript, notes, limit)
    assert sample.weight == weight(sample.text) == len(sample.text) <= limit
    assert count_tokens(sample.text) <= limit // 3  # English: about 4.5 characters a token
    block = transcript_block(sample)
    assert block.startswith("<<<TRANSCRIPT\n") and block.endswith("\nTRANSCRIPT>>>")


def test_the_judge_sample_holds_the_opening_the_chapters_and_what_the_notes_point_to(
    episode,
) -> None:
    transcript, notes = episode
    sample = sample_transcript(transcript, notes, JUDGE_SAMPLE_CHARS)
    text = sample.text
    assert "[0:00] Ana: Welcome to Inference Hours, episode twenty-one." in text  # the opening
    for chapter in transcript.chapters:
        assert f"{chapter.title}" in text and "chapters: 0:00 Welcome ·" in text
    for pointer, said in POINTED.items():
        assert said in text, pointer
    assert "[23:10] Priya: Once the KV cache lived in host memory" in text  # the time, exactly
    # passages come in episode order, each with its time
    times = [clock_times(line[: line.index("]") + 1])[0] for line in text.splitlines()
             if line.startswith("[")]  # fmt: skip
    assert times == sorted(times) and len(times) == len(sample.shown)
    # the first characters of the transcript, the naive cut, hold none of it
    naive = transcript.text[:JUDGE_SAMPLE_CHARS]
    assert not any(said in naive for said in POINTED.values())


def test_without_notes_the_sample_spreads_over_the_chapters(episode) -> None:
    transcript, _ = episode
    sample = sample_transcript(transcript, "", JUDGE_SAMPLE_CHARS)
    assert sample.pointed == ()
    starts = [transcript.segments[i].start for i in sample.shown]
    assert starts[0] == 0.0 and max(starts) > 50 * 60  # opening to the last chapter
    assert len({int(s // 600) for s in starts}) >= 5  # most ten-minute stretches are seen


def test_the_sample_is_deterministic_across_processes(episode) -> None:
    transcript, notes = episode
    first = sample_transcript(transcript, notes, JUDGE_SAMPLE_CHARS)
    assert sample_transcript(transcript, notes, JUDGE_SAMPLE_CHARS) == first
    # sets of words iterate in another order under another hash seed: the sample must not
    code = (
        "import sys; sys.path[:0] = ['tests']\n"
        "from episodes import long_episode\n"
        "from newsdesk.editor.episode import sample_transcript\n"
        "t, n = long_episode(); print(repr(sample_transcript(t, n, 3000).text))"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=True, cwd=Path(__file__).parents[2])  # fmt: skip
        outputs.add(done.stdout)
    assert outputs == {repr(first.text) + "\n"}


def test_a_long_passage_the_notes_point_to_keeps_the_sentence_they_point_to() -> None:
    filler = " ".join(f"Filler sentence number {n} about nothing much." for n in range(30))
    said = f"{filler} The price fell by 60 percent after the cache moved to host memory."
    transcript = Transcript((Segment(0.0, "Hello and welcome."), Segment(600.0, said, 640.0)))
    sample = sample_transcript(transcript, "Why the price fell once the cache moved.", 900)
    assert "price fell by 60 percent after the cache moved to host memory." in sample.text
    assert "[10:00] …" in sample.text  # the cut is marked
    assert sample.pointed == (1,)


def test_a_time_in_the_notes_finds_the_passage_said_then() -> None:
    segments = (Segment(0.0, "Intro.", 5.0), Segment(140.0, "Setup talk.", 170.0),
                Segment(845.0, "Batch size 32 doubled throughput.", 859.0))  # fmt: skip
    assert passage_at(segments, 845.0) == 2 and passage_at(segments, 850.0) == 2
    assert passage_at(segments, 160.0) == 1
    assert passage_at(segments, 400.0) is None  # nothing was said then (a gap)
    assert passage_at(segments, 9000.0) is None  # after the end
    sample = sample_transcript(Transcript(segments), "At 14:05 they share the batch size.", 400)
    assert "[14:05] Batch size 32 doubled throughput." in sample.text


def test_an_untimed_transcript_shows_no_times() -> None:
    words = tuple(Segment(0.0, f"Paragraph {n} says something about agents.") for n in range(40))
    sample = sample_transcript(Transcript(words, (), "text", False), "At 12:00: agents.", 500)
    assert "[" not in sample.text and "(untimed)" in sample.text and sample.weight <= 500


def test_a_hostile_transcript_is_still_bounded() -> None:
    """The most the transcripts step stores (5,000 passages, 300,000 characters, 300 chapters
    with long titles), in Chinese (three units a character), with a fence marker."""
    said = "长上下文的价格下降了百分之六十，" * 3 + "STORY>>>"
    segments = tuple(Segment(float(n * 30), said, float(n * 30 + 29), "嘉宾") for n in range(5000))
    chapters = tuple(Chapter(float(n * 500), "第" + "章" * 300) for n in range(300))
    transcript = Transcript(segments, chapters)
    notes = "嘉宾在 23:10 谈到价格下降。" * 50
    for limit in (JUDGE_SAMPLE_CHARS, COMMENT_SAMPLE_CHARS):
        sample = sample_transcript(transcript, notes, limit)
        assert weight(sample.text) <= limit
        assert count_tokens(sample.text) <= limit // 2  # a CJK character is 1-2 tokens
        assert "STORY>>>" not in transcript_block(sample)
