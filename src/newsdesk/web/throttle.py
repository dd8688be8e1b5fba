"""Who is knocking, and whether they may try a secret now (see store/throttle.py).

The client address is the socket's peer. `X-Forwarded-For` is believed only when that peer is
one of NEWSDESK_TRUSTED_PROXIES, and then only up to the first hop that is not a trusted proxy
(the rightmost hops are the ones our proxies wrote; the leftmost is whatever the client said).
IPv6 clients count per /64, since one host usually holds a whole /64.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import UTC, datetime
from functools import lru_cache

from fastapi import Request

from newsdesk.config import Settings
from newsdesk.store import throttle
from newsdesk.web.deps import database, settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted(spec: str) -> tuple[Network, ...]:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    return tuple(ipaddress.ip_network(p, strict=False) for p in parts)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_address(peer: str | None, forwarded_for: str | None, trusted_spec: str) -> str:
    """The address a throttle or a rate limit should count, as a key."""
    address = _parse(peer or "")
    if address is None:
        return peer or "unknown"
    trusted = _trusted(trusted_spec)
    if not trusted or not forwarded_for or not any(address in net for net in trusted):
        return _key(address)
    for hop in reversed(forwarded_for.split(",")):
        parsed = _parse(hop)
        if parsed is None:  # garbage in a header we were told to trust: stop at the proxy
            return _key(address)
        if not any(parsed in net for net in trusted):
            return _key(parsed)
        address = parsed
    return _key(address)


def request_address(request: Request) -> str:
    peer = request.client.host if request.client else None
    spec = settings(request).trusted_proxies
    return client_address(peer, request.headers.get("x-forwarded-for"), spec)


def rules(config: Settings) -> throttle.Rules:
    return throttle.Rules(
        lock_after=config.signin_lock_after, lock_seconds=config.signin_lock_minutes * 60
    )


def attempt_keys(request: Request, account: str | None) -> list[throttle.Key]:
    """The rows an attempt counts against: its client address, and the account it names
    (None when the secret names no account, as a bearer token does)."""
    return throttle.keys(account, request_address(request))


def try_now(request: Request, keys: list[throttle.Key]) -> float:
    """0 when the attempt may check its secret now, else the seconds to wait."""
    limits, now = rules(settings(request)), datetime.now(UTC)
    return database(request).write_sync(lambda c: throttle.admit(c, keys, now, limits))


async def try_now_async(request: Request, keys: list[throttle.Key]) -> float:
    limits, now = rules(settings(request)), datetime.now(UTC)
    return await database(request).write(lambda c: throttle.admit(c, keys, now, limits))


def passed(request: Request, keys: list[throttle.Key]) -> None:
    database(request).write_sync(lambda c: throttle.succeeded(c, keys))


async def passed_async(request: Request, keys: list[throttle.Key]) -> None:
    await database(request).write(lambda c: throttle.succeeded(c, keys))


def retry_after(wait: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(wait)))}


def wait_words(wait: float) -> str:
    seconds = max(1, math.ceil(wait))
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
