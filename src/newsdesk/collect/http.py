"""The one HTTP path every feed takes: polite, capped, and guarded against private targets.

Every failure ends as a `FetchResult` with a stable error code and a human message, never an
exception, so one bad source cannot stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from newsdesk import __version__

USER_AGENT = (
    f"newsdesk/{__version__} (+https://github.com/newsdesk-radar/newsdesk; AI-news radar; "
    "polls politely with conditional GET)"
)
REDIRECT_STATUSES = {301, 302, 303, 307, 308}


@dataclass
class FetchResult:
    url: str
    final_url: str = ""
    status: int | None = None
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] | None = None
    error_code: str | None = None
    error_message: str | None = None
    elapsed_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.error_code is None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def resolve(host: str, port: int) -> list[str]:
    """Every address a name resolves to (tests patch this to play a rebinding DNS server)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError("dns", f"cannot resolve {host}: {exc.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects to the same address, so a DNS answer that changes
    between the check and the connection (rebinding) cannot reach a private target."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        async with asyncio.timeout(timeout):
            addresses = await resolve(host, port)
        if not self.allow_private:
            for address in addresses:
                if not is_public_address(address):
                    raise FetchError(
                        "blocked_address",
                        f"{host} resolves to {address}, a private or local address "
                        "(set NEWSDESK_ALLOW_PRIVATE_URLS=true to allow)",
                    )
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise FetchError("invalid_url", "unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class LoopLag:
    """How late the event loop runs its timers: time an answer waited for our own CPU.

    A ticker sleeps a short interval and adds up how much later than asked it woke. Under a
    busy loop (or a process that gets no core) a deadline would otherwise expire for a feed
    whose answer had long arrived and was only waiting to be read."""

    TICK = 0.05

    def __init__(self) -> None:
        self._total = 0.0
        self._due: float | None = None  # when the ticker's current sleep should end
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def total(self) -> float:
        """Lag so far, including a tick that is overdue right now (the loop is catching up
        and has not run the ticker yet)."""
        if self._due is None:
            return self._total
        return self._total + max(0.0, asyncio.get_running_loop().time() - self._due)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._due = loop.time() + self.TICK
            await asyncio.sleep(self.TICK)
            self._total += max(0.0, loop.time() - self._due)
            self._due = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class NetworkDeadline:
    """A total deadline that counts network time only: it moves later by the loop's lag
    since it started, so a feed is never timed out for our own slowness."""

    def __init__(self, seconds: float, lag: LoopLag) -> None:
        self._loop = asyncio.get_running_loop()
        self._lag, self._lag_at_start = lag, lag.total()
        self._end = self._loop.time() + seconds

    def due(self) -> float:
        return self._end + (self._lag.total() - self._lag_at_start)

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Raise TimeoutError in the block once the deadline has passed."""
        async with asyncio.timeout(None) as timeout:
            handle: asyncio.TimerHandle | None = None

            def check() -> None:
                nonlocal handle
                due = self.due()
                if self._loop.time() >= due:
                    timeout.reschedule(self._loop.time())
                else:  # lag accrued meanwhile: look again at the moved deadline
                    handle = self._loop.call_at(due, check)

            handle = self._loop.call_at(self.due(), check)
            try:
                yield
            finally:
                handle.cancel()


class Fetcher:
    """Shared by all sources in a run: one connection pool, per-host limits."""

    def __init__(
        self,
        allow_private: bool = False,
        max_bytes: int = 10 * 1024 * 1024,
        total_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        max_redirects: int = 5,
        per_host: int = 2,
    ) -> None:
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects
        self._lag = LoopLag()
        self._host_limits: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_host)
        )
        transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
        )
        # httpx has no public hook for the network backend; the pool's is swapped so every
        # connection goes through the address guard (tests/integration/test_ssrf.py checks it)
        transport._pool._network_backend = GuardedBackend(allow_private)
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=False,  # followed by hand: every hop is checked and counted
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate, br"},
            trust_env=False,  # a proxy from the environment would bypass the address guard
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._lag.stop()
        await self._client.aclose()

    async def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        started = time.monotonic()
        self._lag.start()
        result = FetchResult(url=url)
        try:
            await self._fetch_into(result, etag, last_modified)
        except FetchError as exc:
            result.error_code, result.error_message = exc.code, exc.message
        except TimeoutError:
            result.error_code = "timeout"
            result.error_message = f"no complete answer within {self.total_timeout:.0f} s"
        except httpx.TimeoutException as exc:
            result.error_code, result.error_message = "timeout", f"timed out: {type(exc).__name__}"
        except httpx.ConnectError as exc:
            text = str(exc)
            code = "tls" if "SSL" in text or "certificate" in text.lower() else "connect"
            result.error_code, result.error_message = code, f"cannot connect: {text}"[:500]
        except httpx.RemoteProtocolError as exc:
            result.error_code, result.error_message = "protocol", f"broken HTTP answer: {exc}"
        except httpx.DecodingError as exc:
            result.error_code, result.error_message = "decoding", f"bad content encoding: {exc}"
        except httpx.HTTPError as exc:
            result.error_code, result.error_message = "http_error", f"{type(exc).__name__}: {exc}"
        except (httpx.InvalidURL, ValueError) as exc:  # UnicodeError is a ValueError too
            result.error_code, result.error_message = "invalid_url", f"unusable URL: {exc}"[:500]
        except Exception as exc:
            # The network boundary: whatever a URL or a server makes the client raise (an
            # ExceptionGroup for port 99999, say) is this source's error, never the pass's.
            detail = exc.exceptions[0] if isinstance(exc, ExceptionGroup) else exc
            result.error_code = "fetch_error"
            result.error_message = f"{type(detail).__name__}: {detail}"[:500]
        result.elapsed_ms = int((time.monotonic() - started) * 1000)
        return result

    async def _fetch_into(
        self, result: FetchResult, etag: str | None, last_modified: str | None
    ) -> None:
        url = result.url
        headers = {}
        visited: set[str] = set()
        # validators go back as the server sent them; one that is not ASCII cannot be sent
        # (a hostile ETag must not break every later poll): the poll then downloads in full
        if etag and etag.isascii():
            headers["If-None-Match"] = etag
        if last_modified and last_modified.isascii():
            headers["If-Modified-Since"] = last_modified
        # The total timeout starts once a host slot is ours: waiting behind the per-host
        # limit (other feeds of the same site) is not this feed being slow, and neither is
        # time the loop was busy elsewhere (NetworkDeadline).
        deadline: NetworkDeadline | None = None
        for _hop in range(self.max_redirects + 1):
            host = await self._check_target(url)
            async with self._host_limits[host]:
                if deadline is None:
                    deadline = NetworkDeadline(self.total_timeout, self._lag)
                async with deadline.guard():
                    following = await self._one_hop(result, url, headers)
            if following is None:
                return
            visited.add(url)
            url = following
            if url in visited:
                raise FetchError("redirect_loop", f"redirects back to {url}")
        raise FetchError("too_many_redirects", f"more than {self.max_redirects} redirects")

    async def _one_hop(self, result: FetchResult, url: str, headers: dict[str, str]) -> str | None:
        """One request into `result`; the next URL when the answer is a redirect."""
        async with self._client.stream("GET", url, headers=headers) as response:
            if response.status_code in REDIRECT_STATUSES:
                result.status = response.status_code  # health shows the 3xx if it goes wrong
                if not response.headers.get("location", "").strip():
                    raise FetchError(
                        "bad_redirect",
                        f"HTTP {response.status_code} from {url} without a Location header",
                    )
                try:
                    return urljoin(url, response.headers["location"].strip())
                except ValueError:  # "http://[x/" is no address
                    raise FetchError(
                        "bad_redirect",
                        f"HTTP {response.status_code} from {url} to an unreadable Location",
                    ) from None
            result.final_url = url
            result.status = response.status_code
            result.headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code == 304:
                return None
            if response.status_code == 429:
                wait = response.headers.get("retry-after", "?")
                raise FetchError("rate_limited", f"HTTP 429 from {url}, Retry-After {wait}")
            if response.status_code >= 400:
                family = "http_4xx" if response.status_code < 500 else "http_5xx"
                raise FetchError(family, f"HTTP {response.status_code} from {url}")
            result.body = await self._read_capped(response)
            result.etag = response.headers.get("etag")
            result.last_modified = response.headers.get("last-modified")
            return None

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError("too_large", f"body of {declared} bytes exceeds {self.max_bytes}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:  # counts decoded bytes, so gzip bombs stop here too
                raise FetchError("too_large", f"body exceeds {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _check_target(self, url: str) -> str:
        """Scheme and host; addresses are checked where the connection is made
        (GuardedBackend), after DNS, on every hop."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("invalid_url", f"not an http(s) URL: {url!r}")
        return parts.hostname
