"""`newsdesk report weekly` through the real executable with a model for reports: the
overview comes from the fake OpenAI-compatible server; the daily brief makes no call."""

from __future__ import annotations

from pathlib import Path

from fakes.fake_llm import FakeLLM, Rule

from .conftest import clean_env, newsdesk


def test_report_cli_writes_a_guarded_overview(database_url: str, tmp_path: Path) -> None:
    with FakeLLM() as fake:
        fake.rules = [
            Rule(schema="overview", reply={"overview": "A week of 4,242 launches.", "intros": {}}),
            Rule(schema="rewrite", match="'4,242'", reply={"fields": {"overview": "A busy week."}}),
        ]  # fmt: skip
        env = clean_env(
            tmp_path,
            NEWSDESK_DATABASE_URL=database_url,
            NEWSDESK_LLM_BASE_URL=fake.base_url,
            NEWSDESK_LLM_MODEL_REPORT="fake-writer",
        )
        assert newsdesk(["run", "--once", "--demo"], env, tmp_path).returncode == 0
        # The pass writes the reports its (demo) clock has due; their overviews are guarded.
        scheduled = [e.schema for e in fake.log]
        assert set(scheduled) <= {"overview", "rewrite"}
        daily = newsdesk(["report", "daily", "--date", "2025-01-31"], env, tmp_path)
        assert daily.returncode == 0 and "## Overview" not in daily.stdout
        assert len(fake.log) == len(scheduled)  # a daily brief is rules only
        weekly = newsdesk(["report", "weekly", "--date", "2025-01-31"], env, tmp_path)
        schemas = [e.schema for e in fake.log][len(scheduled) :]
    assert weekly.returncode == 0, weekly.stderr
    assert weekly.stdout.startswith("# Weekly report: Week of 27 January 2025")
    assert "## Overview\n\nA busy week.\n" in weekly.stdout and "4,242" not in weekly.stdout
    assert schemas == ["overview", "rewrite"]
