"""``remember``: a conversation's lasting facts, reconciled with what is already remembered.

For each fact the extractor found, the user's most similar memories are found
with the same instruction-aware search as ``search_memory``, and the extractor
decides: add it, refine one of them in place, supersede one (the old memory is
kept as the past, ``valid_until`` the fact's time), end one's validity
("delete": kept as the past too), or nothing. Nothing an LLM decides erases a
memory, so every decision can be undone. Its decision is
checked before anything is written: only the memories it was shown can be
touched, so a model cannot reach another user's memory or invent an id. A
decision that cannot be followed is handled by the ``on_invalid`` policy and
reported in the returned change, never dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from agent_memory._errors import ExtractionError, InvalidTypeError, MemoryNotFoundError, ValidationError
from agent_memory._times import zone
from agent_memory._types import Memory, Scope
from agent_memory._validation import DEFAULT_LIMITS, Limits, check_actor, check_at_most, check_choice, check_text
from agent_memory.extraction._extractor import ACTIONS, BatchDecider, Decision, Extractor, Fact, Message, to_messages
from agent_memory.extraction._prompts import MAX_FACTS
from agent_memory.store._validity import check_validity

if TYPE_CHECKING:
    from agent_memory._writer import Writer

__all__ = ["EVENTS", "ON_INVALID", "Candidates", "MemoryChange", "remember"]

_log = logging.getLogger("agent_memory.extraction")

Candidates = Callable[[str, Scope, int], list[Memory]]
"""The ``top_k`` memories of a scope most like a fact, found as ``search_memory`` finds them."""

EVENTS = ("added", "updated", "superseded", "expired", "unchanged", "skipped")
"""What :meth:`MemorySystem.remember` can report for a fact."""
ON_INVALID = ("add", "skip")
"""Policies for a decision that cannot be followed: store the fact as a new memory, or store nothing."""


@dataclass(frozen=True)
class MemoryChange:
    """What :meth:`MemorySystem.remember` did with one extracted fact.

    ``event`` is ``added``, ``updated`` (refined in place), ``superseded`` (a new memory
    replaced ``previous``, which is kept, expired), ``expired`` (``previous`` stopped
    holding; it is kept), ``unchanged`` (already known) or ``skipped`` (nothing stored,
    see ``problem``). ``memory`` is the memory as it is now (added, updated, the
    successor of a superseded one, expired, unchanged), ``previous`` as it was before
    (updated, superseded, expired).
    ``problem`` says why the extractor's decision was not followed, when it was not
    (the fact was then added or skipped per ``on_invalid``); ``None`` otherwise.
    """

    event: str
    fact: str
    memory: Memory | None = None
    previous: Memory | None = None
    problem: str | None = None
    rechecked: bool = False
    """Decided by a call of its own after a batched decision: an earlier fact of the same
    conversation changed a memory this one was shown."""

    @property
    def id(self) -> str | None:
        """The id of the memory added, updated, expired or found unchanged; of the new one when superseded."""
        found = self.memory or self.previous
        return found.id if found else None

    @property
    def old_text(self) -> str | None:
        """The text before the change (updated, superseded, expired)."""
        return self.previous.text if self.previous else None

    @property
    def new_text(self) -> str | None:
        """The text after the change (added, updated, superseded)."""
        return self.memory.text if self.memory and self.event in ("added", "updated", "superseded") else None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict: event, id, fact, old and new text, problem."""
        return {
            "event": self.event,
            "id": self.id,
            "fact": self.fact,
            "old_text": self.old_text,
            "new_text": self.new_text,
            "problem": self.problem,
            "rechecked": self.rechecked,
        }


def _normalised(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(".。!！")


@dataclass(frozen=True)
class _Pending:
    """A fact waiting for a decision, when it began to hold, the memories shown for it, and its kind
    (event or state) when the extractor said."""

    fact: str
    when: datetime
    shown: list[Memory]
    kind: str | None = None


BATCH_FACTS = MAX_FACTS
"""Facts decided in one call at most."""
BATCH_CHARS = 6_000
"""Prompt text per batched call at most (with the instructions, about 2k tokens: a small local model's context)."""


def _batches(pending: list[_Pending]) -> list[list[_Pending]]:
    """The facts in calls of at most :data:`BATCH_FACTS` facts and :data:`BATCH_CHARS` characters."""
    batches: list[list[_Pending]] = [[]]
    size = 0
    for item in pending:
        cost = len(item.fact) + sum(len(m.text) + 16 for m in item.shown) + 40
        if batches[-1] and (len(batches[-1]) == BATCH_FACTS or size + cost > BATCH_CHARS):
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += cost
    return [b for b in batches if b]


@dataclass(frozen=True)
class _Reconciler:
    writer: Writer
    search: Candidates
    extractor: Extractor
    scope: Scope
    actor: str
    on_invalid: str
    candidates: int
    conversation: Sequence[Message]

    def prepare(self, fact: object) -> _Pending | MemoryChange:
        """The fact with the memories to show for it; or its change, when no decision is needed."""
        kind = fact.kind if isinstance(fact, Fact) else None
        try:
            when = self._time_of(fact)
            fact = check_text(fact, "fact")
        except ValidationError as exc:
            return MemoryChange("skipped", str(fact), problem=str(exc))
        shown = self._candidates(fact)
        same = next((m for m in shown if _normalised(m.text) == _normalised(fact)), None)
        if same is not None:  # a restated fact costs no LLM call and can never delete anything
            return MemoryChange("unchanged", fact, memory=same)
        return _Pending(fact, when, shown, kind)

    def _time_of(self, fact: object) -> datetime:
        """When the fact began to hold: its own time, else its message's, else the last message's."""
        moment = self.conversation[-1].time
        if isinstance(fact, Fact) and fact.time is not None:
            moment = fact.time
        elif isinstance(fact, Fact) and fact.message is not None and 0 <= fact.message < len(self.conversation):
            moment = self.conversation[fact.message].time
        start = check_validity(moment, None)[0]
        if start is None:  # remember() gives every message a time
            raise ExtractionError("a fact came from a message without a time")
        return start

    def reconcile(self, fact: object) -> MemoryChange:
        """One fact, decided by a call of its own."""
        pending = self.prepare(fact)
        return pending if isinstance(pending, MemoryChange) else self._decide(pending)

    def reconcile_all(self, facts: Sequence[object], decider: BatchDecider) -> list[MemoryChange]:
        """All of a conversation's facts, decided in as few calls as the prompt budget allows, then
        applied in order; a decision whose target an earlier fact's decision changed (updated or
        deleted) is made again, for that fact alone, on what it sees now."""
        prepared = [self.prepare(fact) for fact in facts]
        decided = self._decide_batches(decider, [p for p in prepared if isinstance(p, _Pending) and p.shown])
        changed: set[str] = set()
        changes = []
        for item in prepared:
            change = item if isinstance(item, MemoryChange) else self._settle(item, decided.get(id(item)), changed)
            if change.event in ("updated", "superseded", "expired") and change.previous is not None:
                changed.add(change.previous.id)
            changes.append(change)
        return changes

    def _settle(self, pending: _Pending, decision: Decision | str | None, changed: set[str]) -> MemoryChange:
        if not pending.shown:
            return self._add(pending, pending.fact)
        if decision is None or (isinstance(decision, Decision) and decision.memory_id in changed):
            again = self.prepare(pending.fact)  # what it sees now
            if isinstance(again, MemoryChange):
                return again
            return replace(self._decide(replace(again, when=pending.when, kind=pending.kind)), rechecked=True)
        if isinstance(decision, str):
            return self._fallback(pending, decision)
        problem = _refusal(decision, pending.shown)
        return self._fallback(pending, problem) if problem else self._apply(pending, decision)

    def _decide_batches(self, decider: BatchDecider, asked: list[_Pending]) -> dict[int, Decision | str | None]:
        """Each pending fact's decision (by ``id()``), or why there is none (an error message)."""
        decided: dict[int, Decision | str | None] = {}
        for batch in _batches(asked):
            try:
                answers: Sequence[object] = decider.decide_all([(p.fact, p.shown) for p in batch])
            except ExtractionError as exc:
                answers = [str(exc)] * len(batch)
            if not isinstance(answers, list) or len(answers) != len(batch):
                answers = [None] * len(batch)  # not one answer per fact: ask each alone
            decided.update(
                (id(p), a if isinstance(a, Decision | str) else None) for p, a in zip(batch, answers, strict=True)
            )
        return decided

    def _candidates(self, fact: str) -> list[Memory]:
        return self.search(fact, self.scope, self.candidates)

    def _decide(self, pending: _Pending) -> MemoryChange:
        if not pending.shown:
            return self._add(pending, pending.fact)
        try:
            decision = self.extractor.decide(pending.fact, pending.shown)
        except ExtractionError as exc:
            return self._fallback(pending, str(exc))
        problem = _refusal(decision, pending.shown)
        return self._fallback(pending, problem) if problem else self._apply(pending, decision)

    def _apply(self, pending: _Pending, decision: Decision) -> MemoryChange:
        fact = pending.fact
        target = next((m for m in pending.shown if m.id == decision.memory_id), None)
        if decision.action == "add":
            return self._add(pending, decision.text or fact)
        text = decision.text or fact
        if decision.action == "none" or target is None or (decision.action != "delete" and text == target.text):
            return MemoryChange("unchanged", fact, memory=target)
        writer, owner = self.writer, Scope(self.scope.user_id)
        try:
            if decision.action == "update":
                updated = writer.update(target.id, owner, text, None, self.actor)
                return MemoryChange("updated", fact, memory=updated, previous=target)
            ended = writer.set_validity(target.id, owner, pending.when, self.actor)
        except MemoryNotFoundError:
            return self._fallback(pending, f"memory {target.id!r} was deleted while the model was deciding")
        if decision.action == "delete":
            return MemoryChange("expired", fact, memory=ended, previous=target)
        [successor], _ = writer.add(
            [text], [{}], self.scope, self.actor, valid=(pending.when, None), supersedes=target.id, kind=pending.kind
        )
        return MemoryChange("superseded", fact, memory=successor, previous=target)

    def _add(self, pending: _Pending, text: str, problem: str | None = None) -> MemoryChange:
        [memory], created = self.writer.add(
            [text], [{}], self.scope, self.actor, valid=(pending.when, None), kind=pending.kind
        )
        event = "added" if memory.id in created else "unchanged"
        return MemoryChange(event, pending.fact, memory=memory, problem=problem)

    def _fallback(self, pending: _Pending, problem: str) -> MemoryChange:
        outcome = "added" if self.on_invalid == "add" else "skipped"
        _log.info("a decision could not be followed (%s): the fact is %s", problem, outcome)
        if self.on_invalid == "add":
            return self._add(pending, pending.fact, problem)
        return MemoryChange("skipped", pending.fact, problem=problem)


def _refusal(decision: object, shown: list[Memory]) -> str | None:
    """Why ``decision`` cannot be followed, or ``None`` when it can."""
    if not isinstance(decision, Decision):
        return f"the extractor returned a {type(decision).__name__}, not a Decision"
    if decision.action not in ACTIONS:
        return f"unknown action {decision.action!r} (expected one of {', '.join(ACTIONS)})"
    if decision.action in ("update", "supersede", "delete") and decision.memory_id is None:
        return f"{decision.action!r} without the id of a memory"
    if decision.action != "add" and decision.memory_id not in {None, *(m.id for m in shown)}:
        return f"unknown memory id {decision.memory_id!r}: not one of the {len(shown)} memories shown"
    try:
        if decision.text is not None:
            check_text(decision.text, "the decision's text")
    except ValidationError as exc:
        return str(exc)
    return None


def remember(
    writer: Writer,
    search: Candidates,
    messages: object,
    *,
    user_id: str,
    extractor: Extractor,
    agent_id: str | None,
    session_id: str | None,
    candidates: int,
    on_invalid: str,
    actor: str | None,
    batch_decisions: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> list[MemoryChange]:
    """See :meth:`MemorySystem.remember`; ``writer`` and ``search`` are that system's."""
    if not isinstance(extractor, Extractor):
        raise InvalidTypeError(f"extractor {extractor!r} does not implement the Extractor protocol")
    scope = Scope.of(user_id, agent_id, session_id)
    now = datetime.now(zone(None))  # "tomorrow" is read in the default zone, as a query's time words are
    conversation = [
        replace(m, time=m.time or now) for m in to_messages(messages, extractor, limits) if m.content.strip()
    ]
    reconciler = _Reconciler(
        writer,
        search,
        extractor,
        scope,
        check_actor(actor, agent_id or "remember"),
        check_choice(on_invalid, ON_INVALID, "on_invalid"),
        check_at_most(candidates, "candidates", limits),
        conversation,
    )
    if not conversation:
        return []
    facts = extractor.extract(conversation)
    if not isinstance(facts, list):
        raise ExtractionError(f"the extractor returned a {type(facts).__name__}, not a list of facts")
    if batch_decisions and isinstance(extractor, BatchDecider):
        return reconciler.reconcile_all(_distinct(facts), extractor)
    return [reconciler.reconcile(fact) for fact in _distinct(facts)]


def _distinct(facts: Sequence[object]) -> list[object]:
    """The facts without blanks and repeats (same words, case and spacing aside), in order."""
    seen: dict[object, object] = {}
    for fact in facts:
        if isinstance(fact, str):
            if fact.strip():  # a Fact keeps its message: strip() would make a plain str
                seen.setdefault(_normalised(fact), fact if isinstance(fact, Fact) else fact.strip())
        else:
            seen.setdefault(id(fact), fact)
    return list(seen.values())
