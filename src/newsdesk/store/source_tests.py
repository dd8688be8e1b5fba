"""Sources added by an editor in the admin pages wait, disabled, for a test fetch.

Pages never fetch (DESIGN.md invariant 1): the form stores the source with status "testing";
the runner's next pass fetches it once with the collect stage and records the outcome here
("tested" with the entries found, or "test_failed" with the error). The editor then enables it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from newsdesk.store import schema as t


class SourceExists(ValueError):
    pass


def add_testing_source(conn: Connection, values: dict[str, Any], now: datetime) -> None:
    """Store a new source, disabled, waiting for its test fetch."""
    if conn.execute(select(t.sources.c.id).where(t.sources.c.id == values["id"])).first():
        raise SourceExists(f"a source with id {values['id']!r} already exists")
    conn.execute(
        insert(t.sources).values(
            **values, enabled=False, status="testing", created_at=now, first_import_done=False
        )
    )


def request_retest(conn: Connection, source_id: str) -> bool:
    """Queue another test fetch of a source that has not been enabled yet."""
    s = t.sources.c
    done = conn.execute(
        update(t.sources)
        .where(s.id == source_id, s.status.in_(("tested", "test_failed")), s.enabled.is_(False))
        .values(status="testing")
    ).rowcount
    return bool(done)


def sources_to_test(conn: Connection, limit: int = 20) -> list[Any]:
    s = t.sources.c
    return list(
        conn.execute(
            select(t.sources).where(s.status == "testing").order_by(s.created_at).limit(limit)
        )
    )


def record_test(
    conn: Connection,
    source_id: str,
    started_at: datetime,
    finished_at: datetime,
    *,
    url: str,
    http_status: int | None,
    entries: int,
    error_code: str | None,
    error_message: str | None,
) -> None:
    """The outcome of a test fetch: a fetch_runs row (entries found, no stories stored) and the
    source's status. A feed found through a site page replaces the URL the editor typed."""
    conn.execute(
        insert(t.fetch_runs).values(
            source_id=source_id, started_at=started_at, finished_at=finished_at,
            http_status=http_status, error_code=error_code, error_message=error_message,
            bytes=0, entries=entries, new_items=0,
        )
    )  # fmt: skip
    conn.execute(
        update(t.sources)
        .where(t.sources.c.id == source_id, t.sources.c.status == "testing")
        .values(
            url=url,
            status="test_failed" if error_code else "tested",
            last_fetch_at=finished_at,
            last_error_code=error_code,
            last_error_message=error_message,
        )
    )
