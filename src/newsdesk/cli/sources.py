"""`newsdesk sources …`: follow, test, import, export and retire sources."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from newsdesk.cli.common import UserError, friendly_errors, out, settings_for
from newsdesk.domain import SOURCE_GROUPS, SOURCE_KINDS, Source, SourceTier, feed_url_key
from newsdesk.publish.sources import source_health
from newsdesk.runner.app import open_database
from newsdesk.sources.catalog import load_catalog
from newsdesk.sources.opml import OpmlError, parse_opml, slug, to_opml
from newsdesk.store import repo
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from newsdesk.runner.probe import Probe

app = typer.Typer(help="Manage the sources the desk follows.", no_args_is_help=True)

KindOption = Annotated[
    str | None, typer.Option("--kind", help=f"One of {', '.join(SOURCE_KINDS)} (default rss).")
]


def _age(iso: str | None, now: datetime) -> str:
    if not iso:
        return "never"
    seconds = (now - datetime.fromisoformat(iso)).total_seconds()
    if seconds < 0:
        minutes = int(-seconds // 60)
        return f"in {minutes // 60}h{minutes % 60:02d}" if minutes >= 60 else f"in {minutes}m"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    return f"{int(seconds // 86400)}d ago"


def _db() -> Database:
    return open_database(settings_for())


@app.command("list")
def list_sources(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per source and line, with health.")
    ] = False,
    all_: Annotated[bool, typer.Option("--all", help="Include removed sources.")] = False,
) -> None:
    """Every source with its health: last fetch, failures, last error, items, next poll."""
    with friendly_errors():
        db = _db()
        try:
            with db.read() as conn:
                rows = source_health(conn, include_removed=all_)
        finally:
            db.close()
        if as_json:
            for row in rows:
                print(json.dumps(row, ensure_ascii=False))
            return
        now = datetime.now(UTC)
        table = Table(header_style="bold", title=f"{len(rows)} sources", box=box.SIMPLE_HEAD)
        # a narrow terminal (or a pipe: 80 columns) drops the columns `--json` still has,
        # rather than breaking ids and ages across lines
        wide = out.width >= 110
        columns = ["id", "kind", "tier", "status", "last fetch", "last ok", "fails", "error",
                   "7d", "next poll"]  # fmt: skip
        shown = [c for c in columns if wide or c not in ("kind", "tier", "last fetch")]
        for column in shown:
            table.add_column(column, no_wrap=column != "error", overflow="fold")
        for r in rows:
            status = r["status"] if r["enabled"] else f"{r['status']} (off)"
            colour = {"failing": "red", "error": "yellow", "ok": "green"}.get(r["status"], "")
            cells = {
                "id": r["id"], "kind": r["kind"], "tier": r["tier"],
                "status": f"[{colour}]{status}[/]" if colour else status,
                "last fetch": _age(r["last_fetch_at"], now),
                "last ok": _age(r["last_success_at"], now),
                "fails": str(r["consecutive_failures"]), "error": r["last_error_code"] or "",
                "7d": str(r["items_7d"]),
                "next poll": _age(r["next_poll_at"], now) if r["enabled"] else "-",
            }  # fmt: skip
            table.add_row(*(cells[c] for c in shown))
        out.print(table)
        # the table has room for codes only; what went wrong, in full, for each failing source
        for r in rows:
            if r["last_error_code"] and r["consecutive_failures"]:
                # messages carry server-chosen text (URLs, headers): never read as markup
                out.print(f"[bold]{escape(r['id'])}[/]: {r['last_error_code']}: "
                          f"{escape(r['last_error_message'] or '')}", highlight=False)  # fmt: skip


def _print_probe(found: Probe) -> None:
    if found.discovered_from:
        out.print(f"found feed {escape(found.url)} on {escape(found.discovered_from)}",
                  highlight=False)  # fmt: skip
    if not found.ok:
        return
    title = f" · {escape(found.title)}" if found.title else ""  # a feed's words, not markup
    out.print(f"[green]ok[/] {found.kind}{title}: {len(found.entries)} entries "
              f"in {found.elapsed_ms} ms", highlight=False)  # fmt: skip
    for entry in found.entries[:5]:
        when = entry.published.strftime("%Y-%m-%d %H:%M") if entry.published else "undated"
        out.print(f"  {when}  {escape(entry.title) or '(untitled)'}", highlight=False,
                  soft_wrap=True)  # fmt: skip
        if entry.link:
            out.print(f"                    {escape(entry.link)}", highlight=False,
                      soft_wrap=True)  # fmt: skip


def _probe_source(url_or_id: str, kind: str | None) -> Source:
    """An existing source by id (its kind and selectors), else a URL as the given kind."""
    if not url_or_id.startswith(("http://", "https://")):
        db = _db()
        try:
            with db.read() as conn:
                rows = [r for r in repo.list_source_rows(conn) if r.id == url_or_id]
        finally:
            db.close()
        if not rows:
            raise UserError(f"{url_or_id!r} is neither an http(s) URL nor a known source id")
        return repo.source_from_row(rows[0])
    return Source(id="probe", name="probe", url=url_or_id, kind=kind or "rss")


@app.command("test")
def test_source(
    url: Annotated[str, typer.Argument(help="A feed or site URL, or the id of a source.")],
    kind: KindOption = None,
) -> None:
    """Fetch and parse once; show the first 5 entries or the error. Stores nothing."""
    from newsdesk.runner.probe import probe  # the fetch path: httpx, feedparser

    with friendly_errors():
        settings = settings_for()
        source = _probe_source(url, kind)
        if source.kind == "push":
            raise UserError("push sources are not fetched; they receive POST /api/ingest")
        found = asyncio.run(probe(source, settings.allow_private_urls))
        _print_probe(found)
        if not found.ok:
            raise UserError(f"{found.error_code}: {found.error_message}")


@app.command("add")
def add(
    url: Annotated[
        str,
        typer.Argument(
            help="Feed URL, a site URL whose feed is found, x:@HANDLE, x:list:ID or "
            "wechat:NAME (through RSSHub, NEWSDESK_RSSHUB_BASE, or wewe-rss)."
        ),
    ],
    kind: KindOption = None,
    tier: Annotated[
        str | None, typer.Option("--tier", help="T1, T1_5, T2 or T3 (x:, wechat:: T3).")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option("--group", help=", ".join(SOURCE_GROUPS) + " (x:, wechat:: social)"),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    source_id: Annotated[str | None, typer.Option("--id", help="Source id (a slug).")] = None,
    language: Annotated[str | None, typer.Option("--language", help="en, zh, …")] = None,
) -> None:
    """Follow a new source. A site URL is searched for <link rel=alternate> feeds; x:@HANDLE
    and wechat:NAME follow an account through RSSHub as a community signal (T3)."""
    from newsdesk.runner.probe import probe
    from newsdesk.sources.presets import PresetError, expand_preset, shorthand

    with friendly_errors():
        settings = settings_for()
        preset = shorthand(url)
        options: dict[str, object] = {}
        if preset is not None:
            try:
                entry = expand_preset(preset, settings.rsshub_base, settings.wewe_rss_base)
            except PresetError as exc:
                raise UserError(str(exc)) from None
            url, options = entry["url"], entry["options"]
            tier, group = tier or entry["tier"], group or entry["group"]
            language, name = language or entry.get("language", "en"), name or entry["name"]
        tier, group, language = tier or "T2", group or "media", language or "en"
        kind = kind or "rss"
        if kind not in SOURCE_KINDS:
            raise UserError(f"--kind {kind!r} is not one of {', '.join(SOURCE_KINDS)}")
        if kind in ("web_list", "json_api"):
            raise UserError(f"a {kind} source needs selectors: add it to a catalog file and "
                            "run `newsdesk sources import FILE`")  # fmt: skip
        if tier not in {t.value for t in SourceTier}:
            raise UserError(f"--tier {tier!r} is not one of T1, T1_5, T2, T3")
        if group not in SOURCE_GROUPS:
            raise UserError(f"--group {group!r} is not one of {', '.join(SOURCE_GROUPS)}")
        if not url.startswith(("http://", "https://")):
            raise UserError(f"{url!r} is not an http(s) URL, x:@HANDLE or wechat:NAME")
        feed_url, title = url, ""
        if kind == "rss":
            found = asyncio.run(probe(Source("probe", "probe", url), settings.allow_private_urls))
            _print_probe(found)
            if not found.ok:
                raise UserError(f"cannot follow {url}: {found.error_code}: {found.error_message}")
            feed_url, title = found.url, found.title
        display = name or title or url
        new_id = source_id or slug(display)
        source = Source(
            id=new_id, name=display, url=feed_url, kind=kind, group=group, language=language,
            tier=SourceTier(tier), options=options,
        )  # fmt: skip
        db = _db()
        try:
            with db.read() as conn:
                existing = source_store.known_urls(conn)
            followed_as = existing.get(feed_url_key(feed_url))
            if followed_as is not None and followed_as != new_id:
                raise UserError(f"{feed_url} is already followed as {followed_as!r}")
            now = datetime.now(UTC)
            db.write_sync(lambda c: source_store.import_sources(c, [source], now))
            token = ""
            if kind == "push":
                token = secrets.token_urlsafe(32)
                db.write_sync(lambda c: source_store.set_token(c, new_id, token))
        finally:
            db.close()
        out.print(f"[green]added[/] {escape(new_id)} ({kind}, {tier}, {group}): {escape(feed_url)}",
                  highlight=False)  # fmt: skip
        if token:
            out.print("push token (shown once, stored hashed): ", end="")
            print(token)
            out.print("send: curl -H 'Authorization: Bearer TOKEN' -H 'Content-Type: "
                      "application/json' -d '{\"items\": [{\"title\": …, \"url\": …}]}' "
                      "http://HOST/api/ingest", highlight=False, soft_wrap=True)  # fmt: skip


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="A catalog (.toml) or an OPML file.")],
) -> None:
    """Add or refresh sources from a catalog TOML or an OPML subscription list."""
    with friendly_errors():
        settings = settings_for()
        if path.suffix.lower() == ".toml":
            sources = load_catalog(
                path, rsshub_base=settings.rsshub_base, wewe_base=settings.wewe_rss_base
            )
        else:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise UserError(f"cannot read {path}: {exc.strerror}") from None
            try:
                sources = parse_opml(data)
            except OpmlError as exc:
                raise UserError(f"{path}: {exc}") from None
        is_catalog = path.suffix.lower() == ".toml"

        def store(conn: Connection) -> tuple[int, int]:
            # a catalog's ids are its own; an OPML file's are made up, so it goes by URL
            if is_catalog:
                return source_store.import_sources(conn, sources, datetime.now(UTC))
            return source_store.import_opml(conn, sources, datetime.now(UTC))

        db = _db()
        try:
            added, known = db.write_sync(store)
        finally:
            db.close()
        known_as = "updated" if is_catalog else "already followed (left as they are)"
        out.print(f"imported {escape(str(path))}: {added} added, {known} {known_as}",
                  highlight=False)  # fmt: skip


@app.command("export")
def export(
    opml: Annotated[bool, typer.Option("--opml", help="OPML 2.0 (the only format).")] = True,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")
    ] = None,
) -> None:
    """Write the followed sources as OPML, for any feed reader."""
    with friendly_errors():
        if not opml:
            raise UserError("OPML is the only export format; drop --no-opml")
        db = _db()
        try:
            with db.read() as conn:
                rows = [r for r in repo.list_source_rows(conn) if r.status != "removed"]
        finally:
            db.close()
        text = to_opml([repo.source_from_row(r) for r in rows])
        if output:
            output.write_text(text, encoding="utf-8")
            out.print(f"wrote {len(rows)} sources to {output}", highlight=False)
        else:
            print(text, end="")


def _switch(source_id: str, action: str) -> None:
    db = _db()
    try:
        if action == "remove":
            done = db.write_sync(lambda c: source_store.remove_source(c, source_id))
        else:
            done = db.write_sync(
                lambda c: source_store.set_enabled(c, source_id, action == "enable")
            )
    finally:
        db.close()
    if not done:
        raise UserError(f"no source {source_id!r} (see `newsdesk sources list`)")
    out.print(f"{source_id}: {action}d", highlight=False)


@app.command("enable")
def enable(source_id: Annotated[str, typer.Argument(help="Source id.")]) -> None:
    """Poll this source again."""
    with friendly_errors():
        _switch(source_id, "enable")


@app.command("disable")
def disable(source_id: Annotated[str, typer.Argument(help="Source id.")]) -> None:
    """Stop polling this source; its stories stay."""
    with friendly_errors():
        _switch(source_id, "disable")


@app.command("remove")
def remove(source_id: Annotated[str, typer.Argument(help="Source id.")]) -> None:
    """Stop following this source; its stories stay and the catalog does not bring it back."""
    with friendly_errors():
        _switch(source_id, "remove")
