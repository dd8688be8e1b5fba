"""`newsdesk alerts preview USER`: what a person's alerts would send now."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from newsdesk.cli.common import friendly_errors, out, settings_for
from newsdesk.runner import alerts
from newsdesk.runner.app import open_database
from newsdesk.store import users

app = typer.Typer(help="Each person's alerts on what they follow.", no_args_is_help=True)


@app.command("preview")
def preview(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list of the messages.")] = False,
) -> None:
    """Print the alerts and digests that would be sent to NAME now (not yet sent), without
    sending anything."""
    with friendly_errors():
        settings = settings_for()
        db = open_database(settings)
        try:
            with db.read() as conn:
                user = users.require(conn, name)
                found = alerts.preview(conn, settings, user.id, datetime.now(UTC))
        finally:
            db.close()
        if as_json:
            rows = [
                {"kind": d.message.kind, "ref": d.message.ref, "title": d.message.title,
                 "body": d.message.body, "stories": d.message.stories,
                 "targets": [t.label for t in d.targets]}
                for d in found
            ]  # fmt: skip
            out.print_json(json.dumps(rows))
            return
        if not found:
            out.print(f"nothing to send to {name} now", highlight=False)
            return
        for d in found:
            targets = ", ".join(t.label for t in d.targets)
            out.print(f"── {d.message.kind} {d.message.ref} → {targets}", highlight=False)
            out.print(d.message.title, highlight=False, markup=False)
            out.print(d.message.body, highlight=False, markup=False)
