"""The editor's commands through the real `newsdesk` executable, with the fake model."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx

from fakes.fake_llm import FakeLLM

from .conftest import NEWSDESK, clean_env, free_port, newsdesk
from .test_demo_desk import find_on_hot_pages

REPO = Path(__file__).resolve().parents[2]
GOLD = REPO / "eval" / "selection.jsonl"


def model_env(tmp_path: Path, fake: FakeLLM, **extra: str) -> dict[str, str]:
    return clean_env(tmp_path, NEWSDESK_LLM_BASE_URL=fake.base_url,
                     NEWSDESK_LLM_MODEL="fake-editor", **extra)  # fmt: skip


def test_policy_show_and_check(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    shown = newsdesk(["policy", "show"], env, tmp_path)
    assert shown.returncode == 0 and "featured_line.T1 = 72" in shown.stdout
    ok = newsdesk(["policy", "check"], env, tmp_path)
    assert ok.returncode == 0 and "is valid" in ok.stdout
    bad = tmp_path / "bad.md"
    bad.write_text(
        "+++\np1_min_importance = 185\nfeatured_min_hkr = 2\nexclusion_cap = 39\n"
        "borderline_margin = 5\nfreshness = {}\n[featured_line]\nT9 = 70\n+++\nbrief\n"
    )
    checked = newsdesk(["policy", "check", str(bad)], env, tmp_path)
    assert checked.returncode == 1
    assert "p1_min_importance must be a number from 0 to 100" in checked.stdout
    assert "featured_line.T9 is not a source tier" in checked.stdout
    missing = newsdesk(["policy", "check", str(tmp_path / "nope.md")], env, tmp_path)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1  # one clear line


def test_eval_selection_json_meets_the_target(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    holdout = newsdesk(["eval", "selection", "--gold", str(GOLD), "--split", "holdout",
                        "--json"], env, tmp_path)  # fmt: skip
    assert holdout.returncode == 0, holdout.stderr
    report = json.loads(holdout.stdout)
    assert {"accuracy", "precision", "recall", "f1"} <= report.keys()
    assert report["f1"] >= 0.70
    assert [row["threshold"] for row in report["sweep"]] == list(range(40, 91, 2))
    everything = json.loads(newsdesk(["eval", "selection", "--gold", str(GOLD), "--split",
                                      "all", "--json"], env, tmp_path).stdout)  # fmt: skip
    assert "o3-mini-system-card" not in {w["id"] for w in everything["wrong"]}
    assert everything["confusion"]["p1"]["p1"] >= 1
    text = newsdesk(["eval", "selection", "--gold", str(GOLD), "--split", "dev"], env, tmp_path)
    assert "threshold sweep" in text.stdout and "wrong cases" in text.stdout
    broken = tmp_path / "gold.jsonl"
    broken.write_text('{"id": "x"}\n')
    failed = newsdesk(["eval", "selection", "--gold", str(broken)], env, tmp_path)
    assert failed.returncode == 2 and "gold.jsonl:1: not a gold case" in failed.stderr


def test_llm_ping(tmp_path: Path) -> None:
    unconfigured = newsdesk(["llm", "ping"], clean_env(tmp_path), tmp_path)
    assert unconfigured.returncode == 2 and "no model configured" in unconfigured.stderr
    with FakeLLM() as fake:
        env = model_env(tmp_path, fake)
        pinged = newsdesk(["llm", "ping"], env, tmp_path)
        assert pinged.returncode == 0, pinged.stderr
        assert "fake-editor" in pinged.stdout and "ok," in pinged.stdout
        # The calibration eval with the model editor pays through receipts like the desk.
        args = ["eval", "selection", "--gold", str(GOLD), "--editor", "llm", "--json"]
        first = newsdesk(args, env, tmp_path)
        assert first.returncode == 0, first.stderr
        report = json.loads(first.stdout)
        assert report["editor"] == "llm" and report["scored"] > 0 and not report["errors"]
        calls = len(fake.log)
        assert newsdesk(args, env, tmp_path).returncode == 0
        assert len(fake.log) == calls  # the second eval is answered from receipts


def test_run_with_model_then_usage_and_versions(
    database_url: str, tmp_path: Path, web_server
) -> None:
    with FakeLLM() as fake:
        env = model_env(tmp_path, fake, NEWSDESK_DATABASE_URL=database_url)
        ran = newsdesk(["run", "--once", "--demo"], env, tmp_path)
        assert ran.returncode == 0, ran.stderr
        assert "comment" in ran.stdout and "119 judged" in ran.stdout
        calls = len(fake.log)
    used = newsdesk(["usage", "--since", "1d"], env, tmp_path)
    assert used.returncode == 0 and "judge" in used.stdout and "comment" in used.stdout
    assert f"receipts: {calls} answered" in used.stdout
    versions = newsdesk(["policy", "versions"], env, tmp_path)
    assert versions.returncode == 0 and "119" in versions.stdout
    wrong = newsdesk(["usage", "--since", "yesterday"], env, tmp_path)
    assert wrong.returncode == 2 and "--since" in wrong.stderr

    # The desk shows the model's take and sharp on the o3-mini card (pages call no model).
    base = web_server(env)
    card = find_on_hot_pages(base, "OpenAI o3-mini System Card")
    assert "editor take" in card and "sharp" in card and "judged by fake-editor" in card


def test_kill_mid_run_and_restart_repeats_no_successful_call(tmp_path: Path) -> None:
    with FakeLLM(latency=0.15) as fake:
        env = model_env(tmp_path, fake, NEWSDESK_LLM_CONCURRENCY="4")
        proc = subprocess.Popen([*NEWSDESK, "run", "--once", "--demo"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 120
        while len(fake.log) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(1)  # calls in flight at the kill reach the fake's log after its latency
        killed_at = len(fake.log)
        assert 40 <= killed_at < 150  # it died mid-run

        # Restart: calls whose outcome is unknown (in flight at the kill) are held, not re-sent.
        again = newsdesk(["run", "--once", "--demo"], env, tmp_path)
        assert again.returncode == 0, again.stderr
        assert fake.paid_twice() == []

        # Once the hold has passed, the held stories are judged too; only those were re-sent.
        later = newsdesk(["run", "--once", "--demo"],
                         env | {"NEWSDESK_LLM_UNKNOWN_HOLD_MINUTES": "0"}, tmp_path)  # fmt: skip
        assert later.returncode == 0, later.stderr
        in_flight = {e.body_sha for e in fake.log[:killed_at]}
        assert set(fake.paid_twice()) <= in_flight
    from newsdesk.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'data' / 'newsdesk.db'}")
    with db.read() as conn:
        from sqlalchemy import func, select

        from newsdesk.store import schema as t

        left = conn.execute(
            select(func.count()).select_from(t.items).where(t.items.c.judgement_id.is_(None))
        ).scalar_one()
    db.close()
    assert left == 0  # nothing lost


def test_dev_fake_llm_serves_the_openai_api(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([*NEWSDESK, "dev", "fake-llm", "--port", str(port)],
                            env=clean_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}/v1"
        for _ in range(100):
            try:
                models = httpx.get(base + "/models", timeout=1).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert models["data"][0]["id"] == "fake-editor"
        chat = httpx.post(base + "/chat/completions", json={
            "model": "fake-editor", "messages": [{"role": "user", "content": "ping"}]},
            timeout=5).json()  # fmt: skip
        assert chat["choices"][0]["message"]["content"] == "pong"
        assert chat["usage"]["prompt_tokens"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
