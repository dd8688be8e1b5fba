"""Admin pages: sources, runs, usage and cost, budgets, the policy and the feedback inbox.
Editors and admins see them; only admins change sources, budgets and the policy. Every write
checks the CSRF token and records the account (desk_actions, policy history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsdesk.domain import SOURCE_GROUPS
from newsdesk.policy import load_policy
from newsdesk.policy.check import check_policy
from newsdesk.policy.loader import PolicyError, parse_policy
from newsdesk.publish import admin as views
from newsdesk.publish.admin_desk import source_tests
from newsdesk.publish.desk import source_health
from newsdesk.publish.pictures import (
    preview_shares,
    source_pictures,
    tier_shares,
    usage_per_day,
)
from newsdesk.store import policy as policy_store
from newsdesk.store import reader, users
from newsdesk.web.auth import EditorSession, check_csrf, require_admin, require_editor
from newsdesk.web.deps import database, desk_now, render, settings
from newsdesk.web.openapi import EDITOR_FORM

router = APIRouter(prefix="/admin", dependencies=[Depends(require_editor)], responses=EDITOR_FORM)
TIERS = ("T1", "T1_5", "T2", "T3")
WINDOWS = ("minute", "hour", "day")
SECTIONS = (
    ("sources", "Sources"),
    ("runs", "Runs"),
    ("usage", "Usage"),
    ("budgets", "Budgets"),
    ("policy", "Policy"),
    ("feedback", "Feedback"),
    ("flagged", "Flagged"),
    ("events", "Events"),
    ("users", "Accounts"),
)


def page(request: Request, name: str, section: str, **context: object) -> HTMLResponse:
    return render(
        request,
        f"admin/{name}.html",
        heading=f"Admin · {dict(SECTIONS)[section]}",
        active="admin",
        section=section,
        sections=SECTIONS,
        **context,
    )


@router.get("", include_in_schema=False)
def admin_home() -> Response:
    return RedirectResponse("/admin/sources", status_code=303)


@router.get("/sources", response_class=HTMLResponse)
def admin_sources(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        rows = source_health(conn)
        tests = source_tests(conn)
        pictures = source_pictures(conn, desk_now(request), settings(request).timezone)
    return page(request, "sources", "sources", sources=rows, tiers=TIERS, tests=tests,
                groups=SOURCE_GROUPS, pictures=pictures)  # fmt: skip


@router.post("/sources/{source_id}")
def admin_source_update(
    request: Request,
    source_id: str,
    editor: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
    enabled: str = Form(""),
    tier: str = Form(""),
) -> Response:
    check_csrf(request, editor, csrf)
    if tier and tier not in TIERS:
        raise HTTPException(400, f"tier must be one of {', '.join(TIERS)}")
    if enabled not in ("", "true", "false"):
        raise HTTPException(400, "enabled must be true or false")
    with database(request).read() as conn:
        if not any(s["id"] == source_id for s in source_health(conn)):
            raise HTTPException(404, "no such source")
    on = None if not enabled else enabled == "true"
    now = datetime.now(UTC)

    def write(c):  # type: ignore[no-untyped-def]
        reader.override_source(c, source_id, now, on, tier or None)
        users.record(c, editor.user_id, editor.name, "source", source_id, now,
                     {"enabled": on, "tier": tier or None})  # fmt: skip

    database(request).write_sync(write)
    return RedirectResponse("/admin/sources", status_code=303)


@router.get("/runs", response_class=HTMLResponse)
def admin_runs(request: Request) -> HTMLResponse:
    since = datetime.now(UTC) - timedelta(days=1)
    with database(request).read() as conn:
        runs = views.recent_runs(conn)
        failures = views.fetch_failures(conn, since)
        judge_failures = views.judge_failures(conn)
        # the stories' own days, on the desk's clock (the demo's: its snapshot's last 30 days)
        shares = tier_shares(conn, desk_now(request), settings(request).timezone)
    return page(request, "runs", "runs", runs=runs, failures=failures,
                judge_failures=judge_failures, shares=shares)  # fmt: skip


@router.get("/usage", response_class=HTMLResponse)
def admin_usage(request: Request) -> HTMLResponse:
    now, tz = datetime.now(UTC), settings(request).timezone
    with database(request).read() as conn:
        windows = views.usage_summary(conn, now, tz)
        per_day = usage_per_day(conn, now, tz)  # money is spent on the real clock
    return page(request, "usage", "usage", windows=windows, per_day=per_day)


@router.get("/budgets", response_class=HTMLResponse)
def admin_budgets(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        rows = views.budgets(conn)
        services = views.known_services(conn)
        pause = views.model_pause(conn)
    # Budgets are per service, the model endpoint's host; offer the configured one first.
    configured = urlsplit(settings(request).llm_base_url).netloc
    services = list(dict.fromkeys([s for s in (configured, *services) if s]))
    return page(request, "budgets", "budgets", budgets=rows, windows=WINDOWS, services=services,
                pause=pause)  # fmt: skip


def _limit(value: str, kind: type[int] | type[float]) -> int | float | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = kind(value)
    except ValueError:
        raise HTTPException(400, f"{value!r} is not a number") from None
    if number < 0:
        raise HTTPException(400, "limits cannot be negative")
    return number


@router.post("/budgets")
def admin_budget_set(
    request: Request,
    editor: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
    service: str = Form(...),
    window: str = Form(...),
    max_calls: str = Form(""),
    max_tokens: str = Form(""),
    max_cost: str = Form(""),
) -> Response:
    check_csrf(request, editor, csrf)
    service = service.strip()
    if not service or len(service) > 80:
        raise HTTPException(400, "service must be a name of 1 to 80 characters")
    if window not in WINDOWS:
        raise HTTPException(400, f"window must be one of {', '.join(WINDOWS)}")
    calls, tokens = _limit(max_calls, int), _limit(max_tokens, int)
    cost = _limit(max_cost, float)
    now = datetime.now(UTC)

    def write(c):  # type: ignore[no-untyped-def]
        reader.set_budget(c, service, window, calls, tokens, cost)  # type: ignore[arg-type]
        users.record(c, editor.user_id, editor.name, "budget", f"{service}/{window}", now,
                     {"max_calls": calls, "max_tokens": tokens, "max_cost": cost})  # fmt: skip

    database(request).write_sync(write)
    return RedirectResponse("/admin/budgets", status_code=303)


def _ensure_file_policy(request: Request) -> None:
    """The policy file the desk runs with is version 1 of a new desk's history, active until
    an editor activates another. Written once; later views only read."""
    with database(request).read() as conn:
        if policy_store.active_version(conn) is not None:
            return
    policy = load_policy(settings(request).policy_path)
    text = policy_text_of(policy.path)
    now = datetime.now(UTC)
    database(request).write_sync(lambda c: policy_store.seed(c, policy.version, text, now))


def policy_text_of(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


@router.get("/policy", response_class=HTMLResponse)
def admin_policy(
    request: Request, version: str | None = None, a: str | None = None, b: str | None = None
) -> HTMLResponse:
    _ensure_file_policy(request)
    with database(request).read() as conn:
        versions = policy_store.versions(conn)
        row = policy_store.find_version(conn, version) if version else None
        row = row or (None if version else policy_store.active_version(conn))
        diff = None
        if a and b:
            old, new = views.policy_text(conn, a), views.policy_text(conn, b)
            if old is None or new is None:
                raise HTTPException(404, "no such policy version")
            diff = views.policy_diff(old[1], new[1], a, b)
        activations = policy_store.activations(conn, 20)
        jobs = [j for j in policy_store.recent_jobs(conn, 20) if j.kind == "preview"]
    if row is None:
        raise HTTPException(404, "no such policy version")
    return page(
        request,
        "policy",
        "policy",
        versions=versions,
        row=row,
        version=row.version,
        text=row.text,
        diff=diff,
        a=a,
        b=b,
        activations=activations,
        jobs=[j for j in jobs if j.version == row.version][:3],
        shares=preview_shares(row.preview),
    )


@router.post("/policy")
def admin_policy_save(
    request: Request,
    editor: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
    text: str = Form(...),
) -> Response:
    check_csrf(request, editor, csrf)
    text = text.replace("\r\n", "\n")
    try:
        policy = parse_policy(text, "the edited policy")
    except PolicyError as exc:
        raise HTTPException(400, str(exc)) from None
    problems = check_policy(policy)
    if problems:
        raise HTTPException(400, "; ".join(problems))
    now = datetime.now(UTC)
    database(request).write_sync(
        lambda c: reader.add_policy_version(c, policy.version, text, now, editor.name)
    )
    with database(request).read() as conn:
        active = views.policy_text(conn)
    base = active[0] if active else policy.version
    return RedirectResponse(
        f"/admin/policy?version={policy.version}&a={base}&b={policy.version}", 303
    )


@router.post("/policy/{version}/preview")
def admin_policy_preview(
    request: Request,
    version: str,
    editor: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
    days: int = Form(14, ge=1, le=365),
) -> Response:
    """Ask the next pass to measure this version (pages never judge stories themselves)."""
    check_csrf(request, editor, csrf)
    row = _version(request, version)
    now = datetime.now(UTC)
    database(request).write_sync(
        lambda c: policy_store.queue_job(
            c, "preview", editor.name, now, row.version, {"days": days}
        )
    )
    return RedirectResponse(f"/admin/policy?version={row.version}", status_code=303)


@router.post("/policy/{version}/activate")
def admin_policy_activate(
    request: Request,
    version: str,
    editor: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
    confirm: str = Form(""),
) -> Response:
    check_csrf(request, editor, csrf)
    row = _version(request, version)
    preview = row.preview or None
    if preview and preview.get("needs_confirmation") and confirm.strip() != row.version:
        raise HTTPException(
            400,
            f"this version lowers gold F1 by {preview['f1_drop']:.3f}; type {row.version} in "
            "the confirmation field to activate it",
        )
    with database(request).read() as conn:
        active = policy_store.active_version(conn)
    diff = "\n".join(
        line
        for _, line in views.policy_diff(
            active.text if active else "",
            row.text,
            active.version if active else "none",
            row.version,
        )
    )
    answered = list((row.proposal or {}).get("answered", []))
    now = datetime.now(UTC)
    database(request).write_sync(
        lambda c: policy_store.activate(c, row.version, editor.name, now, diff, preview, answered)
    )
    return RedirectResponse(f"/admin/policy?version={row.version}", status_code=303)


def _version(request: Request, ref: str) -> Any:
    with database(request).read() as conn:
        row = policy_store.find_version(conn, ref)
    if row is None:
        raise HTTPException(404, "no such policy version")
    return row


@router.get("/feedback", response_class=HTMLResponse)
def admin_feedback(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        rows = views.feedback_inbox(conn)
        disputed = policy_store.contradictions(conn)
        jobs = [j for j in policy_store.recent_jobs(conn, 20) if j.kind == "propose"][:5]
    return page(request, "feedback", "feedback", rows=rows, disputed=disputed, jobs=jobs)


@router.post("/feedback/propose")
def admin_feedback_propose(
    request: Request,
    editor: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
    since_days: int = Form(30, ge=1, le=3650),
) -> Response:
    """Ask the next pass for a policy proposal from the votes (`newsdesk policy propose`)."""
    check_csrf(request, editor, csrf)
    now = datetime.now(UTC)
    database(request).write_sync(
        lambda c: policy_store.queue_job(
            c, "propose", editor.name, now, None, {"since_days": since_days}
        )
    )
    return RedirectResponse("/admin/feedback", status_code=303)
