"""The model endpoint is down: `run --once --demo` with NEWSDESK_LLM_BASE_URL on a closed
port says why in one line and exits 1, fast (the circuit breaker stops calling after a few
refused connections), and the desk is not empty: the rules editor judged every story in the
model's place and the card says so. With the model back, the next pass judges them by model.
"""

from __future__ import annotations

import time
from pathlib import Path

from fakes.fake_llm import FakeLLM

from .conftest import clean_env, free_port, newsdesk
from .test_demo_desk import find_on_hot_pages, visible_text

CARD = "OpenAI o3-mini System Card"


def test_model_down_then_back(database_url: str, tmp_path: Path, web_server) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    env = clean_env(tmp_path, NEWSDESK_DATABASE_URL=database_url, NEWSDESK_LLM_MODEL="fake-editor",
                    NEWSDESK_PAGE_CACHE_SECONDS="0")  # fmt: skip
    started = time.monotonic()
    down = newsdesk(["run", "--once", "--demo"], env | {"NEWSDESK_LLM_BASE_URL": closed}, tmp_path)
    seconds = time.monotonic() - started
    print(f"model down: the pass took {seconds:.1f} s")  # 145-159 s before the breaker
    assert down.returncode == 1, down.stdout + down.stderr
    reason = f"model endpoint unreachable: connection refused at {closed}"
    assert down.stderr.strip() == f"error: {reason}; every model call failed"
    assert "119 judged" in down.stdout and "judged by the rules editor" in visible_text(down.stdout)
    assert seconds < 120

    # The desk is not empty: the rules editor's verdict, and the card says why.
    base = web_server(env)
    card = visible_text(find_on_hot_pages(base, CARD))
    assert "judged by rules editor: model unavailable" in card

    with FakeLLM() as fake:
        back = newsdesk(["run", "--once", "--demo"], env | {"NEWSDESK_LLM_BASE_URL": fake.base_url},
                        tmp_path)  # fmt: skip
        judged = sum(e.schema == "judgement" for e in fake.log)
    assert back.returncode == 0, back.stderr
    assert "119 judged" in back.stdout and judged >= 119  # every story asked of the model
    card = visible_text(find_on_hot_pages(base, CARD))
    assert "judged by fake-editor" in card and "model unavailable" not in card
    assert "editor take" in card  # the model's commentary came with its verdict
