"""The editor stage: judges stories. Offline, the rules editor makes the judgement."""

from newsdesk.editor.rules import rules_judgement

__all__ = ["rules_judgement"]
