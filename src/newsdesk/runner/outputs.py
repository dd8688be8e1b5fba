"""After each pass: the report schedule, then notifications. Never fails the pass.

Also the model wiring of weekly and monthly overviews: `report_model` gives the reports stage
the "report" route of the editor's provider (receipts, budgets) and the faithfulness guard as
two callables, so reports/ never imports the editor.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from newsdesk.config import Settings
from newsdesk.editor import guard
from newsdesk.editor.judge import guarded
from newsdesk.editor.providers import (
    LLMProvider,
    ModelError,
    ModelUnavailable,
    routes_from_settings,
)
from newsdesk.runner import alerts
from newsdesk.runner.editor import StoreReceipts
from newsdesk.runner.notify import dispatch, enqueue_new, targets_for
from newsdesk.runner.reports import scheduled_reports
from newsdesk.store.db import Database, StorageFailure

log = logging.getLogger(__name__)


class ReportModel:
    """The reports stage's OverviewModel over the editor's provider."""

    def __init__(self, provider: LLMProvider) -> None:
        self.provider = provider

    async def write(
        self, messages: list[dict[str, str]], schema: type[BaseModel]
    ) -> dict[str, Any] | None:
        try:
            return await self.provider.complete_json("report", messages, schema)
        except ModelError as exc:  # no answer: the overview is omitted, the report still ships
            # an unreachable endpoint is said once, in the pass's summary
            level = logging.INFO if isinstance(exc, ModelUnavailable) else logging.WARNING
            log.log(level, "report overview not written: %s", exc)
            return None

    async def check(
        self, fields: dict[str, str], evidence: str
    ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        checked, flags = await guarded(self.provider, "report", fields, guard.Evidence.of(evidence))
        # The rejected text itself is not kept: it is exactly what must not be published.
        return checked, [{"field": f.field, "spans": list(f.spans), "action": f.action}
                         for f in flags]  # fmt: skip

    async def close(self) -> None:
        await self.provider.close()


class _Borrowed(ReportModel):
    """A provider someone else opened (the step context's): not ours to close."""

    async def close(self) -> None:
        pass


def report_model(db: Database, settings: Settings) -> ReportModel | None:
    """The overview writer, when a model is configured for reports and calls are enabled."""
    # The report route may be configured on its own (NEWSDESK_LLM_MODEL_REPORT + a base URL).
    if not settings.model_calls_enabled or "report" not in routes_from_settings(settings):
        return None
    return ReportModel(LLMProvider(settings, StoreReceipts(db)))


async def after_pass(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    provider: LLMProvider | None = None,
    reports_at: datetime | None = None,
) -> None:
    """Due reports, then notifications (the desk's, then each person's alerts). With
    `provider` (the step context's one provider) the overviews use it; without, a provider is
    opened for this call. `reports_at` is the demo snapshot's clock: its reports are those due
    then, its last day's brief included."""
    now = now or datetime.now(UTC)
    model: ReportModel | None = None
    try:
        if provider is None:
            model = report_model(db, settings)
        elif settings.model_calls_enabled and "report" in provider.routes:
            model = _Borrowed(provider)
        if reports_at is None:
            made = await scheduled_reports(db, settings, now, model)
        else:
            made = await scheduled_reports(db, settings, reports_at, model, through_today=True)
        targets = targets_for(settings)
        # a provisional brief is sent once it is final (the outbox sends each period once)
        briefs = [r["period"] for r in made
                  if r["kind"] == "daily" and not r["data"].get("provisional")]  # fmt: skip
        if targets:
            await enqueue_new(db, targets, now, briefs)
            await dispatch(db, settings, targets)
        await alerts.run(db, settings, now)  # each person's follows, to their own targets
    except StorageFailure:  # the pass's end cannot be stored either: say so, once
        raise
    except Exception:  # outputs must never stop the desk; the error is logged, not raised
        log.exception("outputs after the pass failed")
    finally:
        if model is not None:
            await model.close()
