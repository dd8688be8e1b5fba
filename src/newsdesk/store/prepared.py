"""Statements compiled once and run on the driver's own cursor.

The read layer's hottest statements (a page's story ids, the versions of its cards) take
SQLite a tenth of a millisecond, while building, caching and compiling them through
SQLAlchemy, then turning each row's values into Python types, took four times that. Here a
statement is built and compiled once per shape and dialect; each request only binds its
values and reads plain tuples (dates stay as the driver gives them: SQLite's text, psycopg's
datetimes). Statements come from SQLAlchemy, so both engines still get their own SQL.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Executable
from sqlalchemy.exc import DBAPIError

from newsdesk.store.schema import TS


@dataclass(frozen=True)
class Prepared:
    sql: str
    names: tuple[str, ...] | None  # bind names in order (positional drivers), else None
    defaults: dict[str, Any]  # values the statement carries itself (SQLite's OFFSET 0)


_PREPARED: dict[tuple[str, Hashable], Prepared] = {}
_LOCK = threading.Lock()


def prepare(conn: Connection, key: Hashable, build: Callable[[], Executable]) -> Prepared:
    """The compiled form of `build()` for this connection's dialect, made once per key."""
    dialect = conn.dialect
    found = _PREPARED.get((dialect.name, key))
    if found is None:
        compiled = build().compile(dialect=dialect)
        names = (
            tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        )
        defaults = {n: b.value for n, b in compiled.binds.items() if not b.required}
        found = Prepared(compiled.string, names, defaults)
        with _LOCK:
            _PREPARED[(dialect.name, key)] = found
    return found


def fetch_all(
    conn: Connection, key: Hashable, build: Callable[[], Executable], params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """Rows of the statement `build()` makes (compiled once per key), as the driver gives them.

    Runs inside the connection's transaction (begun here if it is not yet), so it reads the
    same snapshot as the SQLAlchemy statements around it."""
    prepared = prepare(conn, key, build)
    if not conn.in_transaction():
        conn.begin()
    bind = _time_binder(conn)
    values = prepared.defaults | {
        k: bind(v) if isinstance(v, datetime) else v for k, v in params.items()
    }
    driver = conn.connection.driver_connection
    assert driver is not None
    driver_error = conn.dialect.loaded_dbapi.Error
    cursor = driver.cursor()
    try:
        if prepared.names is not None:
            cursor.execute(prepared.sql, [values[name] for name in prepared.names])
        else:
            cursor.execute(prepared.sql, values)
        return list(cursor.fetchall())
    except driver_error as exc:
        # raised as SQLAlchemy raises it, so `Database.read` tells a full disk or a lost
        # server (StorageFailure, a 503) from a bug, as for every other statement
        lost = conn.dialect.is_disconnect(exc, driver, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            prepared.sql, None, exc, driver_error, connection_invalidated=lost,
            dialect=conn.dialect,
        ) from exc  # fmt: skip
    finally:
        cursor.close()


_TYPED: dict[tuple[str, Hashable], tuple[type[tuple[Any, ...]], list[Any]]] = {}


def fetch_typed(
    conn: Connection, key: Hashable, build: Callable[[], Any], params: dict[str, Any]
) -> list[Any]:
    """`fetch_all` with each value turned into its column's Python type (aware UTC times,
    parsed JSON, booleans), as named tuples: SQLAlchemy's own rows, without building, caching
    and compiling the statement on every call (0.5 ms of a page of 30 cards)."""
    rows = fetch_all(conn, key, build, params)
    dialect = conn.dialect
    found = _TYPED.get((dialect.name, key))
    if found is None:
        columns = list(build().selected_columns)
        shape = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
        processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        found = (shape, processors)
        with _LOCK:
            _TYPED[(dialect.name, key)] = found
    shape, processors = found
    made = shape._make  # type: ignore[attr-defined]
    return [
        made([f(v) if f is not None else v for f, v in zip(processors, row, strict=True)])
        for row in rows
    ]


def _time_binder(conn: Connection) -> Callable[[Any], Any]:
    dialect = conn.dialect
    to_driver = TS.impl.dialect_impl(dialect).bind_processor(dialect)

    def bind(value: Any) -> Any:
        value = TS.process_bind_param(value, dialect)
        return to_driver(value) if to_driver else value

    return bind


def read_time(conn: Connection, value: Any) -> datetime:
    """A time column as `fetch_all` returned it, as the aware UTC datetime SQLAlchemy gives."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)  # already typed (SQLAlchemy's rows, psycopg's values)
    dialect = conn.dialect
    to_python = TS.impl.dialect_impl(dialect).result_processor(dialect, None)
    return TS.process_result_value(to_python(value) if to_python else value, dialect)  # type: ignore[return-value]
