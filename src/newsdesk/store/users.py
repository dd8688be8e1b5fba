"""Accounts, their sessions and the record of what each did at the desk.

Roles grow: a reader follows and saves; an editor also votes and works the admin desk
(merges, splits); an admin also changes sources, the policy, budgets and accounts
(`ROLES`, `allows`). The bootstrap account is the one `NEWSDESK_ADMIN_PASSWORD` signs in: a
row with no hash of its own, made on its first sign-in, so its votes and saves have an owner
like everyone's.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from newsdesk.store import passwords
from newsdesk.store import schema as t

ROLES = ("reader", "editor", "admin")
BOOTSTRAP_NAME = "admin"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")


class UserError(ValueError):
    """A request about accounts this desk cannot do; the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    bootstrap: bool
    disabled: bool
    password_hash: str
    alert_key: str
    created_at: datetime

    def allows(self, role: str) -> bool:
        return allows(self.role, role)


def allows(have: str, need: str) -> bool:
    """Whether a role may do what `need` may (admin > editor > reader)."""
    return ROLES.index(have) >= ROLES.index(need)


def _user(row: Any) -> User:
    return User(
        id=row.id, name=row.name, role=row.role, bootstrap=row.bootstrap,
        disabled=row.disabled, password_hash=row.password_hash or "",
        alert_key=row.alert_key or "", created_at=row.created_at,
    )  # fmt: skip


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not NAME.match(name):
        raise UserError(
            "a name is 1 to 40 lower-case letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < 8:
        raise UserError("a password needs at least 8 characters")
    if len(password) > passwords.MAX_PASSWORD:
        raise UserError(f"a password has at most {passwords.MAX_PASSWORD} characters")
    return password


def new_password() -> str:
    """A one-time password to hand over: 16 characters from an unambiguous alphabet."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


# ---- accounts ----


def find(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(t.users).where(t.users.c.name == name.strip().lower())).first()
    return _user(row) if row else None


def get(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(t.users).where(t.users.c.id == user_id)).first()
    return _user(row) if row else None


def require(conn: Connection, name: str) -> User:
    user = find(conn, name)
    if user is None:
        raise UserError(f"no account named {name!r} (newsdesk users list shows them)")
    return user


def add(conn: Connection, name: str, role: str, password_hash: str, now: datetime) -> User:
    name, role = check_name(name), check_role(role)
    if name == BOOTSTRAP_NAME:
        raise UserError(
            f"{BOOTSTRAP_NAME!r} is the NEWSDESK_ADMIN_PASSWORD account; choose another name"
        )
    if find(conn, name) is not None:
        raise UserError(f"an account named {name!r} exists")
    conn.execute(
        insert(t.users).values(
            name=name, role=role, password_hash=password_hash, bootstrap=False,
            disabled=False, alert_key=secrets.token_hex(32), created_at=now, updated_at=now,
        )
    )  # fmt: skip
    return require(conn, name)


def bootstrap(conn: Connection, now: datetime) -> User:
    """The NEWSDESK_ADMIN_PASSWORD account, made on its first sign-in."""
    found = find(conn, BOOTSTRAP_NAME)
    if found is not None:
        if not found.alert_key:
            key = secrets.token_hex(32)
            conn.execute(update(t.users).where(t.users.c.id == found.id).values(alert_key=key))
        return require(conn, BOOTSTRAP_NAME)
    conn.execute(
        insert(t.users).values(
            name=BOOTSTRAP_NAME, role="admin", password_hash="", bootstrap=True, disabled=False,
            alert_key=secrets.token_hex(32), created_at=now, updated_at=now,
        )
    )  # fmt: skip
    return require(conn, BOOTSTRAP_NAME)


def listing(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Every account with counts only: what a person follows, saves or where their alerts go
    is theirs alone, so an admin sees how many, never which."""
    u = t.users.c

    def count(table: Any, column: Any = None) -> Any:
        column = column if column is not None else table.c.user_id
        return select(func.count()).select_from(table).where(column == u.id).scalar_subquery()

    sessions = (
        select(func.count())
        .select_from(t.editor_sessions)
        .where(t.editor_sessions.c.user_id == u.id, t.editor_sessions.c.expires_at > now)
        .scalar_subquery()
    )
    saved = (
        select(func.count())
        .select_from(t.saved_items.join(t.collections))
        .where(t.collections.c.user_id == u.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            u.id, u.name, u.role, u.bootstrap, u.disabled, u.created_at,
            sessions.label("sessions"), count(t.follows).label("follows"),
            saved.label("saved"), count(t.alert_targets).label("alert_targets"),
            count(t.feedback, t.feedback.c.user_id).label("votes"),
        ).order_by(u.name)
    ).all()  # fmt: skip
    return [dict(r._mapping) for r in rows]


def set_role(conn: Connection, user: User, role: str, now: datetime) -> None:
    role = check_role(role)
    if user.bootstrap and role != "admin":
        raise UserError("the NEWSDESK_ADMIN_PASSWORD account is always an admin")
    conn.execute(update(t.users).where(t.users.c.id == user.id).values(role=role, updated_at=now))


def set_disabled(conn: Connection, user: User, disabled: bool, now: datetime) -> None:
    conn.execute(
        update(t.users).where(t.users.c.id == user.id).values(disabled=disabled, updated_at=now)
    )
    if disabled:
        end_sessions(conn, user.id)


def set_password(conn: Connection, user: User, password_hash: str, now: datetime) -> None:
    """A new password ends every session of the account (and every reader-app login, whose
    token is made from the hash)."""
    if user.bootstrap:
        raise UserError("the bootstrap admin signs in with NEWSDESK_ADMIN_PASSWORD; change that")
    conn.execute(
        update(t.users)
        .where(t.users.c.id == user.id)
        .values(password_hash=password_hash, updated_at=now)
    )
    end_sessions(conn, user.id)


# ---- sessions ----


@dataclass(frozen=True)
class SessionUser:
    """The account behind a live session cookie."""

    user: User
    csrf: str
    token_hash: str
    expires_at: datetime | None = None  # when the session ends (pages keep it no longer)


def create_session(
    conn: Connection, user_id: int, token: str, csrf: str, now: datetime, expires: datetime,
    address: str = "", user_agent: str = "",
) -> None:  # fmt: skip
    conn.execute(delete(t.editor_sessions).where(t.editor_sessions.c.expires_at < now))
    conn.execute(
        insert(t.editor_sessions).values(
            token_hash=token_hash(token), user_id=user_id, csrf_token=csrf, created_at=now,
            expires_at=expires, address=address[:64], user_agent=user_agent[:200],
        )
    )  # fmt: skip


def session_user(conn: Connection, token: str, now: datetime) -> SessionUser | None:
    """The account of a live session; None when the session ended or the account is off."""
    s = t.editor_sessions.c
    row = conn.execute(
        select(t.users, s.csrf_token, s.token_hash, s.expires_at)
        .join(t.editor_sessions, s.user_id == t.users.c.id)
        .where(s.token_hash == token_hash(token), s.expires_at > now)
    ).first()
    if row is None or row.disabled:
        return None
    return SessionUser(_user(row), row.csrf_token, row.token_hash, row.expires_at)


def sessions(conn: Connection, user_id: int, now: datetime) -> list[dict[str, Any]]:
    """An account's live sessions, newest first; `id` is a prefix of the stored hash (never
    the cookie), enough to end one."""
    s = t.editor_sessions.c
    rows = conn.execute(
        select(s.token_hash, s.created_at, s.expires_at, s.address, s.user_agent)
        .where(s.user_id == user_id, s.expires_at > now)
        .order_by(s.created_at.desc())
    ).all()
    return [
        {
            "id": r.token_hash[:12], "created_at": r.created_at, "expires_at": r.expires_at,
            "address": r.address, "user_agent": r.user_agent, "hash": r.token_hash,
        }
        for r in rows
    ]  # fmt: skip


def end_session(conn: Connection, token: str) -> None:
    conn.execute(
        delete(t.editor_sessions).where(t.editor_sessions.c.token_hash == token_hash(token))
    )


def end_session_by_id(conn: Connection, user_id: int, session_id: str) -> bool:
    """End one of an account's sessions by the id `sessions` shows; False when none has it."""
    s = t.editor_sessions.c
    if len(session_id) < 8:
        return False
    done = conn.execute(
        delete(t.editor_sessions).where(
            s.user_id == user_id, s.token_hash.startswith(session_id, autoescape=True)
        )
    )
    return bool(done.rowcount)


def end_sessions(conn: Connection, user_id: int) -> int:
    done = conn.execute(delete(t.editor_sessions).where(t.editor_sessions.c.user_id == user_id))
    return int(done.rowcount or 0)


# ---- the record of desk actions ----


def record(
    conn: Connection, user_id: int | None, account: str, action: str, ref: str, now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    conn.execute(
        insert(t.desk_actions).values(
            user_id=user_id, account=account, action=action, ref=ref[:200], detail=detail,
            created_at=now,
        )
    )  # fmt: skip


def recent_actions(conn: Connection, limit: int = 50) -> list[Any]:
    a = t.desk_actions.c
    return list(conn.execute(select(t.desk_actions).order_by(a.id.desc()).limit(limit)).all())


def any_account_query() -> Any:
    """Whether any account exists that can sign in without NEWSDESK_ADMIN_PASSWORD."""
    u = t.users.c
    return select(u.id).where(u.bootstrap.is_(False), u.disabled.is_(False)).limit(1)
