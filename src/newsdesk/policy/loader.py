"""Load `editorial.md`: TOML front matter between `+++` lines, then the editor's brief."""

from __future__ import annotations

import copy
import functools
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_POLICY_PATH = Path(__file__).with_name("editorial.md")
REQUIRED_KEYS = (
    "p1_min_importance",
    "featured_min_hkr",
    "exclusion_cap",
    "borderline_margin",
    "featured_line",
    "freshness",
)


class PolicyError(ValueError):
    """The policy file cannot be used; the message says why."""


@dataclass(frozen=True)
class Policy:
    version: str  # first 12 hex digits of the SHA-256 of the file's bytes
    numbers: dict[str, Any]
    brief: str  # the Markdown text after the front matter
    path: str

    def __getitem__(self, key: str) -> Any:
        return self.numbers[key]


def parse_policy(text: str, path: str = "<string>") -> Policy:
    parts = text.split("+++")
    if not text.startswith("+++") or len(parts) < 3:
        raise PolicyError(f"{path}: the policy must start with a TOML front matter between '+++'")
    try:
        numbers = tomllib.loads(parts[1])
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: front matter is not valid TOML: {exc}") from exc
    missing = [key for key in REQUIRED_KEYS if key not in numbers]
    if missing:
        raise PolicyError(f"{path}: front matter lacks {', '.join(missing)}")
    _fill_rules(numbers)
    version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return Policy(version=version, numbers=numbers, brief="+++".join(parts[2:]).strip(), path=path)


@functools.cache
def shipped_rules() -> dict[str, Any]:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    return dict(tomllib.loads(text.split("+++")[1]).get("rules", {}))


def _fill_rules(numbers: dict[str, Any]) -> None:
    """A policy written before the rules editor's points moved into the front matter (or one
    that sets only some of them) takes the shipped file's for the rest: the numbers still come
    from a policy file, never from code."""
    rules = numbers.setdefault("rules", {})
    if not isinstance(rules, dict):
        return  # check_policy says what is wrong with it
    for key, value in shipped_rules().items():
        if key not in rules:
            rules[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(rules[key], dict):
            for sub, number in value.items():
                rules[key].setdefault(sub, number)


def load_policy(path: str | Path | None = None) -> Policy:
    policy_path = Path(path) if path else DEFAULT_POLICY_PATH
    try:
        text = policy_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {policy_path}: {exc.strerror}") from exc
    return parse_policy(text, str(policy_path))
