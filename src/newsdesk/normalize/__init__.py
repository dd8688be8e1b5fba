"""Turn raw entries into items: identity, sanitised text, language, trusted dates, freshness."""

from newsdesk.normalize.identity import canonical_url, identity_key
from newsdesk.normalize.stage import FreshnessRules, normalize_entries

__all__ = ["FreshnessRules", "canonical_url", "identity_key", "normalize_entries"]
