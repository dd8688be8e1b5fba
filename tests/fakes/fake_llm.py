"""The fake OpenAI-compatible model server for tests.

It lives in the package (`newsdesk.dev.fake_llm`) so `newsdesk dev fake-llm --port N` can start
it for a user too; tests import it from here.
"""

from newsdesk.dev.fake_llm import FAULT_KINDS, FakeLLM, LogEntry, Rule, count_tokens, default_answer

__all__ = ["FAULT_KINDS", "FakeLLM", "LogEntry", "Rule", "count_tokens", "default_answer"]
