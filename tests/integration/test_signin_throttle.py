"""The sign-in throttle's counts live in the database: growing waits, a lock after N failures,
and parallel attempts that cannot slip past it, on both engines and across two writers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from newsdesk.store import throttle
from newsdesk.store.db import Database
from newsdesk.web.throttle import client_address

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULES = throttle.Rules(lock_after=6, lock_seconds=600)
ACCOUNT = ("account", "signin:editor")


def admit(db: Database, keys: list[throttle.Key], now: datetime) -> float:
    return db.write_sync(lambda c: throttle.admit(c, keys, now, RULES))


def test_waits_grow_then_the_account_locks(db: Database) -> None:
    keys = throttle.keys("signin:editor", "203.0.113.7")
    now, seen = T0, []
    while seen.count(0) < 8:  # try again as soon as allowed, until eight guesses were made
        wait = admit(db, keys, now)
        seen.append(wait)
        now += timedelta(seconds=wait)
    # two free failures; the third blocks 1 s, then 2, 4; the sixth locks for 10 minutes
    assert seen == [0, 0, 0, 1, 0, 2, 0, 4, 0, 600, 0, 600, 0]
    with db.read() as conn:
        assert throttle.failures(conn, ACCOUNT)[0] == 8


def test_refused_attempts_do_not_count_and_success_clears_the_account(db: Database) -> None:
    keys = throttle.keys("signin:editor", "203.0.113.7")
    for _ in range(3):
        admit(db, keys, T0)
    assert admit(db, keys, T0) == 1.0
    assert admit(db, keys, T0 + timedelta(seconds=0.5)) == 0.5  # refused: nothing counted
    with db.read() as conn:
        assert throttle.failures(conn, ACCOUNT)[0] == 3
    assert admit(db, keys, T0 + timedelta(seconds=1)) == 0
    db.write_sync(lambda c: throttle.succeeded(c, keys))
    with db.read() as conn:
        assert throttle.failures(conn, ACCOUNT) == (0, None)
        # the address keeps its earlier failures but not the one counted for the success
        assert throttle.failures(conn, ("address", "203.0.113.7")) == (3, None)


def test_an_account_locks_whatever_address_the_guesses_come_from(db: Database) -> None:
    now = T0
    for n in range(RULES.lock_after):
        now += timedelta(seconds=RULES.block_seconds(n))  # the wait the last failure set
        keys = throttle.keys("signin:editor", f"198.51.100.{n}")
        assert admit(db, keys, now) == 0, n
    fresh_address = throttle.keys("signin:editor", "192.0.2.200")
    assert admit(db, fresh_address, now) == 600  # locked, from wherever
    other_account = throttle.keys("reader:alice", "192.0.2.200")
    assert admit(db, other_account, now) == 0


def test_a_quiet_day_forgets(db: Database) -> None:
    keys = throttle.keys("signin:editor", "203.0.113.7")
    for n in range(RULES.lock_after):
        admit(db, keys, T0 + timedelta(seconds=n * 60))
    later = T0 + timedelta(days=2)
    assert admit(db, keys, later) == 0
    with db.read() as conn:
        assert throttle.failures(conn, ACCOUNT)[0] == 1


def test_parallel_attempts_through_two_writers_admit_only_the_free_ones(
    database_url: str, db: Database
) -> None:
    """Fifty attempts at once, split over two Database objects (two processes' worth of
    connections on one file or server): exactly the free failures plus the first delayed one
    get through, never fifty."""
    second = Database(database_url)
    try:
        keys = throttle.keys("signin:editor", "203.0.113.9")
        with ThreadPoolExecutor(max_workers=50) as pool:
            waits = list(pool.map(lambda n: admit((db, second)[n % 2], keys, T0), range(50)))
    finally:
        second.close()
    admitted = sum(1 for w in waits if w == 0)
    assert admitted == RULES.free + 1  # the third failure is the first that blocks
    with db.read() as conn:
        assert throttle.failures(conn, ACCOUNT)[0] == admitted


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.5", "6.6.6.6", "", "203.0.113.5"),  # nobody trusted: the header is noise
        ("203.0.113.5", "6.6.6.6", "10.0.0.0/8", "203.0.113.5"),  # peer is not our proxy
        ("10.0.0.2", "198.51.100.4", "10.0.0.0/8", "198.51.100.4"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.4, 10.0.0.9", "10.0.0.0/8", "198.51.100.4"),
        ("10.0.0.2", "not-an-address", "10.0.0.0/8", "10.0.0.2"),
        ("2001:db8:1:2::7", None, "", "2001:db8:1:2::/64"),  # a host holds a whole /64
        ("::ffff:203.0.113.5", None, "", "203.0.113.5"),
        ("testclient", None, "", "testclient"),
    ],
)
def test_client_address(peer: str, forwarded: str | None, trusted: str, expected: str) -> None:
    assert client_address(peer, forwarded, trusted) == expected
