"""The docs tell the truth about the CLI and the settings (as sqlite-utils checks its docs):
every command the README lists answers `--help`, every NEWSDESK_* name in README.md and
docs/ is a setting (or one of the few variables the tests and benchmarks read)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsdesk.cli import app
from newsdesk.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_SETTINGS = {"NEWSDESK_TEST_DATABASE_URL", "NEWSDESK_REQUIRE_POSTGRES", "NEWSDESK_BENCH_PG_URL",
                "NEWSDESK_CONFIG_FILE", "NEWSDESK_FUZZ_EXAMPLES"}  # fmt: skip
WORD = re.compile(r"[a-z][a-z-]*(?:\\\|[a-z][a-z-]*)*")


def readme_commands() -> list[tuple[str, ...]]:
    """`newsdesk sources enable\\|disable\\|remove ID` → three command paths."""
    paths: list[tuple[str, ...]] = [()]
    found: set[tuple[str, ...]] = set()
    for snippet in re.findall(r"`newsdesk ([^`]+)`", (ROOT / "README.md").read_text()):
        paths = [()]
        for token in snippet.split():
            if not WORD.fullmatch(token):
                break
            paths = [(*p, word) for p in paths for word in token.split("\\|")]
        found.update(p for p in paths if p)
    return sorted(found)


@pytest.mark.parametrize("command", readme_commands(), ids=" ".join)
def test_every_command_in_the_readme_exists(command: tuple[str, ...]) -> None:
    answer = CliRunner().invoke(app, [*command, "--help"])
    assert answer.exit_code == 0, answer.output
    assert "Usage:" in answer.output


def test_the_readme_lists_the_main_commands() -> None:
    assert {("up",), ("run",), ("sources", "list"), ("sources", "import")} <= set(readme_commands())


def test_every_setting_named_in_the_docs_exists() -> None:
    settings = {f"NEWSDESK_{name.upper()}" for name in Settings.model_fields}
    for doc in DOCS:
        for name in re.findall(r"NEWSDESK_[A-Z0-9_]*[A-Z0-9]", doc.read_text()):
            family = any(s.startswith(name + "_") for s in settings)  # NEWSDESK_LLM_BUDGET_*
            assert name in settings | NOT_SETTINGS or family, f"{doc.name} names {name}"


def test_the_architecture_step_table_names_every_step() -> None:
    """docs/architecture.md's table of steps and the code agree: every step in the table exists
    in STEPS and PENDING, runs on the queue the table says, and no step is left out."""
    from newsdesk.runner.steps import PENDING, STEPS
    from newsdesk.runner.worker import QUEUES

    text = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ") and "`steps." in line
    ]
    table = {row[0]: row for row in rows}
    assert list(table) == list(STEPS) == list(PENDING)
    for name, row in table.items():
        assert row[1] == f"`steps.{name}`"
        assert callable(STEPS[name])
        assert row[5].startswith(f"`{QUEUES[name]}`"), (name, row[5])
