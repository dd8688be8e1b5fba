"""Accounts and roles on both engines: accounts made with the CLI, sign-in by name, what each
role may do, the account recorded on votes, saves and desk actions, sessions listed and
ended, throttled sign-in, the bootstrap admin, and reader apps signing in per account with
read marks of their own."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_web_reader import PASSWORD, _seed, csrf_of
from typer.testing import CliRunner

from newsdesk.cli import app as cli_app
from newsdesk.config import load_settings
from newsdesk.store import schema as t
from newsdesk.web.app import create_app

runner = CliRunner()
ACCOUNTS = {"ann": "reader", "ed": "editor", "ada": "admin"}
SECRET = "correct horse battery"


def cli(db, *args: str, stdin: str | None = None):
    result = runner.invoke(
        cli_app, list(args), input=stdin, env={"NEWSDESK_DATABASE_URL": db.url},
        catch_exceptions=False,
    )  # fmt: skip
    return result


@pytest.fixture
def desk(db):
    for name, role in ACCOUNTS.items():
        done = cli(db, "users", "add", name, "--role", role, "--password-stdin", stdin=SECRET)
        assert done.exit_code == 0, done.output
    ids = _seed(db)
    settings = load_settings(
        database_url=db.url, admin_password=PASSWORD, data_dir="/nonexistent",
        signin_lock_after=4, page_cache_seconds=0,
    )  # fmt: skip
    app = create_app(settings, db)

    def client(address: str = "192.0.2.1") -> TestClient:
        c = TestClient(app, base_url="http://desk.test", client=(address, 50000))
        c.ids = ids  # type: ignore[attr-defined]
        return c

    return client


def sign_in(client, name: str, password: str = SECRET) -> str:
    page = client.get("/signin")
    r = client.post(
        "/signin", data={"name": name, "password": password, "csrf": csrf_of(page.text)}
    )
    assert r.status_code == 200 and "sign out" in r.text, r.text[:500]
    return csrf_of(client.get("/account").text)


def test_cli_makes_lists_and_changes_accounts(db) -> None:
    made = cli(db, "users", "add", "Bea", "--role", "editor")
    assert made.exit_code == 0
    one_time = re.search(r"one-time password: (\S+)", made.output).group(1)  # type: ignore[union-attr]
    assert len(one_time) == 16
    assert cli(db, "users", "add", "bea").exit_code == 2  # taken
    assert cli(db, "users", "add", "admin").exit_code == 2  # the bootstrap account's name
    bad_role = cli(db, "users", "add", "cy", "--role", "owner")
    assert bad_role.exit_code == 2 and "role must be one of" in bad_role.output
    short = cli(db, "users", "add", "cy", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "at least 8" in short.output
    with db.read() as conn:
        row = conn.execute(select(t.users).where(t.users.c.name == "bea")).one()
    assert row.role == "editor" and row.password_hash.startswith("$argon2id$")
    assert one_time not in row.password_hash

    assert cli(db, "users", "role", "bea", "admin").exit_code == 0
    assert cli(db, "users", "disable", "bea").exit_code == 0
    listing = cli(db, "users", "list").output
    assert re.search(r"bea\s+admin\s+disabled", listing), listing
    assert cli(db, "users", "disable", "bea", "--enable").exit_code == 0
    assert cli(db, "users", "passwd", "bea", "--password-stdin", stdin=SECRET).exit_code == 0
    assert cli(db, "users", "role", "nobody", "admin").exit_code == 2
    with db.read() as conn:
        actions = [r.action for r in conn.execute(select(t.desk_actions)).all()]
    assert {"user_add", "user_role", "user_disable", "user_enable", "user_passwd"} <= set(actions)


def test_each_role_gets_what_it_may(desk, db) -> None:
    nova = desk().ids["Lab ships Nova-2"]
    reader, editor, admin = desk(), desk(), desk()
    r_csrf, e_csrf, a_csrf = sign_in(reader, "ann"), sign_in(editor, "ed"), sign_in(admin, "ada")

    # readers save (privately), and may not vote or open the admin desk
    assert reader.post(f"/items/{nova}/save", data={"csrf": r_csrf}).status_code == 200
    assert "Lab ships Nova-2" in reader.get("/saved").text
    assert "Lab ships Nova-2" not in editor.get("/saved").text  # saves are per person
    vote = reader.post(f"/items/{nova}/feedback", data={"csrf": r_csrf, "kind": "up"})
    assert vote.status_code == 403
    assert reader.get("/admin/runs", headers={"accept": "text/html"}).status_code == 403
    assert 'action="/items/' in reader.get(f"/items/{nova}").text
    assert "👍" not in reader.get(f"/items/{nova}").text  # no vote form for a reader

    # editors vote and work the desk, and may not change sources, budgets or the policy
    assert (
        editor.post(f"/items/{nova}/feedback", data={"csrf": e_csrf, "kind": "up"}).status_code
        == 200
    )
    assert editor.get("/admin/runs").status_code == 200
    budget = {"csrf": e_csrf, "service": "llm", "window": "day", "max_calls": "5"}
    assert editor.post("/admin/budgets", data=budget).status_code == 403
    assert (
        editor.post("/admin/sources/lab", data={"csrf": e_csrf, "enabled": "false"}).status_code
        == 403
    )
    assert editor.get("/admin/users").status_code == 403

    # admins do all of it
    budget["csrf"] = a_csrf
    assert admin.post("/admin/budgets", data=budget, follow_redirects=False).status_code == 303
    added = admin.post("/admin/users", data={"csrf": a_csrf, "name": "zed", "role": "reader"})
    assert added.status_code == 200 and "one-time password" in added.text
    page = admin.get("/admin/users").text
    assert "zed" in page and "Lab ships Nova-2" not in page  # counts, never the stories

    with db.read() as conn:
        votes = conn.execute(select(t.feedback.c.editor, t.feedback.c.user_id)).all()
        ed_id = conn.execute(select(t.users.c.id).where(t.users.c.name == "ed")).scalar()
        actions = conn.execute(select(t.desk_actions.c.account, t.desk_actions.c.action)).all()
    assert votes == [("ed", ed_id)]  # the reader's save is no vote; the editor's vote is theirs
    assert ("ada", "budget") in actions and ("ada", "user_add") in actions


def test_merge_split_and_activation_record_the_account(desk, db) -> None:
    from sqlalchemy import insert

    now = datetime.now(UTC)
    ids = desk().ids
    event_ids = []
    for title in ("Lab ships Nova-2", "Lab hires a chief scientist"):

        def add_event(c, item=ids[title], title=title):
            eid = c.execute(
                insert(t.events).values(
                    title_en=title, lead_item_id=item, first_seen_at=now, last_seen_at=now,
                    created_at=now, updated_at=now,
                ).returning(t.events.c.id)
            ).scalar_one()  # fmt: skip
            c.execute(insert(t.event_members).values(item_id=item, event_id=eid, relation="lead",
                                                     similarity=1.0, added_at=now))  # fmt: skip
            return eid

        event_ids.append(db.write_sync(add_event))
    editor = desk()
    csrf = sign_in(editor, "ed")
    merged = editor.post("/admin/events/merge",
                         data={"csrf": csrf, "keep": event_ids[0], "other": event_ids[1]},
                         follow_redirects=False)  # fmt: skip
    assert merged.status_code == 303
    with db.read() as conn:
        actions = conn.execute(select(t.desk_actions.c.account, t.desk_actions.c.action)).all()
    assert ("ed", "merge") in actions


def test_sessions_are_listed_and_ended_per_account(desk, db) -> None:
    laptop, phone = desk(), desk()
    csrf = sign_in(laptop, "ann")
    sign_in(phone, "ann")
    page = laptop.get("/account").text
    ids = re.findall(r'action="/account/sessions/([0-9a-f]+)/end"', page)
    assert len(ids) == 2 and "(this one)" in page
    mine = re.search(r'class="mono">([0-9a-f]+) \(this one\)', page).group(1)  # type: ignore[union-attr]
    other = next(i for i in ids if i != mine)
    assert laptop.post(f"/account/sessions/{other}/end", data={"csrf": csrf},
                       follow_redirects=False).status_code == 303  # fmt: skip
    assert phone.get("/saved", follow_redirects=False).status_code in (303, 401)
    assert laptop.get("/saved").status_code == 200
    # someone else's session id is not yours to end
    other_person = desk()
    other_csrf = sign_in(other_person, "ed")
    assert other_person.post(f"/account/sessions/{mine}/end",
                             data={"csrf": other_csrf}).status_code == 404  # fmt: skip
    # the CLI lists and ends them too; disabling an account ends its sessions
    assert mine in cli(db, "users", "sessions", "ann").output
    assert cli(db, "users", "disable", "ed").exit_code == 0
    assert other_person.get("/admin/runs", follow_redirects=False).status_code in (303, 401)
    assert cli(db, "users", "revoke", "ann").output.startswith("ended 1 session")
    assert laptop.get("/saved", follow_redirects=False).status_code in (303, 401)


def test_sign_in_is_throttled_per_account_and_a_disabled_account_stays_out(desk, db) -> None:
    import time

    client = desk()
    codes = []
    for _ in range(12):  # wrong guesses, waiting out the short blocks, until the lock
        page = client.get("/signin")
        r = client.post("/signin", data={"name": "ann", "password": "wrong password",
                                         "csrf": csrf_of(page.text)})  # fmt: skip
        codes.append(r.status_code)
        if r.status_code == 429:
            wait = int(r.headers["retry-after"])
            if wait > 60:
                break  # locked: NEWSDESK_SIGNIN_LOCK_MINUTES
            time.sleep(wait)
    assert codes[:2] == [401, 401] and codes[-1] == 429, codes
    page = client.get("/signin")
    r = client.post("/signin", data={"name": "ann", "password": SECRET, "csrf": csrf_of(page.text)})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 60  # right, still locked
    assert "Too many failed sign-ins" in r.text
    # the address is held back too; from another address, ann's lock still holds and
    # another account signs in
    other = desk("192.0.2.77")
    page = other.get("/signin")
    again = other.post("/signin", data={"name": "ann", "password": SECRET,
                                        "csrf": csrf_of(page.text)})  # fmt: skip
    assert again.status_code == 429
    sign_in(other, "ed")
    assert cli(db, "users", "disable", "ada").exit_code == 0
    third = desk("192.0.2.78")
    page = third.get("/signin")
    out = third.post(
        "/signin", data={"name": "ada", "password": SECRET, "csrf": csrf_of(page.text)}
    )
    assert out.status_code == 401


def test_bootstrap_admin_keeps_working(desk, db) -> None:
    client = desk()
    page = client.get("/signin")
    r = client.post("/signin", data={"password": PASSWORD, "csrf": csrf_of(page.text)})
    assert r.status_code == 200 and "sign out" in r.text
    assert client.get("/admin/users").status_code == 200
    with db.read() as conn:
        row = conn.execute(select(t.users).where(t.users.c.name == "admin")).one()
    assert row.bootstrap and row.role == "admin" and row.password_hash == ""
    # the bootstrap account cannot be used with a password of its own
    assert cli(db, "users", "passwd", "admin", "--password-stdin", stdin=SECRET).exit_code == 2


def test_reader_apps_sign_in_per_account_with_their_own_marks(desk, db) -> None:
    client = desk()
    nova = client.ids["Lab ships Nova-2"]

    def login(name: str, password: str = SECRET) -> dict[str, str]:
        r = client.post("/accounts/ClientLogin", data={"Email": name, "Passwd": password})
        assert r.status_code == 200, r.text
        return {"Authorization": "GoogleLogin auth=" + r.text.split("Auth=")[1].strip()}

    assert client.post("/accounts/ClientLogin",
                       data={"Email": "ann", "Passwd": "nope"}).status_code == 401  # fmt: skip
    ann, ed = login("ann"), login("ed")
    assert client.get("/reader/api/0/user-info", headers=ann).json()["userName"] == "ann"
    token = client.get("/reader/api/0/token", headers=ann).text
    read = "user/-/state/com.google/read"
    done = client.post(
        "/reader/api/0/edit-tag", headers=ann, data={"i": str(nova), "a": read, "T": token}
    )
    assert done.status_code == 200

    def unread(headers: dict[str, str]) -> int:
        counts = client.get("/reader/api/0/unread-count", headers=headers).json()["unreadcounts"]
        return next(c["count"] for c in counts if c["id"].endswith("/feed/all.xml"))

    assert unread(ann) == unread(ed) - 1  # ann's read mark is hers alone
    ids = client.get("/reader/api/0/stream/items/ids", headers=ann,
                     params={"s": "user/-/state/com.google/reading-list",
                             "xt": "user/-/state/com.google/read", "n": 50}).json()  # fmt: skip
    assert str(nova) not in [r["id"] for r in ids["itemRefs"]]
    # a new password revokes the app's login
    assert (
        cli(db, "users", "passwd", "ann", "--password-stdin", stdin="another password").exit_code
        == 0
    )
    assert client.get("/reader/api/0/user-info", headers=ann).status_code == 401
    login("ann", "another password")


def test_reader_pair_stays_a_fallback(db) -> None:
    _seed(db)
    settings = load_settings(database_url=db.url, reader_user="feeds", reader_password="pair-pw",
                             data_dir="/nonexistent")  # fmt: skip
    client = TestClient(create_app(settings, db))
    r = client.post("/accounts/ClientLogin", data={"Email": "feeds", "Passwd": "pair-pw"})
    assert r.status_code == 200
    auth = {"Authorization": "GoogleLogin auth=" + r.text.split("Auth=")[1].strip()}
    assert client.get("/reader/api/0/subscription/list", headers=auth).status_code == 200


def test_export_and_delete_a_person(desk, db) -> None:
    import json

    nova = desk().ids["Lab ships Nova-2"]
    editor = desk()
    csrf = sign_in(editor, "ed")
    editor.post(f"/items/{nova}/save", data={"csrf": csrf, "collection": "Models"})
    editor.post(f"/items/{nova}/feedback", data={"csrf": csrf, "kind": "down", "note": "hype"})
    editor.post("/follow", data={"csrf": csrf, "kind": "tag", "target": "Reasoning"})
    exported = cli(db, "users", "export", "ed")
    assert exported.exit_code == 0
    data = json.loads(exported.output)
    assert data["account"]["name"] == "ed" and "password_hash" not in json.dumps(data)
    assert [f["target"] for f in data["follows"]] == ["Reasoning"]
    assert data["saved"][0]["item_id"] == nova and data["saved"][0]["collection"] == "Models"
    assert [(v["kind"], v["note"]) for v in data["votes"]] == [("star", "Models"), ("down", "hype")]
    assert len(data["sessions"]) == 1

    gone = cli(db, "users", "delete", "ed", "--yes")
    assert gone.exit_code == 0
    label = re.search(r"votes stay as (deleted-[0-9a-f]+)", gone.output).group(1)  # type: ignore[union-attr]
    with db.read() as conn:
        votes = conn.execute(select(t.feedback.c.editor, t.feedback.c.user_id)).all()
        assert votes == [(label, None), (label, None)]  # kept, anonymised, one voter
        for table in (t.follows, t.collections, t.saved_items, t.editor_sessions):
            assert conn.execute(select(table)).first() is None, table.name
        assert conn.execute(select(t.users).where(t.users.c.name == "ed")).first() is None
    assert editor.get("/saved", follow_redirects=False).status_code in (303, 401)
    assert cli(db, "users", "export", "ed").exit_code == 2
