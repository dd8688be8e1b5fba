"""The faithfulness guard on cited times: a time the episode's transcript does not have, or
words quoted beside a time that were not said near it, are flagged like an invented number."""

from __future__ import annotations

import pytest

from episodes import long_episode
from newsdesk.domain import Segment, Transcript
from newsdesk.editor.episode import COMMENT_SAMPLE_CHARS, sample_transcript
from newsdesk.editor.guard import Evidence, repair_request, violations


@pytest.fixture(scope="module")
def evidence() -> Evidence:
    """As the commentary's guard gets it: title, notes, source, the sample the model read, and
    the whole transcript for the times."""
    transcript, notes = long_episode()
    sample = sample_transcript(transcript, notes, COMMENT_SAMPLE_CHARS)
    return Evidence.of("Ep. 21: What a million-token context really costs", notes,
                       "Inference Hours", sample.text, transcript=transcript)  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        # the time and the words said then, quoted exactly
        "At 23:10 Priya says “we cut the price of long-context requests by 60 percent”.",
        # a quote cut with an ellipsis, a time inside the passage, straight quotes
        'At 23:15 she says "Once the KV cache lived in host memory ... by 60 percent".',
        # the quote before the time; an hour past in h:mm:ss
        "“Recall fell from 94 percent at 128,000 tokens to 71 percent,” Priya says (41:45).",
        # unquoted, in other words, with the claim's words said near the time
        "At 47:05 Priya argues that needle-in-a-haystack tests mislead because real documents "
        "repeat themselves.",
        # two times in one sentence, each with its own quote
        "She names the cache (“about 320 GB at 16-bit precision”, 21:30) before the price cut "
        "at 23:10 (“from $5 to $2 per million input tokens”).",
        # a Chinese sharp quotes in translation: the time must exist, the words cannot be compared
        "在 23:10，Priya 说“长上下文请求降价 60%”。",
        # a time only: nothing quoted, nothing claimed
        "Listen from 23:10.",
    ],
)
def test_a_faithful_citation_passes(text: str, evidence: Evidence) -> None:
    assert violations(text, evidence) == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        # no such time: the episode ends at 1:02:05
        ("At 1:15:40 Priya promises an open-weight Wren.", "1:15:40 (no such time"),
        # the right time, words never said
        ("At 23:10 Priya says “we will open-source the Wren weights next month”.", "23:10 “we"),
        # words that were said, but half an hour away from the time cited
        ("At 52:40 Priya says “we cut the price of long-context requests by 60 percent”.",
         "52:40 “we cut"),
        # unquoted: the claim's words were said elsewhere
        ("At 11:46 Priya says recall fell to 71 percent across 400 internal documents.",
         "11:46 (what the text says"),
        # in Chinese too, a time that does not exist is named
        ("在 1:20:00，Priya 宣布开源。", "1:20:00 (no such time"),
    ],
)  # fmt: skip
def test_an_unfaithful_citation_is_named(text: str, bad: str, evidence: Evidence) -> None:
    spans = violations(text, evidence)
    assert any(span.startswith(bad) for span in spans), spans


def test_a_time_is_not_checked_as_two_numbers(evidence: Evidence) -> None:
    # 23 and 10 are in no sentence of the notes; as a time they are fine
    assert violations("At 23:10 Priya gives the price cut.", evidence) == []
    # and the sample's times are not figures a made-up number could rest on
    assert violations("Latency rose 46 percent.", evidence) == ["46 percent"]


def test_a_silent_stretch_has_no_time() -> None:
    transcript = Transcript((Segment(0.0, "Welcome.", 5.0), Segment(845.0, "Batch 32.", 859.0)))
    evidence = Evidence.of("notes", transcript=transcript)
    assert violations("At 14:05 the batch grows.", evidence) == []
    assert violations("At 7:00 they stop.", evidence) == ["7:00 (no such time in the transcript)"]


def test_without_a_transcript_a_time_must_be_written_in_the_source() -> None:
    evidence = Evidence.of("At 14:05 they share the batch size that doubled throughput.")
    assert violations("At 14:05 they share the batch size.", evidence) == []
    assert violations("At 14:50 they share the batch size.", evidence) == ["14:50"]
    # an untimed transcript (plain text) cannot back a time either
    untimed = Transcript((Segment(0.0, "Batch size."),), (), "text", False)
    assert violations("At 3:00 they talk.", Evidence.of("x", transcript=untimed)) == ["3:00"]


def test_the_repair_request_says_how_to_cite_a_time() -> None:
    request = repair_request({"sharp_en": ["52:40 “we cut” (not said near 52:40)"]})
    assert "A cited time must be one the transcript sample shows" in request
