"""Events: coverage of the same occurrence from many sources, grouped into one."""

from newsdesk.events.grouping import choose_event, model_tokens

__all__ = ["choose_event", "model_tokens"]
