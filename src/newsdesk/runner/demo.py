"""Serve the bundled demo feeds over real HTTP on 127.0.0.1, so the demo takes the live path.

The fetcher, conditional GET, parsing and everything after it run exactly as for a remote feed;
only the address is local (which is why demo mode allows private addresses).
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from newsdesk.sources.catalog import DEMO_FEEDS


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {".xml": "application/xml", ".json": "application/feed+json"}  # noqa: RUF012

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the desk's own output is what the user reads


class DemoFeedServer:
    """`with DemoFeedServer() as base:` gives `http://127.0.0.1:PORT` serving the demo feeds."""

    def __init__(self, directory: Path = DEMO_FEEDS) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> str:
        self._thread.start()
        return self.base_url

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
