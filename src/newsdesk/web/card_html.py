"""A story card's HTML, written in Python: the `card` macro of `_card.html` calls this.

Jinja spent about 0.13 ms on a card (some 80 attribute look-ups, 75 escapes and six macro
calls each), the largest part of a page whose cards nobody had asked for yet: 30 of them were
4 ms of a 9 ms page. The same markup written here costs a tenth of that. Only the card's
actions (open, copy, save, follow, vote: the part that differs between a reader and an editor)
stay a Jinja macro, `actions(c, url)`, passed in by the caller.

Every piece of text from a source or the model goes through `escape`; nothing is marked safe
but what this module writes itself. tests/unit/test_card_html.py holds the markup to the
template it replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from numbers import Number
from typing import Any
from urllib.parse import quote_from_bytes

from markupsafe import Markup, escape

SEP = '<span class="sep" aria-hidden="true"> · </span>'
WHY = {"p1": "why featured", "featured": "why featured", "excluded": "why excluded"}
HKR = (("h", "hook"), ("k", "knowledge"), ("r", "resonance"))
ARCS = (("h", "-2.167"), ("k", "-35.5"), ("r", "-68.833"))


def _get(obj: Any, key: str) -> Any:
    """`obj.key` as a template reads it: a mapping's item, else an attribute, else None."""
    if type(obj) is dict or isinstance(obj, Mapping):  # a dict first: an ABC check is slow
        return obj.get(key)
    return getattr(obj, key, None)


def _text(s: str, paras: bool) -> str:
    if paras:
        return "".join(f"<p>{escape(p.strip())}</p>" for p in s.splitlines() if p.strip())
    return str(escape(s))


def bi(f: Any, tag: str = "span", cls: str = "", paras: bool = False) -> str:
    """A field that may exist in English, Chinese or both. Both: two elements with class
    "bi", one hidden by the reader's choice (html.show-zh). One: always shown. None: ''."""
    if isinstance(f, str):
        en, zh = f, ""
    elif f:
        en, zh = _get(f, "en") or "", _get(f, "zh") or ""
    else:
        en, zh = "", ""
    en, zh = str(en).strip(), str(zh).strip()
    if en and zh and en != zh:
        both = f"{cls} bi".strip()
        return (
            f'<{tag} class="{both}" lang="en">{_text(en, paras)}</{tag}>'
            f'<{tag} class="{both}" lang="zh">{_text(zh, paras)}</{tag}>'
        )
    if en or zh:
        attr = f' class="{cls}"' if cls else ""
        return f'<{tag}{attr} lang="{"en" if en else "zh"}">{_text(en or zh, paras)}</{tag}>'
    return ""


def _tags(c: Any) -> list[str]:
    tags = _get(c, "tags")
    if isinstance(tags, Mapping):
        found = [*(tags.get("capabilities") or []), *(tags.get("entities") or []),
                 *(tags.get("topics") or [])]  # fmt: skip
    else:
        found = list(tags or [])
    seen: set[Any] = set()
    out = []
    for tag in found:  # the first of each, letter case aside
        key = tag.lower() if isinstance(tag, str) else tag
        if tag and key not in seen:
            seen.add(key)
            out.append(tag)
    return out


def card_html(
    c: Any,
    open: bool = False,
    h: int = 3,
    standalone: bool = False,
    actions: Callable[[Any, str], Any] | None = None,
) -> Markup:
    """One story card (a dict, or an object with attributes): collapsed in a feed (title an
    <h3>), or open on its own page."""
    get = c.get if type(c) is dict else lambda key: _get(c, key)
    tier = get("tier")
    tier = str(getattr(tier, "value", tier) or "").lower()
    src = get("source") or {}
    hk = get("hkr")
    iid = escape(get("id"))
    url = get("url") or ""
    url = url if url.lower().startswith(("http://", "https://")) else ""
    tags = _tags(c)
    event = get("event")
    n = (_get(event, "sources_count") or 0) if event else 0
    also = n - 1 if n > 1 else 0
    title = bi(get("title"))
    take = bi(get("take"), "p")
    sharp = bi(get("sharp"), "div", "sharp-body", paras=True)
    h2 = h + 1
    out = [
        f'<article class="card tier-{escape(tier)}{" is-open" if open else ""}" id="item-{iid}"'
        f' aria-labelledby="t-{iid}">\n  <p class="meta">'
    ]
    meta = []
    if tier == "p1":
        meta.append('<span class="marker">● P1</span>')
    elif tier == "featured":
        meta.append('<span class="marker">FEATURED</span>')
    name = _get(src, "name")
    if name:
        where = " · ".join(str(x) for x in (_get(src, "group"), _get(src, "tier")) if x)
        titled = f' title="{escape(where)}"' if where else ""
        shown = bi({"en": name, "zh": _get(src, "name_zh")})
        meta.append(f'<span class="src"{titled}>{shown}</span>')
    if _get(src, "kind"):
        meta.append(f'<span class="kind">{escape(_get(src, "kind"))}</span>')
    if get("language"):
        meta.append(
            '<span class="lang-badge" title="language of the original">'
            f"{escape(str(get('language')).upper())}</span>"
        )
    media = get("media")
    if media:
        kind = "audio episode" if _get(media, "kind") == "audio" else "video"
        meta.append(
            f'<span class="media-badge" title="{kind}">{escape(_get(media, "label"))}</span>'
        )
    hm, md = get("time_hm"), get("date_md")
    if hm or md:
        meta.append(f'<span class="ts">{escape(" · ".join(str(x) for x in (hm, md) if x))}</span>')
    if get("backfill"):
        meta.append(
            '<span class="backfill" title="first seen late: filed at its own date, never on'
            ' today">backfill</span>'
        )
    out.append(SEP.join(meta))
    out.append('</p>\n  <div class="when">')
    if hm:
        out.append(f'<span class="hm">{escape(hm)}</span>')
    if get("age"):
        out.append(f'<span class="age">{escape(get("age"))}</span>')
    out.append(f'</div>\n  <div class="main">\n    <h{h} class="title" id="t-{iid}">')
    if url:
        text = title if title.strip() else escape(url)
        out.append(
            f'<a href="{escape(url)}" rel="noopener noreferrer" target="_blank"><span'
            f' class="arrow" aria-hidden="true">→</span>{text}</a>'
        )
    else:
        out.append(title)
    out.append(f"</h{h}>\n    {bi(get('summary'), 'p', 'summary')}")
    if tags or also:
        out.append('\n    <div class="chips">')
        for tag in tags:
            quoted = escape(quote_from_bytes(str(tag).encode(), "/"))
            out.append(f'\n      <a class="tag" href="/?tag={quoted}">#{escape(tag)}</a>')
        if also:
            out.append(
                f'\n      <details class="cover">\n        <summary class="also">also reported by'
                f" {also} source{'s' if also != 1 else ''}</summary>\n        <div"
                f' class="members" hx-get="/items/{iid}/members" hx-trigger="toggle once from:'
                f'closest details" hx-swap="innerHTML">\n          <a href="/items/{iid}#coverage">'
                "the coverage, on the story's page</a>\n        </div>\n      </details>"
            )
        out.append("\n    </div>")
    out.append(
        f'\n    <details class="more"{" open" if open else ""}>\n      <summary><span'
        ' class="closed">more</span><span class="opened">less</span></summary>\n      <div'
        ' class="notes">'
    )
    if get("verdict") == "event" and (take.strip() or sharp.strip()):
        out.append(
            '\n        <p class="note scope">event commentary: written once for the event across'
            f" {escape(n)} sources</p>"
        )
    if get("why"):
        out.append(
            f'\n        <section class="note why"><h{h2}>{WHY.get(tier, "why not featured")}'
            f"</h{h2}><p>{escape(get('why'))}</p>"
        )
        if get("adjustments"):
            items = "".join(f"<li>{escape(a)}</li>" for a in get("adjustments"))
            out.append(f'<ul class="adjustments">{items}</ul>')
        out.append("</section>")
    if take.strip():
        out.append(
            f'\n        <section class="note take"><h{h2}>editor take</h{h2}>{take}</section>'
        )
    if sharp.strip():
        out.append(f'\n        <section class="note sharp"><h{h2}>sharp</h{h2}>{sharp}')
        out.append("</section>")
    if hk:
        out.append('\n        <p class="hkr"><span class="hkr-label">HKR</span>')
        for key, word in HKR:
            on, reason = _get(hk, key), _get(hk, key + "_reason")
            titled = f' title="{escape(reason)}"' if reason else ""
            out.append(
                f'\n          <span class="hkr-item{" on" if on else ""}"{titled}>{word}'
                f" {'✓' if on else '—'}</span>"
            )
        out.append("\n        </p>")
        reasons = [(k, w) for k, w in HKR if _get(hk, k + "_reason")]
        if standalone and reasons:
            out.append('\n        <ul class="hkr-reasons">')
            for key, word in reasons:
                on = " on" if _get(hk, key) else ""
                out.append(
                    f'\n          <li><span class="hkr-item{on}">{word}</span>'
                    f" {escape(_get(hk, key + '_reason'))}</li>"
                )
            out.append("\n        </ul>")
    editor = get("editor")
    if editor or not standalone:
        out.append('\n        <p class="byline">')
        if editor:
            out.append(f"judged by {escape('rules editor' if editor == 'rules' else editor)}")
            if get("model_unavailable"):
                out.append(": model unavailable")
        if editor and not standalone:
            out.append(SEP)
        if not standalone:
            out.append(f'<a href="/items/{iid}">item page</a>')
        out.append("</p>")
    out.append("\n        ")
    if actions is not None:
        out.append(str(actions(c, url)))
    out.append("\n      </div>\n    </details>\n  </div>")
    importance = get("importance")
    if isinstance(importance, Number):
        marks = ""
        if hk:
            marks = " · " + " ".join(
                f"{w} {'✓' if _get(hk, k) else '—'}" for k, w in HKR
            )  # fmt: skip
        arcs = "".join(
            f'\n        <circle class="arc arc-{k}{" on" if hk and _get(hk, k) else ""}" cx="18"'
            f' cy="18" r="15.9155" stroke-dasharray="29 71" stroke-dashoffset="{offset}"/>'
            for k, offset in ARCS
        )
        out.append(
            f'\n  <div class="score" title="importance {escape(importance)}{marks}">\n    <svg'
            ' viewBox="0 0 36 36" aria-hidden="true" focusable="false">\n      <g'
            f' transform="rotate(-90 18 18)">{arcs}\n      </g>\n    </svg>\n    <span'
            f' class="num"><span class="vh">score </span>{escape(importance)}</span>\n  </div>'
        )
    out.append("\n</article>")
    return Markup("".join(out))
