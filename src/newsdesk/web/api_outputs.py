"""API v1 additions: search, sources, tags, and the daily/weekly/monthly reports."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from newsdesk.publish import lists
from newsdesk.publish.memo import memoized
from newsdesk.publish.read import PUBLIC_TIERS, BadRequest, api_items_json, list_cards
from newsdesk.publish.reports import api_report, get_report, latest_report, list_reports
from newsdesk.web.deps import MAX_KEPT_QUERY, database, settings
from newsdesk.web.openapi import BAD_REQUEST_JSON, CURSOR, DAY, NOT_FOUND_JSON

router = APIRouter(prefix="/api/v1")
Kind = Literal["daily", "weekly", "monthly"]
# Well-formed (else 422); a day the calendar lacks, such as 2025-02-30, is a 400.
Period = Annotated[
    str, Path(pattern=DAY, json_schema_extra={"format": "date"}, description="YYYY-MM-DD")
]
REPORT = {**BAD_REQUEST_JSON, **NOT_FOUND_JSON}


@router.get(
    "/search",
    summary="Search public stories by words and meaning, best match first",
    description="Hybrid by default: full-text matches and stories near the query in meaning "
    "(the bundled multilingual model: an English query finds Chinese stories and the reverse), "
    "fused by reciprocal rank. `mode` picks one side alone. An empty `items` list comes with a "
    "`message` saying nothing matched.",
    tags=["items"],
    responses=BAD_REQUEST_JSON,
)
def search(
    request: Request,
    q: Annotated[
        str,
        Query(min_length=1, max_length=300, description="words or a description of the story"),
    ],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Annotated[str | None, Query(**CURSOR)] = None,
    mode: Annotated[
        Literal["hybrid", "lexical", "semantic"],
        Query(description="hybrid (words and meaning fused), lexical or semantic"),
    ] = "hybrid",
) -> Response:
    tz = settings(request).timezone

    def read() -> bytes:
        page = list_cards(conn, tiers=PUBLIC_TIERS, q=q, limit=limit, cursor=cursor, tz=tz,
                          mode=mode)  # fmt: skip
        body = api_items_json(page.cards, page.next_cursor)
        if not page.cards and not cursor:
            message = json.dumps(f"No public stories match {q!r}.", ensure_ascii=False)
            body = body[:-1] + b',"message":' + message.encode() + b"}"
        return body

    try:
        with database(request).read() as conn:
            # the answer's bytes, kept until the database changes (publish/memo.py)
            body = read() if len(q) > MAX_KEPT_QUERY else memoized(
                conn, ("api search", q, limit, cursor, mode, tz), read
            )  # fmt: skip
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return Response(body, media_type="application/json")


@router.get("/sources", summary="Sources the desk follows", tags=["sources"])
def sources(request: Request) -> JSONResponse:
    with database(request).read() as conn:
        return JSONResponse({"sources": lists.sources(conn)})


@router.get("/tags", summary="Tags on public stories, most used first", tags=["items"])
def tags(request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 200) -> JSONResponse:
    with database(request).read() as conn:
        return JSONResponse({"tags": lists.tags(conn, limit)})


def _report(request: Request, kind: str, period: str | None) -> JSONResponse:
    if period is not None:
        try:
            date.fromisoformat(period)
        except ValueError:
            return JSONResponse({"error": "period must be YYYY-MM-DD"}, status_code=400)
    with database(request).read() as conn:
        report = latest_report(conn, kind) if period is None else get_report(conn, kind, period)
    if report is None:
        return JSONResponse({"error": f"no {kind} report for that period"}, status_code=404)
    return JSONResponse(api_report(report))


@router.get("/reports/{kind}", summary="Periods that have a stored report", tags=["reports"])
def report_index(request: Request, kind: Kind) -> JSONResponse:
    with database(request).read() as conn:
        rows = list_reports(conn, kind)
    return JSONResponse({"reports": [{"period": r["period"], "title": r["title"]} for r in rows]})


@router.get("/daily", summary="The latest daily brief", tags=["reports"], responses=NOT_FOUND_JSON)
def daily_latest(request: Request) -> JSONResponse:
    return _report(request, "daily", None)


@router.get(
    "/daily/{period}", summary="The daily brief of a day", tags=["reports"], responses=REPORT
)
def daily(request: Request, period: Period) -> JSONResponse:
    return _report(request, "daily", period)


@router.get(
    "/weekly", summary="The latest weekly report", tags=["reports"], responses=NOT_FOUND_JSON
)
def weekly_latest(request: Request) -> JSONResponse:
    return _report(request, "weekly", None)


@router.get(
    "/weekly/{period}",
    summary="A weekly report (period: its Monday)",
    tags=["reports"],
    responses=REPORT,
)
def weekly(request: Request, period: Period) -> JSONResponse:
    return _report(request, "weekly", period)


@router.get(
    "/monthly", summary="The latest monthly report", tags=["reports"], responses=NOT_FOUND_JSON
)
def monthly_latest(request: Request) -> JSONResponse:
    return _report(request, "monthly", None)


@router.get(
    "/monthly/{period}",
    summary="A monthly report (period: its 1st)",
    tags=["reports"],
    responses=REPORT,
)
def monthly(request: Request, period: Period) -> JSONResponse:
    return _report(request, "monthly", period)
