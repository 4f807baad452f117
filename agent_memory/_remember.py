"""``remember``: a conversation's lasting facts, reconciled with what is already remembered.

For each fact the extractor found, the user's most similar memories are found
with the same instruction-aware search as ``search_memory``, and the extractor
decides: add it, update one of them, delete one, or nothing. Its decision is
checked before anything is written: only the memories it was shown can be
touched, so a model cannot reach another user's memory or invent an id. A
decision that cannot be followed is handled by the ``on_invalid`` policy and
reported in the returned change, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from agent_memory._errors import ExtractionError, InvalidTypeError, MemoryNotFoundError, ValidationError
from agent_memory._extraction import ACTIONS, BatchDecider, Decision, Extractor, to_messages
from agent_memory._records import Scope
from agent_memory._tasks import TASKS
from agent_memory._types import Memory
from agent_memory._validation import check_actor, check_choice, check_positive, check_text

if TYPE_CHECKING:
    from agent_memory._system import MemorySystem

__all__ = ["EVENTS", "ON_INVALID", "MemoryChange", "remember"]

EVENTS = ("added", "updated", "deleted", "unchanged", "skipped")
"""What :meth:`MemorySystem.remember` can report for a fact."""
ON_INVALID = ("add", "skip")
"""Policies for a decision that cannot be followed: store the fact as a new memory, or store nothing."""


@dataclass(frozen=True)
class MemoryChange:
    """What :meth:`MemorySystem.remember` did with one extracted fact.

    ``event`` is ``added``, ``updated``, ``deleted``, ``unchanged`` (already known)
    or ``skipped`` (nothing stored, see ``problem``). ``memory`` is the memory as it
    is now (added, updated, unchanged), ``previous`` as it was (updated, deleted).
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
        """The id of the memory added, updated, deleted or found unchanged."""
        found = self.memory or self.previous
        return found.id if found else None

    @property
    def old_text(self) -> str | None:
        """The text before the change (updated, deleted)."""
        return self.previous.text if self.previous else None

    @property
    def new_text(self) -> str | None:
        """The text after the change (added, updated)."""
        return self.memory.text if self.memory and self.event in ("added", "updated") else None

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
    """A fact waiting for a decision, and the memories shown for it."""

    fact: str
    shown: list[Memory]


BATCH_FACTS = 20
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
    system: MemorySystem
    extractor: Extractor
    scope: Scope
    actor: str
    on_invalid: str
    candidates: int

    def prepare(self, fact: object) -> _Pending | MemoryChange:
        """The fact with the memories to show for it; or its change, when no decision is needed."""
        try:
            fact = check_text(fact, "fact")
        except ValidationError as exc:
            return MemoryChange("skipped", str(fact), problem=str(exc))
        shown = self._candidates(fact)
        same = next((m for m in shown if _normalised(m.text) == _normalised(fact)), None)
        if same is not None:  # a restated fact costs no LLM call and can never delete anything
            return MemoryChange("unchanged", fact, memory=same)
        return _Pending(fact, shown)

    def reconcile(self, fact: object) -> MemoryChange:
        """One fact, decided by a call of its own."""
        pending = self.prepare(fact)
        return pending if isinstance(pending, MemoryChange) else self._decide(pending.fact, pending.shown)

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
            if change.event in ("updated", "deleted") and change.previous is not None:
                changed.add(change.previous.id)
            changes.append(change)
        return changes

    def _settle(self, pending: _Pending, decision: Decision | str | None, changed: set[str]) -> MemoryChange:
        if not pending.shown:
            return self._add(pending.fact, pending.fact)
        if decision is None or (isinstance(decision, Decision) and decision.memory_id in changed):
            again = self.prepare(pending.fact)  # what it sees now
            if isinstance(again, MemoryChange):
                return again
            return replace(self._decide(again.fact, again.shown), rechecked=True)
        if isinstance(decision, str):
            return self._fallback(pending.fact, decision)
        problem = _refusal(decision, pending.shown)
        return self._fallback(pending.fact, problem) if problem else self._apply(pending.fact, decision, pending.shown)

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
        hits = self.system.search_memory(
            fact,
            user_id=self.scope.user_id,
            agent_id=self.scope.agent_id,
            top_k=self.candidates,
            task=TASKS["reconcile"],
        )
        return [hit.memory for hit in hits]

    def _decide(self, fact: str, shown: list[Memory]) -> MemoryChange:
        if not shown:
            return self._add(fact, fact)
        try:
            decision = self.extractor.decide(fact, shown)
        except ExtractionError as exc:
            return self._fallback(fact, str(exc))
        problem = _refusal(decision, shown)
        return self._fallback(fact, problem) if problem else self._apply(fact, decision, shown)

    def _apply(self, fact: str, decision: Decision, shown: list[Memory]) -> MemoryChange:
        target = next((m for m in shown if m.id == decision.memory_id), None)
        if decision.action == "add":
            return self._add(fact, decision.text or fact)
        if decision.action == "none" or target is None:
            return MemoryChange("unchanged", fact, memory=target)
        try:
            if decision.action == "delete":
                if not self.system.delete_memory(target.id, user_id=self.scope.user_id, actor=self.actor):
                    raise MemoryNotFoundError(target.id)
                return MemoryChange("deleted", fact, previous=target)
            text = decision.text or fact
            if text == target.text:
                return MemoryChange("unchanged", fact, memory=target)
            updated = self.system.update_memory(target.id, user_id=self.scope.user_id, text=text, actor=self.actor)
            return MemoryChange("updated", fact, memory=updated, previous=target)
        except MemoryNotFoundError:
            return self._fallback(fact, f"memory {target.id!r} was deleted while the model was deciding")

    def _add(self, fact: str, text: str, problem: str | None = None) -> MemoryChange:
        [memory], created = self.system.writer.add([text], [{}], self.scope, self.actor)
        return MemoryChange("added" if memory.id in created else "unchanged", fact, memory=memory, problem=problem)

    def _fallback(self, fact: str, problem: str) -> MemoryChange:
        if self.on_invalid == "add":
            return self._add(fact, fact, problem)
        return MemoryChange("skipped", fact, problem=problem)


def _refusal(decision: object, shown: list[Memory]) -> str | None:
    """Why ``decision`` cannot be followed, or ``None`` when it can."""
    if not isinstance(decision, Decision):
        return f"the extractor returned a {type(decision).__name__}, not a Decision"
    if decision.action not in ACTIONS:
        return f"unknown action {decision.action!r} (expected one of {', '.join(ACTIONS)})"
    if decision.action in ("update", "delete") and decision.memory_id is None:
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
    system: MemorySystem,
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
) -> list[MemoryChange]:
    """See :meth:`MemorySystem.remember`."""
    if not isinstance(extractor, Extractor):
        raise InvalidTypeError(f"extractor {extractor!r} does not implement the Extractor protocol")
    scope = Scope.of(user_id, agent_id, session_id)
    reconciler = _Reconciler(
        system,
        extractor,
        scope,
        check_actor(actor, agent_id or "remember"),
        check_choice(on_invalid, ON_INVALID, "on_invalid"),
        check_positive(candidates, "candidates"),
    )
    now = datetime.now().astimezone()  # local: "tomorrow" means the user's tomorrow, not UTC's
    conversation = [replace(m, time=m.time or now) for m in to_messages(messages, extractor) if m.content.strip()]
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
            fact = fact.strip()
            if fact:
                seen.setdefault(_normalised(fact), fact)
        else:
            seen.setdefault(id(fact), fact)
    return list(seen.values())
