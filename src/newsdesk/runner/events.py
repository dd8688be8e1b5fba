"""Wiring of the events stage: grouping, titles after judging, heat.

Grouping loads the 14-day window around the pending stories into one `CandidateIndex` per pass
and adds each story as it is placed, so later stories of the same pass can join it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection

from newsdesk.domain import GroupDecision, StoryRef
from newsdesk.embed import VectorIndex
from newsdesk.embed.base import from_blob
from newsdesk.events import CandidateIndex, decide
from newsdesk.events.grouping import WINDOW, joinable
from newsdesk.events.heat import HEAT_WINDOW, Report, event_heat
from newsdesk.events.relate import Relation, RelationModel, judge_relations
from newsdesk.store import events as store_events
from newsdesk.store import vectors as store_vectors
from newsdesk.store.db import Database, StorageFailure


@dataclass
class ModelMode:
    """The language-model path: relation judge and optional second model.

    The desk's OpenAI-compatible client satisfies `RelationModel`. Candidates by meaning come
    from the stored vectors, as in rules mode (`vectors_model` of `group_pending`).
    """

    judge: RelationModel
    confirm: RelationModel | None = None


class WindowMeaning:
    """The stories' vectors for grouping (`events.Meaning`): nearest within 14 days, and the
    cosine of a pair; a story without a vector of the model has no neighbours."""

    def __init__(self, index: VectorIndex) -> None:
        self.index = index

    def near(self, ref: StoryRef, floor: float, limit: int) -> list[tuple[int, float]]:
        vector = self.index.vector(ref.item_id)
        if vector is None:
            return []
        hits = self.index.search(
            vector, k=limit + 1, floor=floor, since=(ref.filed_at - WINDOW).timestamp(),
            until=(ref.filed_at + WINDOW).timestamp(),
        )  # fmt: skip
        return [(h.item_id, h.cosine) for h in hits if h.item_id != ref.item_id][:limit]

    def cosine(self, a: int, b: int) -> float | None:
        return self.index.cosine(a, b)


def load_meaning(
    conn: Any, model: str | None, start: datetime, end: datetime
) -> WindowMeaning | None:
    """The window's vectors of `model` (the desk's current embedder); None without one."""
    if not model:
        return None
    rows = store_vectors.window(conn, model, start, end)
    if not rows:
        return None
    dim = rows[0].dim
    rows = [r for r in rows if r.dim == dim]
    index = VectorIndex(model, dim)
    index.add(
        (r.item_id for r in rows),
        (r.filed_at.timestamp() for r in rows),
        np.stack([from_blob(r.vector, dim) for r in rows]),
    )
    return WindowMeaning(index)


async def group_pending(
    db: Database,
    now: datetime,
    progress: Any = None,
    model: ModelMode | None = None,
    ask_ahead: bool = True,
    ids: Collection[int] | None = None,
    vectors_model: str | None = None,
) -> tuple[int, int]:
    """Group every story not yet in an event (those among `ids` when given).
    Returns (stories grouped, events created).

    `vectors_model` names the embedder whose stored vectors add candidates and the cosine of
    meaning to the rules (`runner.embed.current_model`); None groups by text features alone."""
    wanted = None if ids is None else set(ids)

    def load(conn: Connection) -> tuple[list[StoryRef], CandidateIndex]:
        pending = store_events.ungrouped_refs(conn)
        if wanted is not None:
            pending = [r for r in pending if r.item_id in wanted]
        index = CandidateIndex()
        if pending:
            start, end = pending[0].filed_at - WINDOW, pending[-1].filed_at + WINDOW
            for ref in store_events.window_refs(conn, start, end):
                index.add(ref)
            index.meaning = load_meaning(conn, vectors_model, start, end)
        return pending, index

    pending, index = await db.read_async(load)
    if progress is not None:
        progress.start("group", len(pending))
    ahead = _ask_ahead(index, pending, model) if model is not None and ask_ahead else {}
    created = 0
    for ref in pending:
        # Pending stories come in filing order: what is older than this one's window can
        # meet no later story either, so its memory goes back.
        index.forget_before(ref.filed_at - WINDOW)
        if model is None:
            decision = await index.choose(ref)
        else:
            try:
                decision = await _choose_with_model(db, index, ref, model, now, ahead)
            except StorageFailure:
                raise
            except Exception:  # a failed, held or paused model call must
                # not lose the story: the rules decide this one, as they do with no model
                decision = await index.choose(ref)
        event_id = await db.write(lambda c, r=ref, d=decision: store_events.attach(c, r, d, now))
        relation = "lead" if decision.event_id is None else decision.relation
        index.add(replace(ref, event_id=event_id, relation=relation))
        created += decision.event_id is None
        if progress is not None:
            progress.advance("group")
    # Questions asked ahead that the stories' placements made moot still finish (their
    # receipts settle), rather than being cut off mid-call and held as unknown.
    await asyncio.gather(*(task for _, task in ahead.values()), return_exceptions=True)
    return len(pending), created


Ahead = dict[int, tuple[list[int], "asyncio.Task[list[Relation]]"]]


def _ask_ahead(index: CandidateIndex, pending: list[StoryRef], model: ModelMode) -> Ahead:
    """Every pending story's relation call, sent at once instead of one after another.

    Stories are placed one by one (a story can join an event started earlier in the same
    pass), but the question each one asks is known before: its candidates are the window plus
    the stories placed before it, whatever their events, and the prompt shows no event. A dry
    run of the index finds them; the placing loop then uses an answer only when its real
    candidates are the same (a candidate that became a development is left out, and then the
    story asks again). Results are identical to asking one by one; the calls overlap.
    """
    planned: list[tuple[StoryRef, list[StoryRef]]] = []
    for ref in pending:
        usable = [c for c in index.candidates(ref) if _model_may_judge(ref, c)]
        if usable:
            planned.append((ref, usable))
        index.add(replace(ref, event_id=-1, relation="lead"))  # placed, event unknown
    for ref in pending:
        index.remove(ref.item_id)
    return {
        ref.item_id: (
            [c.item_id for c in usable],
            asyncio.ensure_future(judge_relations(model.judge, ref, usable, model.confirm)),
        )
        for ref, usable in planned
    }


async def _choose_with_model(
    db: Database,
    index: CandidateIndex,
    ref: StoryRef,
    model: ModelMode,
    now: datetime,
    ahead: Ahead | None = None,
) -> GroupDecision:
    """Candidates from text and meaning, then one batched model call judges them all."""
    usable = [c for c in index.candidates(ref) if _model_may_judge(ref, c)]
    asked = (ahead or {}).pop(ref.item_id, None)
    if asked is not None and asked[0] == [c.item_id for c in usable]:
        relations = await asked[1]  # the same question, asked ahead
    else:
        if asked is not None:
            (ahead or {})[ref.item_id] = asked  # finished at the end of the pass
        relations = await judge_relations(model.judge, ref, usable, model.confirm)
    return decide(ref, zip(usable, relations, strict=True))


def _model_may_judge(new: StoryRef, other: StoryRef) -> bool:
    """The model judges other sources' reports; one source's own posts stay the rules' call
    (only an addendum naming the same model joins, `events.grouping._one_source`)."""
    return joinable(new, other) and other.source_id != new.source_id


async def refresh_heat(db: Database, now: datetime, backfill_counts: bool = False) -> int:
    """Recompute heat of every event reported in the last 48 h (and decay the others).
    The demo passes its snapshot's clock and counts its backfill (`events.heat.event_heat`)."""
    seen = await db.read_async(lambda c: store_events.sightings(c, now - HEAT_WINDOW))
    heats = {
        event_id: event_heat(
            (Report(s.source_id, s.at, s.backfill) for s in rows), now, backfill_counts
        )
        for event_id, rows in seen.items()
    }
    if heats:
        await db.write(lambda c: store_events.save_heat(c, heats, now))
    await db.write(lambda c: store_events.prune_heat(c, now))
    return len(heats)
