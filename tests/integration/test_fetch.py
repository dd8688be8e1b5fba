import asyncio
import time
from http.server import BaseHTTPRequestHandler

from conftest import Route
from newsdesk.collect.http import USER_AGENT, Fetcher, is_public_address


async def test_conditional_get_answers_304_second_time(server) -> None:
    url = server.add("/feed", Route(b"<rss/>", headers={"ETag": '"v1"'}))
    async with Fetcher(allow_private=True) as fetcher:
        first = await fetcher.fetch(url)
        second = await fetcher.fetch(url, etag=first.etag)
    assert first.ok and first.body == b"<rss/>" and first.etag == '"v1"'
    assert second.ok and second.not_modified and second.body == b""


async def test_error_codes(server) -> None:
    missing = server.base + "/missing"
    broken = server.add("/broken", Route(b"oops", status=500))
    big = server.add("/big", Route(b"x" * 5000))

    def loop(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "/loop")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    looping = server.add("/loop", Route(handler=loop))
    async with Fetcher(allow_private=True, max_bytes=1000) as fetcher:
        codes = {
            name: (await fetcher.fetch(url)).error_code
            for name, url in [("404", missing), ("500", broken), ("big", big), ("loop", looping)]
        }
    assert codes == {
        "404": "http_4xx",
        "500": "http_5xx",
        "big": "too_large",
        "loop": "redirect_loop",
    }


async def test_trickling_body_times_out(server) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        try:
            for _ in range(100):
                handler.wfile.write(b"<")
                handler.wfile.flush()
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass

    url = server.add("/slow", Route(handler=trickle))
    started = time.monotonic()
    async with Fetcher(allow_private=True, total_timeout=1.5) as fetcher:
        result = await fetcher.fetch(url)
    assert result.error_code == "timeout"
    assert time.monotonic() - started < 5


async def test_answer_waiting_on_a_busy_client_is_not_a_timeout(server) -> None:
    """The total deadline counts the network, not time our own CPU kept the loop busy."""

    def prompt(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.3)  # answered well within the deadline, while the client is busy
        handler.send_response(200)
        handler.send_header("Content-Length", "6")
        handler.end_headers()
        handler.wfile.write(b"<rss/>")

    url = server.add("/prompt", Route(handler=prompt))
    async with Fetcher(allow_private=True, total_timeout=1.0) as fetcher:
        # a parse holding the loop for twice the deadline, as threads under the GIL did
        asyncio.get_running_loop().call_later(0.1, time.sleep, 2.0)
        result = await fetcher.fetch(url)
    assert result.ok and result.body == b"<rss/>"


async def test_private_addresses_are_refused_unless_allowed(server) -> None:
    url = server.add("/feed", Route(b"<rss/>"))
    async with Fetcher(allow_private=False) as fetcher:
        blocked = await fetcher.fetch(url)
        localhost = await fetcher.fetch(url.replace("127.0.0.1", "localhost"))
        metadata = await fetcher.fetch("http://169.254.169.254/latest/meta-data/")
    assert blocked.error_code == "blocked_address"
    assert localhost.error_code == "blocked_address"
    assert metadata.error_code == "blocked_address"
    assert server.routes["/feed"].hits == 0  # refused before any request left


def test_address_classification() -> None:
    assert not is_public_address("169.254.169.254")
    assert not is_public_address("::ffff:127.0.0.1")
    assert not is_public_address("10.1.2.3")
    assert is_public_address("93.184.216.34")


async def test_user_agent_is_descriptive(server) -> None:
    seen = {}

    def capture(handler: BaseHTTPRequestHandler) -> None:
        seen["ua"] = handler.headers.get("User-Agent")
        handler.send_response(200)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    url = server.add("/ua", Route(handler=capture))
    async with Fetcher(allow_private=True) as fetcher:
        await fetcher.fetch(url)
    assert seen["ua"] == USER_AGENT and "newsdesk/" in USER_AGENT


async def test_what_a_server_or_a_url_makes_the_client_raise_is_an_error_code(server) -> None:
    def redirect_to(location: str):
        def handler(h: BaseHTTPRequestHandler) -> None:
            h.send_response(302)
            h.send_header("Location", location)
            h.send_header("Content-Length", "0")
            h.end_headers()

        return handler

    bad_port = server.add("/to-port", Route(handler=redirect_to("http://127.0.0.1:99999/")))
    bad_host = server.add("/to-v6", Route(handler=redirect_to("http://[x/")))
    # the test server writes header values as Latin-1: the ETag arrives as a raw 0xE9 byte
    etagged = server.add("/etag", Route(b"<rss/>", headers={"ETag": '"caf\u00e9"'}))
    async with Fetcher(allow_private=True, total_timeout=5) as fetcher:
        port, host = await fetcher.fetch(bad_port), await fetcher.fetch(bad_host)
        nul = await fetcher.fetch(server.base + "/feed\x00")
        first = await fetcher.fetch(etagged)
        again = await fetcher.fetch(etagged, etag=first.etag, last_modified="l\u00e4st")
    assert (port.error_code, host.error_code, nul.error_code) == (
        "fetch_error", "bad_redirect", "invalid_url",
    )  # fmt: skip
    assert "port" in port.error_message
    # a validator that cannot be sent back is dropped: the poll downloads in full, no error
    assert first.etag is not None and not first.etag.isascii()
    assert again.ok and again.body == b"<rss/>"
