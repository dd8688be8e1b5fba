"""Identity: one item per story, whatever source or tracking link it arrives through."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

import courlan


def canonical_url(url: str) -> str:
    """Lower-case host, no default port, no tracking parameters, no fragment, no trailing /."""
    url = url.strip()
    if not url:
        return ""
    try:
        cleaned = courlan.normalize_url(url)
    except (ValueError, AttributeError):
        cleaned = url
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, parts.netloc.lower(), path, parts.query, ""))


def content_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


# The key is indexed (items.identity_key, 600 characters): a longer URL or guid keeps its
# first 400 characters, readable, and a hash of the whole, still one key per story.
KEY_MAX = 500


def _bounded(key: str) -> str:
    if len(key) <= KEY_MAX:
        return key
    return f"{key[:400]}#{hashlib.sha256(key.encode('utf-8')).hexdigest()}"


def identity_key(source_id: str, url: str, guid: str, title: str, body: str) -> str:
    """Canonical URL, else source + guid, else source + a hash of the content."""
    canonical = canonical_url(url)
    if canonical:
        return _bounded("url:" + canonical)
    if guid.strip():
        return _bounded(f"guid:{source_id}:{guid.strip()}")
    return f"hash:{source_id}:{content_hash(title, body)[:32]}"


# A re-post: one source publishes the same story again under a new URL (a moved page, a
# second feed entry). Both the meaning and the title must agree, so a follow-up with a new
# title or a different text stays a story of its own.
REPOST_COSINE = 0.95
REPOST_TITLE = 0.9


def is_repost(title_a: str, title_b: str, cosine: float) -> bool:
    """Whether two stories of one source are one story posted twice (vectors of one model)."""
    from rapidfuzz import fuzz

    a, b = " ".join(title_a.lower().split()), " ".join(title_b.lower().split())
    return cosine >= REPOST_COSINE and fuzz.ratio(a, b) / 100 >= REPOST_TITLE
