"""Feed routes: RSS 2.0 at *.xml and JSON Feed 1.1 at *.json, with conditional GET.

Every answer carries an ETag (a hash of the body), Last-Modified (the newest entry) and
Cache-Control; a reader that sends either validator back for an unchanged feed gets 304.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from newsdesk.publish import feeds
from newsdesk.publish.reports import list_reports, report_html
from newsdesk.web.deps import database, settings
from newsdesk.web.openapi import FEED

router = APIRouter(tags=["feeds"], responses=FEED, default_response_class=Response)
CACHE_CONTROL = "public, max-age=300"
MEDIA = {"xml": "application/rss+xml; charset=utf-8", "json": "application/feed+json"}
Fmt = Literal["xml", "json"]


def base_url(request: Request) -> str:
    configured = settings(request).public_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def feed_response(
    request: Request, feed: feeds.Feed, fmt: str, cache_control: str = CACHE_CONTROL
) -> Response:
    base = base_url(request)
    body = feeds.to_rss(feed, base) if fmt == "xml" else feeds.to_json_feed(feed, base)
    etag = feeds.etag_for(body)
    modified = feed.updated.replace(microsecond=0) if feed.updated else None
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if modified is not None:  # an empty feed has no date: its ETag alone validates it
        headers["Last-Modified"] = format_datetime(modified, usegmt=True)
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA[fmt], headers=headers)


def _not_modified(request: Request, etag: str, modified: datetime | None) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        return etag in {tag.strip() for tag in match.split(",")} or match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since and modified is not None:
        try:
            return parsedate_to_datetime(since) >= modified
        except (TypeError, ValueError):
            return False
    return False


def _story(request: Request, spec: feeds.FeedSpec, fmt: str) -> Response:
    with database(request).read() as conn:
        feed = feeds.story_feed(conn, spec, base_url(request), settings(request).timezone)
    return feed_response(request, feed, fmt)


@router.get("/feed.{fmt}", summary="P1 and featured stories, one entry per event")
def featured(request: Request, fmt: Fmt) -> Response:
    return _story(request, feeds.featured_spec(), fmt)


@router.get("/feed/all.{fmt}", summary="Every public story, one entry per event")
def everything(request: Request, fmt: Fmt) -> Response:
    return _story(request, feeds.all_spec(), fmt)


@router.get("/feed/full.{fmt}", summary="Featured, with full text where the source allows it")
def full_text(request: Request, fmt: Fmt) -> Response:
    return _story(request, feeds.full_text_spec(), fmt)


@router.get("/feed/p1.{fmt}", summary="P1 stories only, one entry per event")
def p1_only(request: Request, fmt: Fmt) -> Response:
    return _story(request, feeds.p1_spec(), fmt)


@router.get("/feed/lang/{lang}.{fmt}", summary="Featured stories with titles in en or zh")
def by_language(request: Request, lang: Literal["en", "zh"], fmt: Fmt) -> Response:
    return _story(request, feeds.featured_spec(lang), fmt)


@router.get("/feed/tag/{tag:path}.{fmt}", summary="Public stories with one tag")
def by_tag(request: Request, tag: str, fmt: Fmt) -> Response:
    return _story(request, feeds.tag_spec(tag), fmt)


@router.get("/feed/{kind}.{fmt}", summary="Daily briefs, weekly or monthly reports")
def reports_feed(
    request: Request, kind: Literal["daily", "weekly", "monthly"], fmt: Fmt
) -> Response:
    base = base_url(request)
    with database(request).read() as conn:
        rows = list_reports(conn, kind, limit=30)
    return feed_response(request, feeds.report_feed(rows, kind, base, report_html), fmt)
