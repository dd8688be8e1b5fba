"""Weekly and monthly overviews written by a model (the fake OpenAI-compatible server) and held
to the faithfulness guard against the report's entries: a hallucinated number is repaired by
the one repair call, or the field is dropped; without a model nothing is written."""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from fakes.fake_llm import FakeLLM, Rule
from newsdesk.reports.overview import clip_words
from newsdesk.runner.outputs import after_pass, report_model
from newsdesk.runner.reports import build_report
from newsdesk.store import outputs
from newsdesk.web.app import create_app

from .conftest import BASE, demo_settings

HALLUCINATED = "Revenue at the lab rose 73.9% to 4,817 million dollars"


def model_settings(fake: FakeLLM):
    # Only the report route gets a model, so the demo desk stays judged by the rules editor.
    return demo_settings(llm_base_url=fake.base_url, llm_model="", llm_model_report="fake-writer")


def _plain(desk, kind: str, day: date) -> dict:
    return asyncio.run(build_report(desk, demo_settings(), kind, day))["data"]


def _faithful(data: dict) -> tuple[str, dict[str, str]]:
    """An overview and intros that use only words of the entries."""
    top = data["entries"][0]
    overview = f"The lead story: {top['title']}, from {top['source_name']}."
    intros = {s["name"]: f"Stories filed under {s['name']}." for s in data["sections"]}
    return overview, intros


def _compose(desk, settings, kind: str, day: date) -> dict:
    async def go() -> dict:
        model = report_model(desk, settings)
        assert model is not None
        try:
            return await build_report(desk, settings, kind, day, model=model)
        finally:
            await model.close()

    return asyncio.run(go())


def test_hallucinated_number_is_repaired_then_receipts_reused(desk) -> None:
    plain = _plain(desk, "weekly", date(2025, 1, 31))
    assert plain["entries"] and plain["sections"] and plain["overview"] is None
    overview, intros = _faithful(plain)
    with FakeLLM() as fake:
        fake.rules = [
            Rule(schema="overview", reply={"overview": f"{overview} {HALLUCINATED}.",
                                           "intros": intros}),
            # The repair call must name the offending spans; only then does it get this answer.
            Rule(schema="rewrite", match=r"'73\.9%'.*'4,817 million'",
                 reply={"fields": {"overview": overview}}),
        ]  # fmt: skip
        settings = model_settings(fake)
        report = _compose(desk, settings, "weekly", date(2025, 1, 31))
        calls = len(fake.log)
        data = report["data"]
        assert data["overview"] == overview
        assert data["guard"] == [
            {"field": "overview", "spans": ["73.9%", "4,817 million"], "action": "repaired"}
        ]
        assert [s["intro"] for s in data["sections"]] == [
            intros[s["name"]] for s in data["sections"]
        ]
        assert "## Overview" in report["markdown"] and overview.split(":")[0] in report["markdown"]
        assert "73.9" not in report["markdown"] and calls == 2  # the answer, then one repair
        # Composing the same report again pays for nothing: the receipts answer.
        again = _compose(desk, settings, "weekly", date(2025, 1, 31))
        assert again["data"]["overview"] == overview and len(fake.log) == calls
    with desk.read() as conn:
        stored = outputs.get_report(conn, "weekly", "2025-01-27")
    assert stored is not None and stored["data"]["overview"] == overview
    # The page, the API and the feed carry what the guard let through.
    client = TestClient(create_app(demo_settings(), desk), base_url=BASE)
    page = client.get("/weekly/2025-01-27").text
    assert html.escape(overview, quote=False) in page and "73.9" not in page
    assert html.escape(intros[plain["sections"][0]["name"]], quote=False) in page
    assert client.get("/api/v1/weekly/2025-01-27").json()["overview"] == overview
    assert "73.9" not in client.get("/feed/weekly.xml").text


def test_still_unfaithful_after_repair_is_dropped(desk) -> None:
    plain = _plain(desk, "monthly", date(2025, 1, 31))
    overview, intros = _faithful(plain)
    first = plain["sections"][0]["name"]
    with FakeLLM() as fake:
        fake.rules = [
            Rule(schema="overview", reply={
                "overview": f"{overview} {HALLUCINATED}.",
                "intros": intros | {first: "Cerebras shipped 9,999 units."},
            }),
            # The repair keeps inventing: the fields are dropped, the report still ships.
            Rule(schema="rewrite", reply={"fields": {
                "overview": f"{overview} It rose 61.5% instead.", "intro_1": "Up 8,888 units.",
            }}),
        ]  # fmt: skip
        report = _compose(desk, model_settings(fake), "monthly", date(2025, 1, 31))
    data = report["data"]
    assert data["overview"] is None and data["sections"][0]["intro"] is None
    assert {(f["field"], f["action"]) for f in data["guard"]} == {
        ("overview", "dropped"),
        ("intro_1", "dropped"),
    }
    # Intros the guard backs stay; nothing of the dropped text reaches the Markdown.
    assert all(s["intro"] == intros[s["name"]] for s in data["sections"][1:])
    markdown = report["markdown"]
    assert "## Overview" not in markdown and "Cerebras" not in markdown
    assert "9,999" not in markdown and "61.5" not in markdown and data["entries"]


def test_model_failure_or_no_model_means_no_overview(desk) -> None:
    assert report_model(desk, demo_settings()) is None  # nothing configured: nothing faked
    with FakeLLM() as fake:
        fake.rules = [Rule(schema="overview", fault="500")]
        settings = model_settings(fake).model_copy(update={"llm_max_retries": 0})
        report = _compose(desk, settings, "weekly", date(2025, 1, 31))
    assert report["data"]["overview"] is None and report["data"]["entries"]
    assert "guard" not in report["data"]


def test_the_schedule_writes_overviews_and_never_for_the_daily(desk) -> None:
    with FakeLLM() as fake:
        fake.rules = [Rule(schema="overview", reply={"overview": "A quiet period.", "intros": {}})]
        settings = model_settings(fake)
        asyncio.run(after_pass(desk, settings, now=datetime(2025, 2, 3, 9, tzinfo=UTC)))
        schemas = [e.schema for e in fake.log]
    with desk.read() as conn:
        daily = outputs.get_report(conn, "daily", "2025-02-02")
        weekly = outputs.get_report(conn, "weekly", "2025-01-27")
        monthly = outputs.get_report(conn, "monthly", "2025-01-01")
    assert weekly["data"]["overview"] == "A quiet period."
    assert monthly["data"]["overview"] == "A quiet period."
    assert daily is None or daily["data"]["overview"] is None
    assert schemas == ["overview", "overview"]  # weekly and monthly; the daily is rules only


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("One. Two three.", 5, "One. Two three."),
        ("First sentence here. Second one runs on and on", 6, "First sentence here."),
        ("no stop at all in this text", 3, "no stop at…"),
    ],
)
def test_clip_words(text: str, limit: int, expected: str) -> None:
    assert clip_words(text, limit) == expected
