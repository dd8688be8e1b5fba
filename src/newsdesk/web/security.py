"""Response headers that keep a page inert even if hostile markup ever got past the sanitiser
and the template's escaping: a Content-Security-Policy that allows only the desk's own scripts,
styles, images and forms, plus the usual anti-framing and no-sniffing headers.

The one inline script (base.html's pre-paint theme/language switch) is allowed by its hash,
computed from the template at start-up, so cached pages need no per-request nonce."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

INLINE_SCRIPT = re.compile(r"<script\{% if csp_nonce %\}.*?\{% endif %\}>(.*?)</script>", re.DOTALL)


def inline_script_hashes(base_template: Path) -> list[str]:
    text = base_template.read_text(encoding="utf-8")
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(text)
    ]


def policy(script_hashes: list[str], media: Sequence[str] = (), images: Sequence[str] = ()) -> str:
    """The desk's policy; `media` and `images` are origins one page may also load from (an
    episode's audio file and cover), never a script's."""
    extra_media = "".join(f" {o}" for o in media if _ORIGIN.fullmatch(o))
    extra_images = "".join(f" {o}" for o in images if _ORIGIN.fullmatch(o))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(script_hashes),
            "style-src 'self'",
            "img-src 'self' data:" + extra_images,
            *([f"media-src 'self'{extra_media}"] if extra_media else []),
            "connect-src 'self'",
            "object-src 'none'",
            "frame-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


# an origin a policy may name: scheme, host name, optional port; nothing that could end a
# directive (";", spaces, quotes) can pass
_ORIGIN = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::\d{1,5})?")
BASE_TEMPLATE = Path(__file__).with_name("templates") / "base.html"


@cache
def _script_hashes() -> tuple[str, ...]:
    return tuple(inline_script_hashes(BASE_TEMPLATE))


def policy_allowing(media: Sequence[str], images: Sequence[str]) -> str:
    """The policy of a page that plays an episode: the desk's, plus the file's origin."""
    return policy(list(_script_hashes()), media, images)


class SecurityHeaders:
    """ASGI middleware adding the headers to every HTTP response."""

    def __init__(self, app: Any, base_template: Path) -> None:
        self.app = app
        csp = policy(inline_script_hashes(base_template))
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
