"""/metrics in the Prometheus text format, on both engines, after a real pass."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from newsdesk.config import load_settings
from newsdesk.policy import load_policy
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
from newsdesk.web.app import create_app


async def test_metrics_count_fetches_and_queue_states(db) -> None:
    settings = load_settings(allow_private_urls=True)
    with DemoFeedServer() as base:
        catalog = load_catalog(DEMO_CATALOG, demo_base=base)
        summary = await run_once(db, settings, load_policy(), catalog=catalog, demo=True)
    response = TestClient(create_app(settings, db)).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    fetched = {s.labels["code"]: s.value for s in families["newsdesk_fetches"].samples
               if s.name == "newsdesk_fetches_total"}  # fmt: skip
    assert fetched.get("ok") == summary.fetched == len(catalog)
    jobs = {(s.labels["queue"], s.labels["state"]) for s in families["newsdesk_jobs"].samples}
    assert ("editor", "failed") in jobs and ("collect", "todo") in jobs
    assert families["newsdesk_model_paused"].samples[0].value == 0
