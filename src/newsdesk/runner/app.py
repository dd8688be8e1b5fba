"""Wiring shared by the CLI commands: settings → database → policy → catalog."""

from __future__ import annotations

from pathlib import Path

from newsdesk.config import Settings
from newsdesk.domain import Source
from newsdesk.policy import Policy, load_policy
from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade


def open_database(settings: Settings, migrate: bool = True) -> Database:
    """Connect (one clear error when unreachable) and bring the schema up to date."""
    db = Database(settings.effective_database_url)
    db.check()
    if migrate:
        upgrade(db)
    return db


def policy_for(settings: Settings) -> Policy:
    return load_policy(settings.policy_path)


# The checkout newsdesk runs from (src layout): where the shipped catalogs/ lives.
CHECKOUT = Path(__file__).resolve().parents[3]


def catalog_path(configured: Path) -> Path:
    """A relative catalog path is read from the working directory when it is there, else from
    the checkout, so `newsdesk run` works from any directory with the shipped catalog."""
    if configured.is_absolute() or configured.exists():
        return configured
    shipped = CHECKOUT / configured
    return shipped if shipped.exists() else configured


def catalog_for(settings: Settings, demo_base: str | None) -> list[Source]:
    if demo_base is not None:
        return load_catalog(DEMO_CATALOG, demo_base=demo_base)
    return load_catalog(
        catalog_path(Path(settings.catalog)),
        rsshub_base=settings.rsshub_base,
        wewe_base=settings.wewe_rss_base,
    )
