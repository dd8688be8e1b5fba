"""One delivery through apprise, off the event loop and bounded in time."""

from __future__ import annotations

import asyncio

from newsdesk.notify.targets import Target

TIMEOUT_SECONDS = 20.0


def _send(target: Target, title: str, body: str) -> bool:
    import apprise  # here, not at the top: ~0.1 s of CPU for every command that never sends

    sender = apprise.Apprise()
    if not sender.add(target.url):
        raise ValueError("apprise does not understand this URL")
    return bool(sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.MARKDOWN))


async def deliver(target: Target, title: str, body: str) -> str | None:
    """None when delivered, else a short reason (never the URL)."""
    try:
        ok = await asyncio.wait_for(asyncio.to_thread(_send, target, title, body), TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer within {TIMEOUT_SECONDS:.0f} s"
    except Exception as exc:  # a broken target must never break the pipeline
        return f"{type(exc).__name__}: {exc}"[:200]
    return None if ok else "the service refused or could not be reached"
