"""YouTube captions through `youtube-transcript-api` (1.2.x), behind `CaptionSource`.

Off by default (`NEWSDESK_YOUTUBE_CAPTIONS=true` turns it on): the library reads YouTube's
own pages and player API, which YouTube does not document and may change or block. Its
`requests` session is ours: every request goes to YouTube's own hosts only (a caption track's
URL comes from YouTube's answer, and is checked too), with timeouts, no proxy from the
environment, and a streamed size cap. The library is synchronous, so each video runs in a
thread. Tests hand in a session that replays recorded answers (`tests/fixtures/media/youtube`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from newsdesk.collect.http import USER_AGENT
from newsdesk.collect.transcripts import TranscriptError, passages
from newsdesk.domain import Segment, Transcript

YOUTUBE_HOSTS = frozenset({"www.youtube.com", "youtube.com", "m.youtube.com"})
MAX_BYTES = 4 * 1024 * 1024
REQUEST_TIMEOUT = (5.0, 15.0)  # connect, read: each of the library's three requests
TOTAL_SECONDS = 60.0
# the library's reasons, as our stable codes: what is worth trying again later
_TRANSIENT = ("RequestBlocked", "IpBlocked", "YouTubeRequestFailed", "Timeout", "ConnectionError")


class GuardedSession(requests.Session):
    """A session that only talks to YouTube, within time and size caps."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # a proxy from the environment would bypass the host check
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        host = (urlsplit(str(url)).hostname or "").lower()
        if urlsplit(str(url)).scheme != "https" or host not in YOUTUBE_HOSTS:
            raise requests.exceptions.InvalidURL(f"not a YouTube address: {host or url!r}")
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        kwargs["stream"] = True
        kwargs["allow_redirects"] = False  # a redirect could leave YouTube
        response = super().request(method, url, *args, **kwargs)
        body = response.raw.read(MAX_BYTES + 1, decode_content=True)
        response.close()
        if len(body) > MAX_BYTES:
            raise requests.exceptions.ContentDecodingError(f"answer over {MAX_BYTES} bytes")
        response._content = body  # read once, capped; .text and .json() use it
        return response


class YouTubeCaptions:
    """Captions of a YouTube video as a `Transcript` (manual captions before generated
    ones, in the languages given, first found wins)."""

    name = "youtube"

    def __init__(
        self,
        languages: tuple[str, ...] = ("en",),
        session: Callable[[], requests.Session] = GuardedSession,
        timeout: float = TOTAL_SECONDS,
    ) -> None:
        self.languages, self.session, self.timeout = languages, session, timeout

    def _fetch(self, video_id: str) -> Transcript:
        from youtube_transcript_api import YouTubeTranscriptApi

        api = YouTubeTranscriptApi(http_client=self.session())  # one per call: not thread-safe
        fetched = api.fetch(video_id, languages=self.languages)
        segments = [
            Segment(float(s.start), " ".join(s.text.split()), float(s.start + s.duration))
            for s in fetched.snippets
            if s.text and s.text.strip()
        ]
        return Transcript(passages(segments), (), "youtube", True)

    async def captions(self, video_id: str) -> Transcript:
        from youtube_transcript_api import CouldNotRetrieveTranscript

        try:
            async with asyncio.timeout(self.timeout):
                transcript = await asyncio.to_thread(self._fetch, video_id)
        except TimeoutError:
            raise TranscriptError("timeout", f"no captions within {self.timeout:.0f} s") from None
        except CouldNotRetrieveTranscript as exc:
            reason = type(exc).__name__
            code = "rate_limited" if reason in _TRANSIENT else "no_captions"
            raise TranscriptError(code, f"{reason}: {str(exc).splitlines()[0][:200]}") from None
        except requests.exceptions.RequestException as exc:
            reason = type(exc).__name__
            code = "connect" if reason in _TRANSIENT else "fetch_error"
            raise TranscriptError(code, f"{reason}: {exc}"[:300]) from None
        except (ValueError, KeyError, TypeError, SyntaxError) as exc:  # YouTube changed its answers
            raise TranscriptError("parse_error", f"{type(exc).__name__}: {exc}"[:300]) from None
        if not transcript.segments:
            raise TranscriptError("empty", "the captions hold no words")
        return transcript
