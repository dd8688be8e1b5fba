"""The hour-long episode written for the editor's tests (tests/fixtures/media/long): its
transcript with chapters, and its show notes as the feed gives them."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

from newsdesk.collect.transcripts import parse_chapters, parse_transcript
from newsdesk.domain import Transcript

LONG = Path(__file__).parent / "fixtures" / "media" / "long"


def long_episode() -> tuple[Transcript, str]:
    transcript = parse_transcript((LONG / "ep21.vtt").read_bytes(), "vtt")
    chapters = parse_chapters((LONG / "ep21.chapters.json").read_bytes())
    feed = (LONG / "feed.xml").read_text()
    notes_html = re.search(r"<!\[CDATA\[(.*?)\]\]>", feed, re.S)
    assert notes_html is not None
    notes = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", notes_html.group(1))).split())
    return replace(transcript, chapters=chapters), notes
