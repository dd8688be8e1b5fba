"""The policy loop through the real `newsdesk` executable on the demo desk: votes in and out,
a refused proposal, propose → preview → activate, rejudge."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .conftest import clean_env, newsdesk


def test_feedback_and_policy_commands(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    built = newsdesk(["run", "--once", "--demo"], env, tmp_path, timeout=300)
    assert built.returncode == 0, built.stderr
    db = sqlite3.connect(tmp_path / "data" / "newsdesk.db")
    stories = db.execute(
        "SELECT id, url, tier FROM items WHERE judgement_id IS NOT NULL ORDER BY id"
    ).fetchall()
    db.close()
    (first, url, _), *rest = stories
    votes = tmp_path / "votes.jsonl"
    lines = [
        {"item_id": first, "vote": "up", "note": "good", "editor": "ann"},
        {"url": url, "vote": "down", "editor": "bob"},  # the same story: a contradiction
        {"item_id": 999999, "vote": "up"},
        {"url": "https://nowhere.example/x", "vote": "up"},
        {"item_id": rest[0][0], "vote": "meh"},
    ]
    votes.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    imported = newsdesk(["feedback", "import", str(votes)], env, tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 vote(s); 4 line(s) skipped" in imported.stdout
    for number, words in (
        (3, "unknown story: item 999999"),
        (4, "unknown story: url"),
        (5, 'vote must be "up"'),
        (6, "not a JSON object"),
    ):
        assert f"votes.jsonl:{number}: {words}" in imported.stderr

    refused = newsdesk(["policy", "propose", "--no-model"], env, tmp_path)
    assert refused.returncode == 1 and "at least 5" in refused.stderr

    exported = newsdesk(["feedback", "export"], env, tmp_path)
    assert exported.returncode == 0
    (case,) = [json.loads(x) for x in exported.stdout.splitlines()]
    assert case["gold"]["decision"] == "either" and case["id"] == f"item-{first}"
    assert "contradicting votes" in exported.stderr

    # Votes of one taste: drop every selected story of the first few, select the dropped ones.
    more = [
        {"item_id": item_id, "vote": "down" if tier in ("p1", "featured") else "up"}
        for item_id, _, tier in rest[1:9]
    ]
    votes.write_text("\n".join(json.dumps(x) for x in more) + "\n")
    assert newsdesk(["feedback", "import", str(votes)], env, tmp_path).returncode == 0
    proposed = newsdesk(["policy", "propose", "--no-model", "--json"], env, tmp_path)
    assert proposed.returncode == 0, proposed.stderr
    result = json.loads(proposed.stdout)
    assert {"draft", "changes", "did_not_change"} <= set(result)
    assert any(x["item_id"] == first for x in result["did_not_change"])  # disputed: left alone

    previewed = newsdesk(
        ["policy", "preview", result["draft"], "--days", "30", "--json"], env, tmp_path
    )
    assert previewed.returncode == 0, previewed.stderr
    figures = json.loads(previewed.stdout)
    assert set(figures["current"]) == set(figures["draft"]) == {"precision", "recall", "f1"}
    assert {"enter", "leave", "votes_agreement"} <= set(figures)

    activated = newsdesk(
        ["policy", "activate", str(result["number"]), "--yes", "--confirm", result["draft"]],
        env,
        tmp_path,
    )
    assert activated.returncode == 0, activated.stderr
    shown = newsdesk(["policy", "show"], env, tmp_path)
    assert result["draft"] in shown.stdout
    rejudged = newsdesk(["rejudge", "--since", "2000-01-01", "--yes"], env, tmp_path)
    assert rejudged.returncode == 0, rejudged.stderr
    assert f"re-judged {len(stories)} stories under {result['draft']}" in rejudged.stdout
    bad = newsdesk(["rejudge", "--since", "yesterday"], env, tmp_path)
    assert bad.returncode == 2 and "--since" in bad.stderr
