"""The address guard (point 8d): names, redirects and DNS answers that lead to private targets.

The resolver is patched to play a hostile DNS server; the guard checks the very addresses the
connection then uses, so a name cannot pass the check and connect elsewhere."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from conftest import Route
from newsdesk.collect import http as fetch_http
from newsdesk.collect.http import Fetcher


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    answers: dict[str, list[str]] = {}
    real = fetch_http.resolve

    async def resolve(host: str, port: int) -> list[str]:
        if host in answers:
            return answers[host]
        return await real(host, port)

    monkeypatch.setattr(fetch_http, "resolve", resolve)
    return answers


@pytest.fixture
def loopback_counts_as_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the local test server stand in for a public host; every other rule stays."""
    real = fetch_http.is_public_address
    monkeypatch.setattr(fetch_http, "is_public_address", lambda a: a == "127.0.0.1" or real(a))


async def test_public_name_resolving_to_loopback_is_refused(server, fake_dns) -> None:
    url = server.add("/feed", Route(b"<rss/>"))
    fake_dns["feeds.example.com"] = ["127.0.0.1"]
    async with Fetcher(allow_private=False) as fetcher:
        result = await fetcher.fetch(url.replace("127.0.0.1", "feeds.example.com"))
    assert result.error_code == "blocked_address"
    assert "feeds.example.com resolves to 127.0.0.1" in (result.error_message or "")
    assert server.routes["/feed"].hits == 0


async def test_one_private_answer_among_public_ones_is_refused(server, fake_dns) -> None:
    url = server.add("/feed", Route(b"<rss/>"))
    fake_dns["mixed.example.com"] = ["93.184.216.34", "127.0.0.1"]
    async with Fetcher(allow_private=False) as fetcher:
        result = await fetcher.fetch(url.replace("127.0.0.1", "mixed.example.com"))
    assert result.error_code == "blocked_address"
    assert server.routes["/feed"].hits == 0


async def test_connection_goes_to_the_checked_address(
    server, fake_dns, loopback_counts_as_public
) -> None:
    # The name exists only in our fake DNS: a second, unguarded lookup would fail with "dns".
    url = server.add("/feed", Route(b"<rss/>"))
    fake_dns["pinned.example.com"] = ["127.0.0.1"]
    async with Fetcher(allow_private=False) as fetcher:
        result = await fetcher.fetch(url.replace("127.0.0.1", "pinned.example.com"))
    assert result.ok and result.body == b"<rss/>"


async def test_redirect_to_metadata_address_is_refused(server, loopback_counts_as_public) -> None:
    def bounce(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    url = server.add("/bounce", Route(handler=bounce))
    async with Fetcher(allow_private=False) as fetcher:
        result = await fetcher.fetch(url)
    assert server.routes["/bounce"].hits == 1  # the first hop was allowed and made
    assert result.error_code == "blocked_address"
    assert "169.254.169.254" in (result.error_message or "")


async def test_redirect_to_a_name_that_resolves_privately_is_refused(
    server, fake_dns, loopback_counts_as_public
) -> None:
    def bounce(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(301)
        handler.send_header("Location", "http://internal.example.com/admin")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    fake_dns["internal.example.com"] = ["10.0.0.7"]
    url = server.add("/bounce", Route(handler=bounce))
    async with Fetcher(allow_private=False) as fetcher:
        result = await fetcher.fetch(url)
    assert result.error_code == "blocked_address"
    assert "10.0.0.7" in (result.error_message or "")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/feed",
        "http://192.168.0.1/feed",
        "http://[::1]/feed",
        "http://0.0.0.0/feed",
        "http://224.0.0.1/feed",
        "http://[fe80::1]/feed",
    ],
)
async def test_literal_private_targets_are_refused(url: str) -> None:
    async with Fetcher(allow_private=False, total_timeout=5) as fetcher:
        result = await fetcher.fetch(url)
    assert result.error_code == "blocked_address", result.error_message


async def test_operator_can_allow_private_targets(server, fake_dns) -> None:
    url = server.add("/feed", Route(b"<rss/>"))
    fake_dns["intranet.example.com"] = ["127.0.0.1"]
    async with Fetcher(allow_private=True) as fetcher:
        result = await fetcher.fetch(url.replace("127.0.0.1", "intranet.example.com"))
    assert result.ok


async def test_unknown_name_is_a_dns_error() -> None:
    async with Fetcher(allow_private=False, total_timeout=10) as fetcher:
        result = await fetcher.fetch("http://no-such-host.invalid/feed")
    assert result.error_code == "dns"
