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


# A tag as nh3 writes it: attribute values always in double quotes (a quote inside is
# &quot;), where a ">" may stand unescaped.
_SANITIZED_TAG = re.compile(r'<[^>"]*(?:"[^"]*"[^>"]*)*>')
_PRE_NEWLINE = re.compile(r"(<pre>)\n")


def sanitized_to_text(clean: str) -> str:
    """html_to_text for the output of sanitize_html, without parsing it a second time.

    Only valid for nh3's output: well-formed, no comments, scripts or styles left, every
    attribute double-quoted. The normaliser's text costs a third of what it did."""
    marked = _BLOCK_END.sub("\n\n", clean)
    # as an HTML parser would, drop the newline that opens a <pre> (same text as before)
    marked = _PRE_NEWLINE.sub(r"\1", marked)
    text = html.unescape(_SANITIZED_TAG.sub("", marked))
    # str.split() splits on what \s matches (both use Py_UNICODE_ISSPACE), without a regex
    paragraphs = (" ".join(p.split()) for p in text.split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


# The longest title among the corpus's 6,261 entries has 282 characters; a feed that puts a
# whole article (or 2 MB of junk) in <title> gets it cut here, not on every card.
TITLE_MAX = 300


def clean_title(raw: str) -> str:
    raw = raw[: TITLE_MAX * 20]  # room for markup and spaces; no need to clean 2 MB of it
    if "<" not in raw and "&" not in raw and "\0" not in raw:
        # plain text already: nh3 would hand back the same characters
        return _shorten(_SPACES.sub(" ", raw).strip())
    return _shorten(_SPACES.sub(" ", html.unescape(nh3.clean(raw, tags=set()))).strip())


def _shorten(title: str) -> str:
    if len(title) <= TITLE_MAX:
        return title
    cut = title[: TITLE_MAX - 1]
    space = cut.rfind(" ", TITLE_MAX - 60)  # end on a word when one ends near the limit
    return (cut[:space] if space > 0 else cut).rstrip() + "…"


_CJK = re.compile("[\u4e00-\u9fff]")
LANGUAGE_SAMPLE = 400  # the title and the first lines decide; more costs time, not accuracy


def language_sample(title: str, body: str) -> str:
    """What detect_language reads, cut before joining (a body can be 100 KB)."""
    return f"{title}\n{body[:LANGUAGE_SAMPLE]}"[:LANGUAGE_SAMPLE]


def detect_language(text: str, fallback: str = "en") -> str:
    """Language of a title + body; CJK-heavy text is Chinese whatever the classifier says."""
    sample = text[:LANGUAGE_SAMPLE]
    if not sample.strip():
        return fallback
    cjk = len(_CJK.findall(sample))
    if cjk >= 10 or cjk > len(sample) * 0.15:
        return "zh"
    lang, _score = py3langid.classify(sample)
    return str(lang)
