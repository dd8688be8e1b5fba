"""POST /api/ingest: the `push` source kind. Another system sends stories to the desk.

Each push source has its own bearer token (shown once by `newsdesk sources add --kind push`,
stored as a SHA-256). At most 50 items per call and 10 calls a minute per source; every item
is checked on its own and the answer lists each rejected one with its index and reason.
Accepted items wait in `pushed_entries` until the collect step normalises and stores them,
exactly as it does for fetched entries.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from newsdesk.store import sources as source_store
from newsdesk.web import throttle
from newsdesk.web.deps import database
from newsdesk.web.openapi import json_error

router = APIRouter(tags=["ingest"])

MAX_ITEMS = 50
CALLS_PER_MINUTE = 10
MAX_BODY_BYTES = 2 * 1024 * 1024
LIMITS = {"title": 1000, "url": 2000, "guid": 500, "summary": 20_000, "content": 200_000}


class RateLimiter:
    """Calls per source in a sliding minute, in this process's memory."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._calls: dict[str, deque[float]] = defaultdict(deque)

    def wait_seconds(self, key: str) -> int:
        """0 when a call may go ahead (and count it), else seconds until one may."""
        now = time.monotonic()
        calls = self._calls[key]
        while calls and now - calls[0] >= 60:
            calls.popleft()
        if len(calls) >= self.per_minute:
            return int(60 - (now - calls[0])) + 1
        calls.append(now)
        return 0


def _limiter(request: Request) -> RateLimiter:
    state = request.app.state
    if not hasattr(state, "ingest_limiter"):
        state.ingest_limiter = RateLimiter(CALLS_PER_MINUTE)
    return state.ingest_limiter  # type: ignore[no-any-return]


def _date_ok(value: Any) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value >= 0
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def check_item(raw: Any) -> tuple[dict[str, Any] | None, str]:
    """(clean payload, "") or (None, reason)."""
    if not isinstance(raw, dict):
        return None, "an item must be a JSON object"
    clean: dict[str, Any] = {}
    for key, limit in LIMITS.items():
        value = raw.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            return None, f"'{key}' must be a string"
        if len(value) > limit:
            return None, f"'{key}' is longer than {limit} characters"
        clean[key] = value.strip()
    if not (clean["title"] or clean["url"]):
        return None, "an item needs a 'title' or a 'url'"
    if clean["url"] and not clean["url"].startswith(("http://", "https://")):
        return None, "'url' must be an http(s) URL"
    published = raw.get("published")
    if published not in (None, ""):
        if not _date_ok(published):
            return None, "'published' must be ISO 8601 or Unix seconds"
        clean["published"] = published
    authors = raw.get("authors") or []
    if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
        return None, "'authors' must be a list of strings"
    clean["authors"] = [a[:200] for a in authors[:20]]
    return clean, ""


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


@router.post(
    "/api/ingest",
    summary="Push up to 50 stories into a push source",
    status_code=202,
    responses={
        400: json_error("The body is not JSON"),
        401: json_error("No bearer token, or one no enabled push source has"),
        413: json_error("Over 2 MB or over 50 items"),
        422: json_error('The body is not {"items": [...]}'),
        429: json_error("Over 10 calls a minute for this source"),
    },
)
async def ingest(request: Request) -> JSONResponse:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "send 'Authorization: Bearer <token>'", **{"WWW-Authenticate": "Bearer"})
    # A token names no account and is too long to guess, so only the address is throttled:
    # whoever sends wrong tokens waits longer each time, the other sources keep pushing.
    attempt = throttle.attempt_keys(request, None)
    wait = await throttle.try_now_async(request, attempt)
    if wait:
        return _error(429, "too many wrong tokens from this address", **throttle.retry_after(wait))
    db = database(request)
    source = await db.read_async(lambda c: source_store.push_source_for_token(c, token.strip()))
    if source is None:
        return _error(401, "unknown or disabled token", **{"WWW-Authenticate": "Bearer"})
    await throttle.passed_async(request, attempt)
    wait = _limiter(request).wait_seconds(source.id)
    if wait:
        return _error(
            429, f"at most {CALLS_PER_MINUTE} calls a minute", **{"Retry-After": str(wait)}
        )
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "body is not JSON")
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return _error(422, 'send {"items": [ ... ]}')
    if len(items) > MAX_ITEMS:
        return _error(413, f"at most {MAX_ITEMS} items per call, got {len(items)}")
    accepted: list[dict[str, Any]] = []
    errors = []
    for index, raw in enumerate(items):
        clean, reason = check_item(raw)
        if clean is None:
            errors.append({"index": index, "error": reason})
        else:
            accepted.append(clean)
    now = datetime.now(UTC)
    await db.write(lambda c: source_store.queue_pushed(c, source.id, accepted, now))
    return JSONResponse(
        {"source": source.id, "accepted": len(accepted), "rejected": len(errors), "errors": errors},
        status_code=202,
    )
