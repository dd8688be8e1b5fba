"""Admin pages for signed-in editors: sources, runs, usage and cost, budgets, the policy and
the feedback inbox. Every route checks the session; every write checks the CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsdesk.domain import SOURCE_GROUPS
from newsdesk.policy import load_policy
from newsdesk.policy.loader import PolicyError, parse_policy
from newsdesk.publish import admin as views
from newsdesk.publish.admin_desk import source_tests
from newsdesk.publish.desk import source_health
from newsdesk.store import reader
from newsdesk.web.auth import EditorSession, check_csrf, require_editor
from newsdesk.web.deps import database, render, settings

router = APIRouter(prefix="/admin", dependencies=[Depends(require_editor)])
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
)


def page(request: Request, name: str, section: str, **context: object) -> HTMLResponse:
    return render(
        request, f"admin/{name}.html", heading=f"Admin · {dict(SECTIONS)[section]}",
        active="admin", section=section, sections=SECTIONS, **context,
    )  # fmt: skip


@router.get("", include_in_schema=False)
def admin_home() -> Response:
    return RedirectResponse("/admin/sources", status_code=303)


@router.get("/sources", response_class=HTMLResponse)
def admin_sources(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        rows = source_health(conn)
        tests = source_tests(conn)
    return page(
        request, "sources", "sources", sources=rows, tiers=TIERS, tests=tests, groups=SOURCE_GROUPS
    )


@router.post("/sources/{source_id}")
def admin_source_update(
    request: Request,
    source_id: str,
    editor: EditorSession = Depends(require_editor),
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
    database(request).write_sync(
        lambda c: reader.override_source(c, source_id, now, on, tier or None)
    )
    return RedirectResponse("/admin/sources", status_code=303)


@router.get("/runs", response_class=HTMLResponse)
def admin_runs(request: Request) -> HTMLResponse:
    since = datetime.now(UTC) - timedelta(days=1)
    with database(request).read() as conn:
        runs = views.recent_runs(conn)
        failures = views.fetch_failures(conn, since)
        judge_failures = views.judge_failures(conn)
    return page(
        request, "runs", "runs", runs=runs, failures=failures, judge_failures=judge_failures
    )


@router.get("/usage", response_class=HTMLResponse)
def admin_usage(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        windows = views.usage_summary(conn, datetime.now(UTC), settings(request).timezone)
    return page(request, "usage", "usage", windows=windows)


@router.get("/budgets", response_class=HTMLResponse)
def admin_budgets(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        rows = views.budgets(conn)
        services = views.known_services(conn)
    # Budgets are per service, the model endpoint's host; offer the configured one first.
    configured = urlsplit(settings(request).llm_base_url).netloc
    services = list(dict.fromkeys([s for s in (configured, *services) if s]))
    return page(request, "budgets", "budgets", budgets=rows, windows=WINDOWS, services=services)


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
    editor: EditorSession = Depends(require_editor),
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
    database(request).write_sync(
        lambda c: reader.set_budget(c, service, window, calls, tokens, cost)  # type: ignore[arg-type]
    )
    return RedirectResponse("/admin/budgets", status_code=303)


def _ensure_file_policy(request: Request) -> None:
    """The policy file the desk runs with is version one of the history, active until an
    editor activates another. Written once; later views only read."""
    policy = load_policy(settings(request).policy_path)
    with database(request).read() as conn:
        known = {p.version for p in views.policy_versions(conn)}
        has_active = views.policy_text(conn) is not None
    if policy.version in known and has_active:
        return
    text = policy_text_of(policy.path)
    now = datetime.now(UTC)

    def write(conn):  # type: ignore[no-untyped-def]
        reader.add_policy_version(conn, policy.version, text, now)
        if views.policy_text(conn) is None:
            reader.activate_policy_version(conn, policy.version)

    database(request).write_sync(write)


def policy_text_of(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


@router.get("/policy", response_class=HTMLResponse)
def admin_policy(
    request: Request, version: str | None = None, a: str | None = None, b: str | None = None
) -> HTMLResponse:
    _ensure_file_policy(request)
    with database(request).read() as conn:
        versions = views.policy_versions(conn)
        shown = views.policy_text(conn, version)
        diff = None
        if a and b:
            old, new = views.policy_text(conn, a), views.policy_text(conn, b)
            if old is None or new is None:
                raise HTTPException(404, "no such policy version")
            diff = views.policy_diff(old[1], new[1], a, b)
    if shown is None:
        raise HTTPException(404, "no such policy version")
    return page(
        request, "policy", "policy", versions=versions, version=shown[0], text=shown[1],
        diff=diff, a=a, b=b,
    )  # fmt: skip


@router.post("/policy")
def admin_policy_save(
    request: Request,
    editor: EditorSession = Depends(require_editor),
    csrf: str = Form(""),
    text: str = Form(...),
) -> Response:
    check_csrf(request, editor, csrf)
    text = text.replace("\r\n", "\n")
    try:
        policy = parse_policy(text, "the edited policy")
    except PolicyError as exc:
        raise HTTPException(400, str(exc)) from None
    now = datetime.now(UTC)
    database(request).write_sync(lambda c: reader.add_policy_version(c, policy.version, text, now))
    with database(request).read() as conn:
        active = views.policy_text(conn)
    base = active[0] if active else policy.version
    return RedirectResponse(
        f"/admin/policy?version={policy.version}&a={base}&b={policy.version}", 303
    )


@router.post("/policy/{version}/activate")
def admin_policy_activate(
    request: Request,
    version: str,
    editor: EditorSession = Depends(require_editor),
    csrf: str = Form(""),
) -> Response:
    check_csrf(request, editor, csrf)
    if not database(request).write_sync(lambda c: reader.activate_policy_version(c, version)):
        raise HTTPException(404, "no such policy version")
    return RedirectResponse(f"/admin/policy?version={version}", status_code=303)


@router.get("/feedback", response_class=HTMLResponse)
def admin_feedback(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        rows = views.feedback_inbox(conn)
    return page(request, "feedback", "feedback", rows=rows)
