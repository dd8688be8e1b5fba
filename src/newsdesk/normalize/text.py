"""Untrusted HTML in, safe HTML and plain text out; language of the result."""

from __future__ import annotations

import html
import re

import nh3
import py3langid

# A small, strict allow-list: enough for paragraphs, emphasis, lists, quotes, code and links.
ALLOWED_TAGS = {
    "a", "p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "code", "pre",
    "h2", "h3", "h4", "img", "figure", "figcaption", "table", "thead", "tbody", "tr", "td", "th",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
_SPACES = re.compile(r"\s+")
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|blockquote|pre|tr)>|<br\s*/?>", re.IGNORECASE)


def sanitize_html(raw: str) -> str:
    """Keep structure and links; drop scripts, handlers, styles and non-http(s) URLs."""
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    )


def html_to_text(raw: str) -> str:
    """Plain text with paragraph breaks kept as blank lines."""
    marked = _BLOCK_END.sub("\n\n", raw)
    stripped = nh3.clean(marked, tags=set(), clean_content_tags={"script", "style"})
    text = html.unescape(stripped)
    paragraphs = [_SPACES.sub(" ", p).strip() for p in text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def clean_title(raw: str) -> str:
    return _SPACES.sub(" ", html.unescape(nh3.clean(raw, tags=set()))).strip()


def detect_language(text: str, fallback: str = "en") -> str:
    """Language of a title + body; CJK-heavy text is Chinese whatever the classifier says."""
    # the title and the first lines decide; longer samples cost time, not accuracy
    sample = text[:400]
    if not sample.strip():
        return fallback
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    if cjk >= 10 or cjk > len(sample) * 0.15:
        return "zh"
    lang, _score = py3langid.classify(sample)
    return str(lang)
