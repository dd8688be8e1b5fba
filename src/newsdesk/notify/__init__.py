"""Notifications through apprise: targets with per-target filters, and delivery."""

from newsdesk.notify.send import deliver
from newsdesk.notify.targets import Target, parse_targets

__all__ = ["Target", "deliver", "parse_targets"]
