"""Guessing passwords against real servers: fifty parallel clients, two server processes on one
database, a few seconds of attack. Only the free failures and the first delayed ones are ever
checked; then the account is locked for everyone, the right password included."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

from .conftest import clean_env, newsdesk

CLIENTS = 50
ATTACK_SECONDS = 5.0
LOCK_AFTER = 4  # the default is 10; fewer keep the test inside its few seconds
MIN_TRIES = 5  # per client, however slow the machine: 250 attempts at least


def attack(send: Callable[[httpx.Client, int, int], httpx.Response]) -> Counter[int]:
    """CLIENTS threads each sending wrong guesses as fast as answers come, for a while."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + ATTACK_SECONDS

    def client(n: int) -> None:
        with httpx.Client(timeout=30) as http:
            tries = 0
            while time.monotonic() < deadline or tries < MIN_TRIES:  # a busy machine too
                status = send(http, n, tries).status_code
                tries += 1
                with lock:
                    statuses[status] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def signin(http: httpx.Client, base: str, password: str, address: str) -> httpx.Response:
    # the sign-in form's CSRF check is a double-submit cookie: any matching pair passes it
    return http.post(
        f"{base}/signin",
        data={"password": password, "csrf": "t", "next": "/"},
        headers={"X-Forwarded-For": address, "Cookie": "nd_login_csrf=t"},
    )


def test_distributed_guessing_locks_the_editor_account(
    database_url: str, tmp_path: Path, web_server
) -> None:
    env = clean_env(
        tmp_path, NEWSDESK_DATABASE_URL=database_url, NEWSDESK_ADMIN_PASSWORD="right horse",
        NEWSDESK_SIGNIN_LOCK_AFTER=str(LOCK_AFTER), NEWSDESK_TRUSTED_PROXIES="127.0.0.1",
    )  # fmt: skip
    first, second = web_server(env), web_server(env)  # two processes, one database
    statuses = attack(
        lambda http, n, i: signin(http, (first, second)[n % 2], f"guess{i}", f"198.51.100.{n}")
    )
    guessed = statuses[200] + statuses[401]  # answers that checked a password
    print(f"\n{sum(statuses.values())} attempts by {CLIENTS} clients: {dict(statuses)}")
    assert set(statuses) <= {401, 429}, statuses
    assert guessed <= LOCK_AFTER, statuses

    # the right password, from an address that never failed, on either server: still locked
    for base in (first, second):
        with httpx.Client() as http:
            right = signin(http, base, "right horse", "192.0.2.77")
        assert right.status_code == 429
        assert int(right.headers["retry-after"]) > 14 * 60  # 15 minutes by default
        assert "Too many failed sign-ins" in right.text
        assert "nd_session" not in right.cookies


def test_client_login_and_ingest_tokens_are_throttled(tmp_path: Path, web_server) -> None:
    env = clean_env(
        tmp_path, NEWSDESK_READER_PASSWORD="reader secret",
        NEWSDESK_SIGNIN_LOCK_AFTER=str(LOCK_AFTER), NEWSDESK_TRUSTED_PROXIES="127.0.0.1",
        NEWSDESK_API_RATE_LIMIT="0",  # the API's own limit would answer many 429s first
    )  # fmt: skip
    added = newsdesk(["sources", "add", "https://partner.example.com/", "--kind", "push",
                      "--id", "partner"], env, tmp_path)  # fmt: skip
    assert added.returncode == 0, added.stderr
    token = added.stdout.split("push token (shown once, stored hashed): ", 1)[1].split()[0]
    base = web_server(env)

    logins = attack(lambda http, n, i: http.post(
        f"{base}/accounts/ClientLogin", data={"Email": "reader", "Passwd": f"guess{i}"},
        headers={"X-Forwarded-For": f"198.51.100.{n}"},
    ))  # fmt: skip
    assert logins[401] <= LOCK_AFTER and logins[429] >= 200, logins
    locked = httpx.post(f"{base}/accounts/ClientLogin",
                        data={"Email": "reader", "Passwd": "reader secret"},
                        headers={"X-Forwarded-For": "192.0.2.77"})  # fmt: skip
    assert locked.status_code == 429 and "Auth=" not in locked.text
    assert int(locked.headers["retry-after"]) > 14 * 60
    other_name = httpx.post(f"{base}/accounts/ClientLogin",
                            data={"Email": "someone", "Passwd": "x"},
                            headers={"X-Forwarded-For": "192.0.2.78"})  # fmt: skip
    assert other_name.status_code == 401  # the lock is the account's, not the whole API's

    # wrong ingest tokens from one address: that address waits; the partner keeps pushing
    pushes = attack(lambda http, n, i: http.post(
        f"{base}/api/ingest", json={"items": []},
        headers={"Authorization": f"Bearer wrong-{n}-{i}", "X-Forwarded-For": "203.0.113.66"},
    ))  # fmt: skip
    assert pushes[401] <= LOCK_AFTER and pushes[429] >= 200, pushes
    good = httpx.post(f"{base}/api/ingest", json={"items": [{"title": "Hello"}]},
                      headers={"Authorization": f"Bearer {token}",
                               "X-Forwarded-For": "203.0.113.10"})  # fmt: skip
    assert good.status_code == 202 and good.json()["accepted"] == 1
    still = httpx.post(f"{base}/api/ingest", json={"items": []},
                       headers={"Authorization": f"Bearer {token}",
                                "X-Forwarded-For": "203.0.113.66"})  # fmt: skip
    assert still.status_code == 429 and int(still.headers["retry-after"]) > 14 * 60


def test_forwarded_for_is_ignored_unless_trusted(tmp_path: Path, web_server) -> None:
    env = clean_env(tmp_path, NEWSDESK_READER_PASSWORD="reader secret",
                    NEWSDESK_SIGNIN_LOCK_AFTER=str(LOCK_AFTER))  # fmt: skip
    base = web_server(env)
    with httpx.Client() as http:
        answers = [  # a new name and a new claimed address each time: only the address is shared
            http.post(f"{base}/accounts/ClientLogin", data={"Email": f"user{n}", "Passwd": "x"},
                      headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n in range(8)
        ]  # fmt: skip
    # every guess counted against 127.0.0.1, whatever address the header claimed: locked
    # after LOCK_AFTER failures, however slowly the machine answered
    assert answers.count(401) <= LOCK_AFTER and answers[-1] == 429, answers
