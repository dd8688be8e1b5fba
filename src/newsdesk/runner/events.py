"""Wiring of the events stage: grouping, titles after judging, heat.

Grouping loads the 14-day window around the pending stories into one `CandidateIndex` per pass
and adds each story as it is placed, so later stories of the same pass can join it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection

from newsdesk.domain import GroupDecision, HeatScale, StoryRef
from newsdesk.embed import VectorIndex
from newsdesk.embed.base import from_blob
from newsdesk.events import CandidateIndex, decide
from newsdesk.events.grouping import WINDOW, joinable
from newsdesk.events.heat import Report, event_heat
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


@dataclass
class Grouped:
    """What a grouping run did."""

    placed: int = 0  # stories placed
    created: int = 0  # events started
    # stories a rules placement stood in for the model and the model now disagreed with, so
    # they (and what their run placed after them) were placed again
    regrouped: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)  # the events they were taken out of


async def group_pending(
    db: Database,
    now: datetime,
    progress: Any = None,
    model: ModelMode | None = None,
    ask_ahead: bool = True,
    ids: Collection[int] | None = None,
    vectors_model: str | None = None,
) -> Grouped:
    """Group every story not yet in an event (those among `ids` when given).

    With a model, the rules' stand-in placements of earlier runs (their relation call failed,
    or was held after a crash) are first asked of the model again (`settle_fallbacks`).

    `vectors_model` names the embedder whose stored vectors add candidates and the cosine of
    meaning to the rules (`runner.embed.current_model`); None groups by text features alone."""
    out = Grouped()
    wanted = None if ids is None else set(ids)
    if model is not None:
        out.regrouped, out.left = await settle_fallbacks(db, model, now, vectors_model)
        if wanted is not None:
            wanted |= set(out.regrouped)

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
        fallback = None
        if model is None:
            decision = await index.choose(ref)
        else:
            try:
                decision = await _choose_with_model(db, index, ref, model, now, ahead)
            except StorageFailure:
                raise
            except Exception as exc:  # a failed, held or paused model call must not lose the
                # story: the rules decide this one, as they do with no model, and say so, so
                # that a later run asks the model again (`settle_fallbacks`)
                decision = await index.choose(ref)
                fallback = f"{type(exc).__name__}: {exc}"[:500]
        # a repeat of the happening that carries a different figure (before the story joins
        # the index, which then counts its numbers as the event's)
        news = (
            decision.event_id is not None
            and decision.relation == "same_occurrence"
            and index.brings_new_numbers(ref, decision.event_id)
        )
        event_id = await db.write(
            lambda c, r=ref, d=decision, f=fallback, n=news: store_events.attach(c, r, d, now, f, n)
        )
        relation = "lead" if decision.event_id is None else decision.relation
        index.add(replace(ref, event_id=event_id, relation=relation))
        created += decision.event_id is None
        if progress is not None:
            progress.advance("group")
    # Questions asked ahead that the stories' placements made moot still finish (their
    # receipts settle), rather than being cut off mid-call and held as unknown.
    await asyncio.gather(*(task for _, task in ahead.values()), return_exceptions=True)
    out.placed, out.created = len(pending), created
    return out


async def settle_fallbacks(
    db: Database, model: ModelMode, now: datetime, vectors_model: str | None
) -> tuple[list[int], list[int]]:
    """Ask the model again about the stories the rules placed in its place, each with the
    question it was asked then (the same candidates: the window as it stood, without what its
    run placed after it), so an answer stored since, or the call held after a crash and now
    sent, settles it. Where the model agrees, the placement stands; where it does not, the
    story and everything its run placed after it are taken out to be placed again (those
    placements were made around the rules' choice). A story the model still cannot answer
    for stays as it is, and so do the later ones of its run.

    Returns (the stories taken out, the events they left)."""
    fallbacks = await db.read_async(store_events.fallback_placements)
    taken: list[int] = []
    left: set[int] = set()
    settled_batch = None
    for fb in fallbacks:
        if fb.batch == settled_batch:
            continue  # its run was regrouped from an earlier story on, or is still waiting
        try:
            decision = await _ask_again(db, model, fb, vectors_model)
        except StorageFailure:
            raise
        except Exception:  # still no answer (down, held, paused): later runs ask again
            settled_batch = fb.batch
            continue
        ref = fb.ref
        same = (decision.event_id is None and ref.relation == "lead") or (
            decision.event_id == ref.event_id and decision.relation == ref.relation
        )
        if same:
            await db.write(
                lambda c, i=ref.item_id, s=decision.similarity: store_events.confirm_placement(
                    c, i, s
                )
            )
            continue
        moved = [ref.item_id, *fb.later]
        out, events = await db.write(lambda c, ids=moved: store_events.unplace(c, ids, now))
        taken += out
        left.update(events)
        settled_batch = fb.batch
    return sorted(taken), sorted(left)


async def _ask_again(
    db: Database, model: ModelMode, fb: store_events.Fallback, vectors_model: str | None
) -> GroupDecision:
    ref = fb.ref
    start, end = ref.filed_at - WINDOW, ref.filed_at + WINDOW
    leave_out = fb.later | {ref.item_id}

    def load(conn: Connection) -> CandidateIndex:
        index = CandidateIndex()
        for other in store_events.window_refs(conn, start, end):
            if other.item_id not in leave_out:
                index.add(other)
        index.meaning = load_meaning(conn, vectors_model, start, end)
        return index

    index = await db.read_async(load)
    usable = [c for c in index.candidates(ref) if _model_may_judge(ref, c)]
    relations = await judge_relations(model.judge, ref, usable, model.confirm)
    return decide(ref, zip(usable, relations, strict=True))


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
    """Recompute heat of every event reported within the desk's heat window (and decay the
    others), on the scale its pace gives (`domain.HeatScale`), stored for the pages to say.
    The demo passes its snapshot's clock and counts its backfill (`events.heat.event_heat`)."""

    def read(c: Connection) -> tuple[HeatScale, dict[int, list[Any]]]:
        scale = HeatScale.for_pace(store_events.pace_reach(c, now, backfill_counts))
        return scale, store_events.sightings(c, now - scale.window)

    scale, seen = await db.read_async(read)
    heats = {
        event_id: event_heat(
            (Report(s.source_id, s.at, s.backfill) for s in rows), now, backfill_counts, scale
        )
        for event_id, rows in seen.items()
    }

    def write(c: Connection) -> None:
        if heats:
            store_events.save_heat(c, heats, now)
        store_events.save_heat_scale(c, scale, now)
        store_events.prune_heat(c, now)

    await db.write(write)
    return len(heats)
