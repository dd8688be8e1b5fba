"""Full text: when a feed gives only a teaser, fetch the page and extract the main text.

A wrong body is worse than a short one: under MIN_CHARS of extracted text, or any failure,
the result is "unconfirmed" and the caller keeps the teaser.
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass

from newsdesk.collect.http import Fetcher

WANT_BELOW_CHARS = 500  # a body shorter than this is a teaser worth completing
MIN_CHARS = 200  # less extracted text than this is not trusted as the article
MAX_BYTES = 6 * 1024 * 1024
TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class FullText:
    status: str  # "ok" or "unconfirmed"
    text: str = ""
    html: str = ""
    reason: str = ""


def needs_full_text(body_text: str) -> bool:
    return len(body_text.strip()) < WANT_BELOW_CHARS


def extract_main_text(page: bytes, url: str) -> str:
    """trafilatura's main-text extraction (imported here: it is slow to import)."""
    import trafilatura

    text = trafilatura.extract(
        page, url=url, include_comments=False, include_tables=False, favor_precision=True
    )
    return (text or "").strip()


def text_to_html(text: str) -> str:
    """Our own markup from plain text, so nothing from the page's HTML is kept."""
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in text.split("\n") if p.strip())


async def fetch_full_text(fetcher: Fetcher, url: str) -> FullText:
    result = await fetcher.fetch(url)
    if not result.ok:
        return FullText("unconfirmed", reason=f"{result.error_code}: {result.error_message}")
    try:
        text = await asyncio.wait_for(
            asyncio.to_thread(extract_main_text, result.body, result.final_url or url),
            TIMEOUT_SECONDS,
        )
    except TimeoutError:
        return FullText("unconfirmed", reason="extraction took too long")
    except Exception as exc:  # a hostile page must not stop the step
        return FullText("unconfirmed", reason=f"extraction failed: {type(exc).__name__}")
    if len(text) < MIN_CHARS:
        return FullText("unconfirmed", reason=f"only {len(text)} characters extracted")
    return FullText("ok", text=text, html=text_to_html(text))


def full_text_fetcher(allow_private: bool) -> Fetcher:
    return Fetcher(
        allow_private=allow_private,
        max_bytes=MAX_BYTES,
        total_timeout=TIMEOUT_SECONDS,
        read_timeout=TIMEOUT_SECONDS,
    )
