"""The editorial policy: a Markdown brief with a TOML front matter of numbers.

Code, not the model, applies the numbers (see `rules.py`).
"""

from newsdesk.policy.loader import Policy, load_policy
from newsdesk.policy.rules import decide_tier, featured_line, is_follow_up

__all__ = ["Policy", "decide_tier", "featured_line", "is_follow_up", "load_policy"]
