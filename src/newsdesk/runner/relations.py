"""The model path of grouping: the editor's paid, receipted client behind the events stage.

The events stage asks for relations with a JSON-schema dict (it imports nothing of the
editor); the editor's client validates answers against a pydantic model. This adapter is the
one place that knows both, so every relation call still goes through receipts and budgets.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from newsdesk.config import Settings
from newsdesk.editor.providers import LLMProvider
from newsdesk.runner.events import ModelMode


class _Relation(BaseModel):
    candidate: int
    relation: Literal["same_occurrence", "same_story", "roundup", "unrelated"]
    confidence: float = Field(ge=0, le=1)
    reason: str = ""


class RelationAnswer(BaseModel):  # the schema is named "relation" on the wire
    judgements: list[_Relation]


class ProviderRelations:
    """Satisfies `events.relate.RelationModel` with the editor's client on one route."""

    def __init__(self, provider: LLMProvider, route: str) -> None:
        self.provider = provider
        self.route = route

    async def complete_json(
        self, purpose: str, messages: list[dict[str, str]], schema: dict[str, Any]
    ) -> dict[str, Any]:
        # `purpose` names the events step; the route decides which model answers.
        return await self.provider.complete_json(self.route, messages, RelationAnswer)


def grouping_model(provider: LLMProvider | None, settings: Settings) -> ModelMode | None:
    """The main model judges relations; a distinct `_RELATE` model confirms uncertain merges."""
    if provider is None:
        return None
    judge = ProviderRelations(provider, "judge")
    confirm = None
    if settings.llm_model_relate and settings.llm_model_relate != settings.llm_model:
        confirm = ProviderRelations(provider, "relate")
    return ModelMode(judge=judge, confirm=confirm)
