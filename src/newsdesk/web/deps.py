"""Small accessors for what a request has: the settings and database `create_app` put on the
app state, and the signed-in person (sign-in itself is `web/auth.py`, which imports this)."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from newsdesk.config import Settings
from newsdesk.config import desk_now as _desk_now
from newsdesk.publish.footprint import footprint
from newsdesk.publish.memo import memoized, until
from newsdesk.store import follows, users
from newsdesk.store.db import Database

SESSION_COOKIE = "nd_session"


@dataclass(frozen=True)
class EditorSession:
    """The signed-in person of a request: their account, role and this session's CSRF token.
    (Named for the one shared editor the desk had before accounts; every role has one.)"""

    csrf: str
    name: str = ""
    user_id: int = 0
    role: str = "reader"
    bootstrap: bool = False
    session_hash: str = ""

    def allows(self, role: str) -> bool:
        return users.allows(self.role, role)


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def desk_now(request: Request) -> datetime:
    """The desk's clock for what a page shows (ages, heat markers, "in the last N days"): the
    demo snapshot's moment with --demo (config.DEMO_AS_OF), else the real time. Sessions,
    writes and the operator's figures (fetches, usage, runs) keep the real clock."""
    return _desk_now(settings(request).demo)


def event_clock(request: Request) -> dict[str, Any]:
    """`now` and `backfill_counts` for the events read layer (publish/events.py)."""
    demo = settings(request).demo
    return {"now": _desk_now(demo), "backfill_counts": demo}


def database(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def person_follows(conn: Any, editor: EditorSession | None) -> frozenset[tuple[str, str]]:
    """Everything the signed-in person follows, as (kind, target): a page's follow bar and its
    cards' follow buttons say which are followed. Kept until the database changes (a follow
    is a write)."""
    if editor is None:
        return frozenset()
    uid = editor.user_id
    return memoized(conn, ("follows", uid), lambda: follows.pairs(conn, uid))


def render(
    request: Request, name: str, status_code: int = 200, memo: Hashable = None, **context: Any
) -> HTMLResponse:
    """The template's page. With `memo` (a key naming everything the context holds: the
    page's cards by id, version and age, its filters, the editor's marks), a page rendered
    before from the same key is answered as it was; the data behind the key was read afresh
    by the caller, so nothing stale can come back."""
    # `status` stays free for the template context (error.html shows it)
    editor = context.setdefault("editor", current_editor(request))
    if memo is not None:
        context.setdefault("request", request)
        key = (name, status_code, editor.csrf if editor else None, memo)
        pages: PageMemo = request.app.state.page_memo
        body = pages.get(key)
        if body is None:
            body = request.app.state.templates.get_template(name).render(context).encode()
            pages.put(key, body)
        return HTMLResponse(body, status_code=status_code)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status_code)  # type: ignore[no-any-return]


MAX_KEPT_QUERY = 300  # characters: a longer search is answered but not kept (`memoized`)


class PageMemo:
    """Rendered pages by their `memo` key, least recently used out first, bounded by what
    each holds: its bytes and its key (the cards' versions: ~150 KB a page of 30 cards)."""

    def __init__(self, size: int = 128, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.size, self.max_bytes = size, max_bytes
        self._kept: OrderedDict[Hashable, tuple[bytes, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            hit = self._kept.get(key)
            if hit is None:
                return None
            self._kept.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, body: bytes) -> None:
        weight = sys.getsizeof(body) + footprint(key)
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self._total -= old[1]
            self._kept[key] = (body, weight)
            self._total += weight
            while len(self._kept) > self.size or (self._total > self.max_bytes and self._kept):
                _, (_, dropped) = self._kept.popitem(last=False)
                self._total -= dropped


class Same:
    """A memo key part that is this very object (kept alive by the key, so its id is not
    reused): for values read once and shared, such as the filter choices."""

    __slots__ = ("obj",)
    footprint_shared = True  # what it names is shared by every key that holds it

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.obj is self.obj


def frozen(value: Any) -> Hashable:
    """A hashable copy of plain data (dicts, lists, sets, scalars), for a `memo` key."""
    if isinstance(value, dict):
        return tuple((k, frozen(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    if isinstance(value, set | frozenset):
        return frozenset(value)
    return value  # type: ignore[no-any-return]


def cards_key(cards: list[dict[str, Any]]) -> tuple[Any, ...] | None:
    """What a list of cards shows, for a `memo` key: each card's id, version and age (None
    when a card was not read through the card store, so the page is rendered)."""
    key = []
    for card in cards:
        version = card.get("version")
        if version is None:
            return None
        key.append((card["id"], version, card["age"]))
    return tuple(key)


def current_editor(request: Request) -> EditorSession | None:
    """The signed-in person of this request, looked up once and remembered on the request. A
    disabled account has no session; neither has the bootstrap admin once
    NEWSDESK_ADMIN_PASSWORD is unset."""
    if hasattr(request.state, "editor"):
        return request.state.editor  # type: ignore[no-any-return]
    found = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:

        def read() -> users.SessionUser | None:
            session = users.session_user(conn, token, datetime.now(UTC))
            if session is not None and session.expires_at is not None:
                until(session.expires_at.timestamp())  # kept no longer than the session lives
            return session

        with database(request).read() as conn:
            # kept until the database changes (sign-out, an account turned off) or it ends
            live = memoized(conn, ("editor session", users.token_hash(token)), read)
        bootstrap_off = not settings(request).admin_password.get_secret_value()
        if live is not None and not (live.user.bootstrap and bootstrap_off):
            user = live.user
            found = EditorSession(
                csrf=live.csrf, name=user.name, user_id=user.id, role=user.role,
                bootstrap=user.bootstrap, session_hash=live.token_hash,
            )  # fmt: skip
    request.state.editor = found
    return found
