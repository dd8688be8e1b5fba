"""Report pages: /daily, /weekly, /monthly archives, one report, and its Markdown."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from newsdesk.publish.reports import get_report, list_reports
from newsdesk.web.deps import database, render, settings
from newsdesk.web.openapi import MARKDOWN_PAGE, NOT_FOUND_HTML, MarkdownResponse

router = APIRouter(tags=["reports"])
Kind = Literal["daily", "weekly", "monthly"]
HEADINGS = {"daily": "Daily brief", "weekly": "Weekly report", "monthly": "Monthly report"}


def archive(request: Request, kind: Kind) -> HTMLResponse:
    with database(request).read() as conn:
        reports = list_reports(conn, kind)
    s = settings(request)
    return render(
        request, "reports.html", heading=HEADINGS[kind], kind=kind, reports=reports,
        daily_hour=s.daily_hour, timezone=s.timezone, active=kind,
    )  # fmt: skip


def report_markdown(request: Request, kind: Kind, period: str) -> Response:
    with database(request).read() as conn:
        report = get_report(conn, kind, period)
    if report is None:
        return PlainTextResponse("no such report\n", status_code=404)
    return PlainTextResponse(report["markdown"], media_type="text/markdown; charset=utf-8")


def report_page(request: Request, kind: Kind, period: str) -> HTMLResponse:
    with database(request).read() as conn:
        report = get_report(conn, kind, period)
    if report is None:
        return render(request, "error.html", 404, message="No such report.")
    return render(request, "report.html", heading=report["title"], kind=kind, report=report)


def _routes(kind: Kind) -> None:
    # Literal paths per kind (not "/{kind}"), so these routes never shadow other pages.
    def _archive(request: Request) -> HTMLResponse:
        return archive(request, kind)

    def _markdown(request: Request, period: str) -> Response:
        return report_markdown(request, kind, period)

    def _page(request: Request, period: str) -> HTMLResponse:
        return report_page(request, kind, period)

    label = HEADINGS[kind]
    router.add_api_route(f"/{kind}", _archive, response_class=HTMLResponse, summary=f"{label}s")
    router.add_api_route(
        f"/{kind}/{{period}}.md",
        _markdown,
        response_class=MarkdownResponse,
        summary=f"{label} as Markdown",
        responses=MARKDOWN_PAGE,
    )
    router.add_api_route(
        f"/{kind}/{{period}}",
        _page,
        response_class=HTMLResponse,
        summary=f"One {label.lower()}",
        responses=NOT_FOUND_HTML,
    )


for _kind in ("daily", "weekly", "monthly"):
    _routes(_kind)  # type: ignore[arg-type]
