"""What the editor reads of an episode: its show notes plus a bounded sample of its transcript.

An hour of speech is about 50,000 characters (12,000 tokens); the news in it is a few passages.
Judging from the first characters alone reads the greeting and the sponsor; sending it whole
costs ten times the judgement of a written post. The sample is the middle way, and it is a pure
function of the transcript and the show notes (deterministic, no I/O), bounded in size:

1. the chapter titles with their times (at most a quarter of the room);
2. the opening (at most a quarter): who is talking and what the episode says it is about;
3. the passages the show notes point to: the passage said at each time the notes name
   ("at 14:05 they share …"), then the passages that share the most distinctive words with
   the notes (rarer words weigh more, so "KV cache" outranks "model");
4. with room left, the first passage of each chapter, then passages evenly spread over the
   episode, so the sample stays representative of the whole.

The size is counted in Latin-equivalent characters (a CJK character counts as three, as in the
rules editor: it costs one to two tokens where a Latin character costs a quarter), so the
bound holds in tokens too, whatever the language. Passages are shown in episode order, each
with its time (`[23:10] Tom: …`), so the commentary can cite a time the guard can check.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass

from newsdesk.domain import Chapter, Segment, Transcript, clock

JUDGE_SAMPLE_CHARS = 3000  # beside show notes capped at 2,500: an episode costs ~2x a post
COMMENT_SAMPLE_CHARS = 6000  # the commentary reads more, as it does of a written story
PASSAGE_CHARS = 480  # one passage shown, at most
MIN_PASSAGE_CHARS = 120  # a passage clipped shorter than this says nothing: skipped instead
CHAPTER_TITLE_CHARS = 80
MAX_TOPIC_PASSAGES = 6  # the passages the notes' words point to, best first
MIN_SHARED_TERMS = 2  # a passage shares at least this many distinct words with the notes

_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CLOCK = re.compile(r"(?<![\d:.,])(?:(\d{1,2}):)?([0-5]?\d):([0-5]\d)(?![\d:]|[.,]\d)")
_WORD = re.compile(r"[a-z][a-z0-9'’-]*[a-z0-9]|\d[\d,.]*\d|\d{2,}")
_STOP_WORDS = """about above after again against also among another around because been before being
    below between both cannot could does doing down during each either else even every from
    further have having here hers herself himself into itself just later like made make many
    might more most much must never only other ours over same shall should since some such
    than that their theirs them then there these they this those through under until upon very
    were what when where which while whom whose will with within without would your yours
    episode episodes show today week talk talks talked discuss discusses discussed explain
    explains explained guest guests host hosts listen listener listeners join joins joined
    says said tell tells told also first last next well really thing things people going
    know think want wants back"""
_STOP = frozenset(_STOP_WORDS.split())


def weight(text: str) -> int:
    """Latin-equivalent length: a CJK character counts as three."""
    return len(text) + 2 * len(_CJK.findall(text))


def clock_times(text: str) -> list[float]:
    """Every time written like 23:10 or 1:02:03 in `text`, in seconds, in order."""
    out = []
    for m in CLOCK.finditer(text):
        hours, minutes, seconds = m.group(1), m.group(2), m.group(3)
        out.append(int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds))
    return [float(x) for x in out]


def _stem(word: str) -> str:
    """Crude and deterministic: 'documents' ~ 'document', 'evaluated' ~ 'evaluation'."""
    word = word.strip("'’-").replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 6:
        return word[:6]
    if len(word) > 4 and word.endswith("s"):
        return word[:-1]
    return word


def terms(text: str) -> set[str]:
    """The words that can carry a topic: stems of longer words, numbers, CJK character pairs."""
    low = text.casefold()
    out = {
        _stem(w)
        for w in _WORD.findall(low)
        if (len(w) >= 4 or w[0].isdigit()) and w not in _STOP and not _is_year_or_small(w)
    }
    for run in re.findall(r"[\u3400-\u9fff]+", low):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def _is_year_or_small(word: str) -> bool:
    return word.isdigit() and (len(word) < 2 or (len(word) == 4 and word.startswith(("19", "20"))))


@dataclass(frozen=True)
class Sample:
    """The sample as the editor sees it, and what went into it (for tests and the bench)."""

    text: str
    shown: tuple[int, ...]  # indexes of the transcript's passages shown, in episode order
    pointed: tuple[int, ...]  # those the show notes point to (by time or by words)
    weight: int  # Latin-equivalent characters of `text`, at most the limit asked for


def passage_at(segments: tuple[Segment, ...], seconds: float) -> int | None:
    """The passage being said at `seconds`: the last one that starts at or before it (a few
    seconds of slack: a time in the notes is rounded), if it is still going on then."""
    best = bisect.bisect_right(segments, seconds + 2, key=lambda s: s.start) - 1
    if best < 0:
        return None
    seg = segments[best]
    following = segments[best + 1].start if best + 1 < len(segments) else None
    end = seg.end or following or seg.start + 30
    return best if seconds <= max(end, seg.start + 30) + 2 else None


def _render(seg: Segment, timed: bool, room: int, focus: set[str] | None = None) -> str:
    """One passage as a line, at most `room` (and PASSAGE_CHARS) wide. A long passage the notes
    point to keeps the sentences that share the most of their words (`focus`), marked with
    "…" where text was left out; any other is cut at a word."""
    head = f"[{clock(seg.start)}] " if timed else ""
    head += f"{seg.speaker}: " if seg.speaker else ""
    said = " ".join(seg.text.split())
    limit = min(room, PASSAGE_CHARS + weight(head))
    if weight(head + said) <= limit:
        return head + said
    if focus:
        said = _focused(said, focus, limit - weight(head))
    return _cut(head + said, limit)


def _focused(said: str, focus: set[str], room: int) -> str:
    """The run of whole sentences around the one sharing most words with `focus`."""
    sentences = [x for x in _SENTENCE.split(said) if x.strip()]
    if len(sentences) < 2:
        return said
    scores = [len(terms(x) & focus) for x in sentences]
    best = max(range(len(sentences)), key=lambda n: (scores[n], -n))
    lo = hi = best
    while True:  # grow forwards first (an answer follows its question), then backwards
        grown = False
        for lo2, hi2 in ((lo, hi + 1), (lo - 1, hi)):
            if lo2 >= 0 and hi2 < len(sentences):
                text = " ".join(sentences[lo2 : hi2 + 1])
                if weight(text) + 2 <= room:
                    lo, hi, grown = lo2, hi2, True
                    break
        if not grown:
            break
    text = " ".join(sentences[lo : hi + 1])
    return ("…" if lo > 0 else "") + text + ("…" if hi < len(sentences) - 1 else "")


def _cut(line: str, limit: int) -> str:
    """At most `limit` wide (Latin-equivalent), cut at a word, ending with "…"."""
    if weight(line) <= limit:
        return line
    cut, size = len(line), weight(line)
    while cut > 0 and size > limit - 1:
        cut -= 1
        size -= 3 if _CJK.match(line[cut]) else 1
    clipped = line[:cut]
    if " " in clipped and not _CJK.search(clipped[-1:]):
        clipped = clipped[: clipped.rfind(" ")]
    return clipped.rstrip(" ,;:") + "…"


def _chapters_block(chapters: tuple[Chapter, ...], timed: bool, room: int) -> str:
    if not chapters or room <= 0:
        return ""

    def line(c: Chapter) -> str:
        title = " ".join(c.title.split())[:CHAPTER_TITLE_CHARS]
        return f"{clock(c.start)} {title}" if timed else title

    lines = [line(c) for c in chapters]
    sizes = [weight(x) for x in lines]
    head, joint = "chapters: ", weight(" · ")
    # Too many chapters for the room: keep evenly spaced ones (the first and last always).
    for keep in range(len(lines), 0, -1):
        picked = _spread(len(lines), keep)
        if weight(head) + sum(sizes[i] for i in picked) + joint * (len(picked) - 1) <= room:
            return head + " · ".join(lines[i] for i in picked)
    return ""


def _spread(total: int, k: int) -> list[int]:
    """k indexes evenly spread over range(total), first and last included."""
    if k >= total:
        return list(range(total))
    if k == 1:
        return [0]
    return sorted({round(i * (total - 1) / (k - 1)) for i in range(k)})


def topic_passages(segments: tuple[Segment, ...], notes: str) -> list[int]:
    """Passages ranked by the distinctive words they share with the show notes (inverse
    document frequency over the passages), best first; ties go to the earlier passage."""
    wanted = terms(notes)
    if not wanted or not segments:
        return []
    per = [terms(s.text) & wanted for s in segments]
    df: dict[str, int] = {}
    for found in per:
        for term in found:
            df[term] = df.get(term, 0) + 1
    n = len(segments)
    scored = []
    for i, found in enumerate(per):
        if len(found) < MIN_SHARED_TERMS:
            continue
        # summed in a fixed order: a set's order changes with the hash seed, float sums with it
        score = sum(math.log((n + 1) / (df[t] + 0.5)) for t in sorted(found))
        scored.append((-score, i))
    return [i for _, i in sorted(scored)]


def sample_transcript(
    transcript: Transcript, notes: str, limit: int = JUDGE_SAMPLE_CHARS
) -> Sample:
    """The bounded, representative sample of `transcript` for an episode with `notes`."""
    segments = transcript.segments
    timed = transcript.timed
    header = "transcript sample" + (
        " (each passage starts with its time in the episode, [m:ss] or [h:mm:ss])"
        if timed
        else " (untimed)"
    )
    budget = limit - weight(header) - 1
    chapters = _chapters_block(transcript.chapters, timed, min(budget // 4, budget))
    if chapters:
        budget -= weight(chapters) + 1
    chosen: dict[int, str] = {}
    pointed: list[int] = []
    used = 0

    focus = terms(notes)

    def take(i: int, room_cap: int | None = None, pointer: bool = False) -> bool:
        nonlocal used
        if i in chosen or not 0 <= i < len(segments):
            return False
        room = budget - used - 1
        if room_cap is not None:
            room = min(room, room_cap)
        if room < MIN_PASSAGE_CHARS:
            return False
        line = _render(segments[i], timed, room, focus if pointer else None)
        if weight(line) > room:
            return False
        chosen[i] = line
        used += weight(line) + 1
        return True

    def point(i: int) -> bool:
        """Take passage i as one the notes point to; one already taken cut short (in the
        opening) is taken again around the sentences the notes point to."""
        nonlocal used
        if i not in chosen:
            return take(i, pointer=True)
        line = chosen[i]
        if line.endswith("…"):
            del chosen[i]
            used -= weight(line) + 1
            if not take(i, pointer=True):
                chosen[i] = line
                used += weight(line) + 1
        return True

    # 1. the opening, up to a quarter of the room (the first passage at least, clipped)
    opening_room = max(budget // 4, MIN_PASSAGE_CHARS)
    start = used
    for i in range(len(segments)):
        if used - start >= opening_room or not take(i, opening_room - (used - start)):
            break
    # 2. the passages said at the times the notes name
    if timed:
        for seconds in clock_times(notes):
            at = passage_at(segments, seconds)
            if at is not None and point(at):
                pointed.append(at)
    # 3. the passages that share the notes' rarer words (those already shown count too, but
    # only new ones use up the MAX_TOPIC_PASSAGES)
    added = 0
    for i in topic_passages(segments, notes)[: MAX_TOPIC_PASSAGES * 3]:
        if i in chosen:
            pointed.append(i)
            point(i)
        elif added < MAX_TOPIC_PASSAGES and point(i):
            pointed.append(i)
            added += 1
    # 4. with room left: each chapter's first passage, then passages spread over the episode
    if timed:
        for c in transcript.chapters:
            at = passage_at(segments, c.start)
            if at is not None:
                take(at)
    for i in _spread(len(segments), min(len(segments), 24)):
        take(i)

    order = sorted(chosen)
    lines = [header, *([chapters] if chapters else []), *(chosen[i] for i in order)]
    text = "\n".join(lines)
    return Sample(text, tuple(order), tuple(sorted(set(pointed))), weight(text))


def transcript_block(sample: Sample) -> str:
    """The sample fenced as untrusted data, as the story is (fence markers removed inside)."""
    text = sample.text
    for marker in ("<<<TRANSCRIPT", "TRANSCRIPT>>>", "<<<STORY", "STORY>>>"):
        text = text.replace(marker, "")
    return f"<<<TRANSCRIPT\n{text}\nTRANSCRIPT>>>"


def sample_for(transcript: Transcript | None, notes: str, limit: int) -> Sample | None:
    """The sample of a story's transcript, or None for a story without one."""
    if transcript is None or not (transcript.segments or transcript.chapters):
        return None
    return sample_transcript(transcript, notes, limit)


def pointed_text(transcript: Transcript | None, notes: str, limit: int = JUDGE_SAMPLE_CHARS) -> str:
    """What the rules editor reads of an episode beside its notes: the words of the passages
    the notes point to (by time or by words), in episode order, at most `limit` wide."""
    sample = sample_for(transcript, notes, limit)
    if sample is None or transcript is None:
        return ""
    out, used = [], 0
    for i in sample.pointed:
        said = " ".join(transcript.segments[i].text.split())
        if used + weight(said) + 1 > limit:
            break
        out.append(said)
        used += weight(said) + 1
    return "\n".join(out)
