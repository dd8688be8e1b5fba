"""Events: coverage of the same occurrence from many sources, grouped into one."""

from newsdesk.events.features import Features, features, model_tokens
from newsdesk.events.grouping import (
    RELATIONS,
    CandidateIndex,
    FeatureCache,
    Meaning,
    Relation,
    choose_event,
    decide,
    rules_relation,
)

__all__ = [
    "RELATIONS",
    "CandidateIndex",
    "FeatureCache",
    "Features",
    "Meaning",
    "Relation",
    "choose_event",
    "decide",
    "features",
    "model_tokens",
    "rules_relation",
]
