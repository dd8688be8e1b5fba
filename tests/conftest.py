"""Shared fixtures: a migrated database on each engine, and a local HTTP server for feeds.

Every test that takes `db` runs twice: on SQLite always, and on PostgreSQL when
NEWSDESK_TEST_DATABASE_URL is set (each test gets its own schema there). With
NEWSDESK_REQUIRE_POSTGRES=1 (set by .ci/run) an unreachable PostgreSQL fails the run, and so
does a run in which no PostgreSQL test passed. Under pytest-xdist the controller sees every
worker's reports, so it counts and judges the whole run; workers do not judge their share.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from db_templates import BUILDERS, Templates
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade

PG_URL = os.environ.get("NEWSDESK_TEST_DATABASE_URL", "")
REQUIRE_PG = os.environ.get("NEWSDESK_REQUIRE_POSTGRES") == "1"
FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
_postgres_passed = 0


def _migrated(url: str) -> None:
    database = Database(url)
    try:
        upgrade(database)
    finally:
        database.close()  # no connection may stay open on a PostgreSQL template


BUILDERS["db"] = _migrated
COPIED = pytest.StashKey[str]()  # the template kind a test's database was copied from


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    templates = Templates(tmp_path_factory.mktemp("db-templates"), PG_URL)
    yield templates
    templates.close()


@pytest.fixture
def template_kind(request: pytest.FixtureRequest) -> str | None:
    """Which template a test's database is copied from; a folder's conftest may override it
    (tests/outputs: the demo desk for a test that takes `desk`)."""
    return "db" if "db" in request.fixturenames else None


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    db_templates: Templates,
    template_kind: str | None,
) -> Iterator[str]:
    """A database on each engine: empty, or a copy of the template `template_kind` names."""
    kind = template_kind
    if kind is not None:
        request.node.stash[COPIED] = kind
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        if kind is not None:
            db_templates.sqlite_copy(kind, path)
        yield f"sqlite:///{path}"
        return
    if not PG_URL:
        pytest.skip("NEWSDESK_TEST_DATABASE_URL is not set: PostgreSQL half not run")
    import psycopg

    try:
        if kind is not None:  # a database of its own, copied from the template
            url = db_templates.postgres_copy(kind)
            yield url
            db_templates.drop(url)
            return
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL expected at {PG_URL} but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database)  # nothing to do on a template's copy; a late `db` is migrated here
    yield database
    database.close()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _postgres_passed
    if report.when == "call" and report.passed and "[postgres" in report.nodeid:
        _postgres_passed += 1


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _is_xdist_worker(session.config):
        return
    if REQUIRE_PG and _postgres_passed == 0 and exitstatus == 0:
        print("\nerror: NEWSDESK_REQUIRE_POSTGRES=1 but no PostgreSQL test passed")
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if PG_URL:
        terminalreporter.write_line(f"PostgreSQL tests passed: {_postgres_passed} ({PG_URL})")


class Route:
    """What the local server answers on one path."""

    def __init__(
        self,
        body: bytes = b"",
        status: int = 200,
        headers: dict[str, str] | None = None,
        handler: Callable[[BaseHTTPRequestHandler], None] | None = None,
    ) -> None:
        self.body, self.status, self.headers, self.handler = body, status, headers or {}, handler
        self.hits = 0


class LocalServer:
    """A real HTTP server on 127.0.0.1 that tests fill with routes; counts hits per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                route.hits += 1
                if route.handler:
                    route.handler(self)
                    return
                etag = route.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(route.status)
                for key, value in route.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.base + path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    yield srv
    srv.close()
