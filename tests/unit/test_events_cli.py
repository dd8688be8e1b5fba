"""`newsdesk eval grouping` and the events commands' one-line errors."""

import json
from pathlib import Path

from typer.testing import CliRunner

from newsdesk.cli import app

GOLD = Path(__file__).resolve().parents[2] / "eval" / "grouping.jsonl"
runner = CliRunner()


def item(title: str, when: str, source: str, body: str = "") -> dict:
    return {"title": title, "url": f"https://{source}.example/x", "published_at": when,
            "body": body, "source": source}  # fmt: skip


def test_eval_grouping_json_has_binary_scores(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    rows = [
        {"id": "a", "relation": "same_occurrence",
         "a": item("Introducing Zeta-4", "2026-01-01T10:00:00Z", "lab", "Zeta-4 is out"),
         "b": item("Zeta-4 launches with 1M context", "2026-01-01T15:00:00Z", "wire", "Zeta-4")},
        {"id": "b", "relation": "unrelated",
         "a": item("Introducing Zeta-4", "2026-01-01T10:00:00Z", "lab"),
         "b": item("Introducing Orca-2", "2026-01-02T10:00:00Z", "other")},
    ]  # fmt: skip
    gold.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = runner.invoke(app, ["eval", "grouping", "--gold", str(gold), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["binary"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert report["confusion"]["unrelated"]["unrelated"] == 1
    table = runner.invoke(app, ["eval", "grouping", "--gold", str(gold)])
    assert table.exit_code == 0 and "binary (merge)" in table.output


def test_shipped_gold_file_has_enough_pairs_and_runs() -> None:
    lines = [json.loads(x) for x in GOLD.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert len(lines) >= 120
    assert {x["relation"] for x in lines} == {"same_occurrence", "same_story", "roundup",
                                              "unrelated"}  # fmt: skip
    result = runner.invoke(app, ["eval", "grouping", "--gold", str(GOLD), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["binary"]["precision"] >= 0.9


def test_bad_gold_and_unknown_events_fail_in_one_line(tmp_path: Path, monkeypatch) -> None:
    missing = runner.invoke(app, ["eval", "grouping", "--gold", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "relation": "maybe", "a": {}, "b": {}}\n')
    wrong = runner.invoke(app, ["eval", "grouping", "--gold", str(bad)])
    assert wrong.exit_code == 2 and "relation must be one of" in wrong.output
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'd.db'}")
    merge = runner.invoke(app, ["events", "merge", "1", "2"])
    assert merge.exit_code == 2 and "no event 1" in merge.output
    split = runner.invoke(app, ["events", "split", "1", "5"])
    assert split.exit_code == 2 and "no event 1" in split.output
