"""Who may do what, generated from the app's own route table: every write route and every
page that needs an account is tried by each role (anonymous, reader, editor, admin) and must
be allowed or refused as `NEEDS` says. A route the table does not name fails the test: a
new write route must be added here with the role it needs, and a new GET route that refuses
anonymous visitors must be too, so none is forgotten.

Allowed means the request got past the role check (whatever the form then made of it: 200,
303, 400, 404); refused means 401, 403, or a redirect to /signin. Signed-in requests carry
their session's CSRF token, so a 403 is the role check's.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route
from test_people import SECRET, cli, sign_in
from test_web_reader import PASSWORD, _seed, csrf_of

from newsdesk.config import load_settings
from newsdesk.web.app import create_app

ROLES = ("anonymous", "reader", "editor", "admin")
ACCOUNT = {"reader": "ann", "editor": "ed", "admin": "ada"}
TOKEN = "token"  # a secret of its own (reader apps, push sources): no session opens it
ANYONE = "anyone"

# (method, path) -> (who may, form sent). Paths are the route table's.
NEEDS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("POST", "/signin"): (ANYONE, {}),
    ("POST", "/mcp"): (ANYONE, {}),
    ("POST", "/api/ingest"): (TOKEN, {}),
    ("POST", "/accounts/ClientLogin"): (ANYONE, {"Email": "zed", "Passwd": SECRET}),
    ("GET", "/reader/api/0/token"): (TOKEN, {}),
    ("GET", "/reader/api/0/user-info"): (TOKEN, {}),
    ("GET", "/reader/api/0/subscription/list"): (TOKEN, {}),
    ("GET", "/reader/api/0/tag/list"): (TOKEN, {}),
    ("GET", "/reader/api/0/unread-count"): (TOKEN, {}),
    ("GET", "/reader/api/0/stream/contents/{stream_id:path}"): (TOKEN, {}),
    ("GET", "/reader/api/0/stream/items/ids"): (TOKEN, {}),
    ("POST", "/reader/api/0/stream/items/contents"): (TOKEN, {"i": "1"}),
    ("POST", "/reader/api/0/edit-tag"): (TOKEN, {"i": "1"}),
    ("POST", "/reader/api/0/mark-all-as-read"): (TOKEN, {}),
    ("GET", "/reader/atom/{stream_id:path}"): (TOKEN, {}),
    ("POST", "/signout"): ("reader", {}),
    ("GET", "/account"): ("reader", {}),
    ("POST", "/account/password"): ("reader", {"current": "wrong", "new": "another one"}),
    ("POST", "/account/sessions/{session_id}/end"): ("reader", {}),
    ("POST", "/account/feeds"): ("reader", {}),
    ("POST", "/account/alerts"): ("reader", {"remove": "999999"}),
    ("POST", "/unsubscribe/{user_id}/{sig}"): (TOKEN, {}),
    ("GET", "/saved"): ("reader", {}),
    ("GET", "/saved/export.md"): ("reader", {}),
    ("POST", "/items/{item_id}/save"): ("reader", {}),
    ("POST", "/items/{item_id}/feedback"): ("editor", {"kind": "up"}),
    ("POST", "/follow"): ("reader", {"kind": "tag", "target": "Reasoning"}),
    ("GET", "/following"): ("reader", {}),
    ("POST", "/following/{follow_id}/alert"): ("reader", {"alert": "daily"}),
    ("GET", "/admin"): ("editor", {}),
    ("GET", "/admin/sources"): ("editor", {}),
    ("GET", "/admin/runs"): ("editor", {}),
    ("GET", "/admin/usage"): ("editor", {}),
    ("GET", "/admin/budgets"): ("editor", {}),
    ("GET", "/admin/policy"): ("editor", {}),
    ("GET", "/admin/feedback"): ("editor", {}),
    ("GET", "/admin/flagged"): ("editor", {}),
    ("GET", "/admin/events"): ("editor", {}),
    ("POST", "/admin/events/merge"): ("editor", {"keep": "999999", "other": "999998"}),
    ("POST", "/admin/events/{event_id}/split"): ("editor", {"item": "1"}),
    ("GET", "/admin/users"): ("admin", {}),
    ("POST", "/admin/users"): ("admin", {"name": "Not A Name!", "role": "reader"}),
    ("POST", "/admin/users/{name}/role"): ("admin", {"role": "editor"}),
    ("POST", "/admin/users/{name}/disable"): ("admin", {"disabled": "false"}),
    ("POST", "/admin/users/{name}/signout"): ("admin", {}),
    ("POST", "/admin/sources/new"): ("admin", {"id": "x", "name": "n", "url": "u"}),
    ("POST", "/admin/sources/{source_id}/retest"): ("admin", {}),
    ("POST", "/admin/sources/{source_id}"): ("admin", {"enabled": "true"}),
    ("POST", "/admin/budgets"): ("admin", {"service": "llm", "window": "day"}),
    ("POST", "/admin/policy"): ("admin", {"text": "+++\n+++\n"}),
    ("POST", "/admin/policy/{version}/preview"): ("admin", {}),
    ("POST", "/admin/policy/{version}/activate"): ("admin", {}),
    ("POST", "/admin/feedback/propose"): ("admin", {}),
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers flattened."""
    try:  # FastAPI >= 0.120 keeps included routers lazily; this walks them
        from fastapi.routing import _iter_included_route_candidates

        found = list(_iter_included_route_candidates(app.routes))
    except ImportError:  # older FastAPI: app.routes is flat already
        found = list(app.routes)
    out = []
    for route in found:
        if isinstance(route, Mount):
            continue  # /static: files
        if isinstance(route, APIRoute | Route):
            methods = route.methods or {"POST"}  # /mcp takes any method; POST is its write
            out += [(m, route.path) for m in sorted(methods) if m != "HEAD"]
    return out


def fill(path: str, item_id: int) -> str:
    values = {"item_id": str(item_id), "event_id": "999999", "source_id": "lab",
              "version": "nope", "name": "zed", "session_id": "00000000000",
              "follow_id": "999999", "user_id": "1", "sig": "forged",
              "tag": "Reasoning", "stream_id": "user/-/state/com.google/reading-list",
              "kind": "daily", "period": "2025-01-01", "fmt": "xml", "lang": "en"}  # fmt: skip
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m[1], "x"), path)


def refused(response: Any) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 303 and response.headers["location"].startswith("/signin")


@pytest.fixture
def matrix(db):
    for role, name in {**ACCOUNT, "reader ": "zed"}.items():
        role = role.strip()
        done = cli(db, "users", "add", name, "--role", role, "--password-stdin", stdin=SECRET)
        assert done.exit_code == 0, done.output
    ids = _seed(db)
    settings = load_settings(database_url=db.url, admin_password=PASSWORD, data_dir="/nonexistent",
                             page_cache_seconds=0)  # fmt: skip
    app = create_app(settings, db)
    return app, ids["Lab ships Nova-2"]


def request(client: TestClient, method: str, path: str, form: dict[str, str], csrf: str) -> Any:
    if method == "GET":
        return client.get(path, headers={"accept": "text/html"}, follow_redirects=False)
    if path == "/signin":  # the form's own token: a double-submit cookie, not the session's
        page = client.get("/signin").text.split('action="/signin"', 1)[1]
        form = {"csrf": csrf_of(page), "name": "zed", "password": SECRET}
    data = dict(form, csrf=csrf) if csrf else form
    return client.post(path, data=data, follow_redirects=False)


def test_every_write_route_and_admin_page_by_role(matrix) -> None:
    app, item_id = matrix
    table = routes(app)
    unlisted = [r for r in table if r[0] in WRITES and r not in NEEDS]
    assert not unlisted, f"add these write routes to NEEDS with the role they need: {unlisted}"
    stale = [r for r in NEEDS if r not in table]
    assert not stale, f"NEEDS names routes the app no longer has: {stale}"

    # signout last: it ends the session the other checks use
    checked = sorted(NEEDS, key=lambda r: r == ("POST", "/signout"))
    wrong = []
    for role in ROLES:
        client = TestClient(app, base_url="http://desk.test", client=(f"192.0.2.{len(role)}", 1))
        csrf = sign_in(client, ACCOUNT[role]) if role != "anonymous" else ""
        for method, path in checked:
            who, form = NEEDS[(method, path)]
            if path == "/mcp":
                continue  # the MCP transport: read-only tools, the API's read token guards it
            if who == ANYONE:  # sign-in itself, from a fresh browser with the right secret
                fresh = TestClient(app, base_url="http://desk.test", client=("192.0.2.99", 1))
                answer = request(fresh, method, fill(path, item_id), form, "")
            else:
                answer = request(client, method, fill(path, item_id), form, csrf)
            if who == ANYONE:
                expected = False
            elif who == TOKEN:
                expected = True  # a session is not the app's token
            else:
                expected = role == "anonymous" or ROLES.index(role) < ROLES.index(who)
            # a secret URL (unsubscribe) answers a wrong secret as if nothing were there
            shut = refused(answer) or (who == TOKEN and answer.status_code == 404)
            if shut != expected:
                wrong.append((role, method, path, answer.status_code, answer.text[:120]))
    assert not wrong, "\n".join(map(str, wrong))


def test_every_other_page_is_open_to_anonymous_visitors(matrix) -> None:
    """A GET route missing from NEEDS must answer anyone: one that wants an account would
    have been forgotten in the table above."""
    app, item_id = matrix
    client = TestClient(app, base_url="http://desk.test")
    shut = []
    for method, path in routes(app):
        if method != "GET" or (method, path) in NEEDS:
            continue
        answer = client.get(fill(path, item_id), follow_redirects=False)
        if refused(answer):
            shut.append((path, answer.status_code))
    assert not shut, f"these pages refuse anonymous visitors; add them to NEEDS: {shut}"
