"""Operator commands: configuration and database."""

from __future__ import annotations

import typer

from newsdesk.cli.common import friendly_errors, out, settings_for
from newsdesk.runner.app import open_database

config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database: schema, backups.", no_args_is_help=True)


@config_app.command("show")
def config_show() -> None:
    """Print the effective configuration, secrets masked."""
    with friendly_errors():
        for key, value in settings_for().shown().items():
            out.print(f"{key}={value}", highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date."""
    with friendly_errors():
        settings = settings_for()
        db = open_database(settings, migrate=False)
        from newsdesk.store.migrate import current_revision, upgrade

        upgrade(
            db,
            progress=lambda rev, what: out.print(
                f"applying {rev}: {what}", highlight=False, soft_wrap=True
            ),
        )
        out.print(f"database {db.safe_url} is at revision {current_revision(db)}")
        db.close()
