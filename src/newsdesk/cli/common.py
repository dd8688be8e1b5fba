"""What every command module shares: consoles, one-line user errors, settings."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import DBAPIError

from newsdesk.config import ConfigError, Settings, load_settings
from newsdesk.policy.loader import PolicyError
from newsdesk.sources.catalog import CatalogError
from newsdesk.store.db import DatabaseError, StorageFailure, storage_failure
from newsdesk.store.users import UserError as AccountError

out = Console()
err = Console(stderr=True)
USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError, DatabaseError, PolicyError, CatalogError, AccountError,
)  # fmt: skip

DemoOption = Annotated[
    bool, typer.Option("--demo", help="Use the bundled demo sources, served locally; no network.")
]


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


def say_error(message: str) -> None:
    # the message may quote a server or a file ("[/]" in a URL): text, never markup
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn every problem the user can fix into one line on stderr and exit code 2; a
    database that fails under a running command (full disk, server gone) is one line too,
    with exit code 1."""
    try:
        yield
    except StorageFailure as exc:
        say_error(str(exc))
        raise typer.Exit(1) from None
    except (*USER_ERRORS, UserError) as exc:
        say_error(str(exc))
        raise typer.Exit(2) from None
    except DBAPIError as exc:  # met outside `Database` (migrations run on the engine itself)
        failure = storage_failure(exc, "")
        if failure is None:
            raise
        say_error(str(failure))
        raise typer.Exit(1) from None


def settings_for(demo: bool = False) -> Settings:
    # The demo feeds are served from 127.0.0.1, which the address guard would refuse; the
    # demo's pages read the snapshot on its own clock (config.DEMO_AS_OF).
    return load_settings(**({"allow_private_urls": True, "demo": True} if demo else {}))


def gold_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """A gold file's cases, one JSON object a line (blank lines skipped), with their line
    numbers: a missing file or a line that is not an object is a UserError naming the line."""
    if not path.is_file():
        raise UserError(f"gold file {path} does not exist")
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(case, dict):
            raise UserError(f"{path}:{n}: not a JSON object")
        yield n, case
