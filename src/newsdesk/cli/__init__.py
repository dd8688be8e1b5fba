"""The `newsdesk` command: one Typer app; each domain adds its commands from its own module."""

from __future__ import annotations

import sys

import typer

from newsdesk.cli import (
    admin,
    alerts,
    backup,
    editor,
    embed,
    events,
    outputs,
    pipeline,
    queue,
    reports,
    sources,
    users,
)

app = typer.Typer(
    help="newsdesk: a self-hosted AI-news radar with an editor inside.",
    no_args_is_help=True,
    add_completion=False,
)
app.registered_commands += pipeline.app.registered_commands
app.registered_commands += reports.app.registered_commands
app.registered_commands += outputs.app.registered_commands
app.registered_commands += queue.app.registered_commands
app.add_typer(admin.config_app, name="config")
admin.db_app.registered_commands += backup.app.registered_commands  # db backup, db restore
app.add_typer(admin.db_app, name="db")
app.add_typer(queue.queue_app, name="queue")
app.add_typer(sources.app, name="sources")
app.add_typer(users.app, name="users")
app.add_typer(alerts.app, name="alerts")
# `newsdesk eval` holds every evaluation: selection (editor) and grouping (events).
editor.eval_app.registered_commands += events.eval_app.registered_commands
editor.eval_app.registered_commands += embed.eval_app.registered_commands
editor.register(app)
app.add_typer(events.events_app, name="events")
app.add_typer(embed.embed_app, name="embed")
app.add_typer(outputs.notify_app, name="notify")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
