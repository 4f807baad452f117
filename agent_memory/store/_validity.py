"""When a memory holds: ``valid_from``/``valid_until``, and which memories a read keeps.

A memory that stopped being true (the user moved, changed jobs) is not
overwritten: it is kept with ``valid_until`` set, and the memory that replaced it
names it in ``supersedes``. Reads keep what holds now by default; ``as_of`` keeps
what held then, a time range (time-aware search) what held at any time in it,
``include_expired`` everything.

Every record carries both bounds as epoch milliseconds (an open bound is a
sentinel far in the past or future), because Chroma has no ``$exists``: a record
without the key would never match a range clause. Searches do not send the
"holds now" clauses to Chroma when they need not: a range clause that matches
nearly every record costs about 2.5 times the query on 100k records, and few
memories have expired. They search as if nothing had, and search again with the
clauses only when a hit turns out to have expired (:func:`query_valid`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

from agent_memory._errors import ValidationError
from agent_memory._times import check_time, epoch_ms, now_epoch_ms
from agent_memory._types import Memory, Scope
from agent_memory.store._records import where_of
from agent_memory.store._time_keys import (
    CREATED_MS,
    OPEN_END,
    OPEN_START,
    VALID_FROM_MS,
    VALID_UNTIL_MS,
    bound_ms,
    time_clauses,
)

__all__ = [
    "Window",
    "bounds_ms",
    "check_validity",
    "expired",
    "query_valid",
    "window_of",
    "with_times",
]


def bounds_ms(memory: Memory) -> tuple[int, int]:
    """The span a memory holds in, in epoch milliseconds: from (inclusive) until (excluded)."""
    return bound_ms(memory.valid_from, OPEN_START), bound_ms(memory.valid_until, OPEN_END)


def with_times(
    where: Mapping[str, Any] | None, since: object, until: object, tz: str | tzinfo | None
) -> dict[str, Any] | None:
    """The caller's filters narrowed to a creation time from ``since`` to ``until``."""
    clauses = time_clauses(check_time(since, "since", tz), check_time(until, "until", tz))
    return where_of([where, *clauses] if where else clauses)


def expired(memory: Memory) -> bool:
    """Whether the memory's ``valid_until`` has passed (one that holds later is not expired)."""
    return bounds_ms(memory)[1] <= now_epoch_ms()


@dataclass(frozen=True)
class Window:
    """The span of time a read keeps memories from: those that hold at some moment in it.

    ``as_stored``: a memory with no ``valid_from`` begins when it was stored (time-aware
    search: "what did I tell you last week?"), instead of holding since always (``as_of``).
    """

    start_ms: int
    end_ms: int
    now: bool = False
    """The default "holds now": searched optimistically (see the module's docstring)."""
    as_stored: bool = False

    @classmethod
    def at(cls, moment_ms: int) -> Window:
        return cls(moment_ms, moment_ms + 1)

    def keeps(self, memory: Memory) -> bool:
        start, end = bounds_ms(memory)
        if self.as_stored and memory.valid_from is None and memory.created_at is not None:
            start = epoch_ms(memory.created_at)
        return start < self.end_ms and end > self.start_ms

    def clauses(self) -> list[dict[str, Any]]:
        clauses: list[dict[str, Any]] = [{VALID_UNTIL_MS: {"$gt": self.start_ms}}]
        if self.end_ms >= OPEN_END:
            return clauses
        began = {VALID_FROM_MS: {"$lt": self.end_ms}}
        if self.as_stored:
            stated = {"$and": [{VALID_FROM_MS: {"$gt": OPEN_START}}, began]}
            stored = {"$and": [{VALID_FROM_MS: OPEN_START}, {CREATED_MS: {"$lt": self.end_ms}}]}
            return [{"$or": [stated, stored]}, *clauses]
        return [began, *clauses]

    def narrow(self, where: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """``where`` with this window's clauses added."""
        return where_of([where, *self.clauses()] if where else self.clauses())


def check_validity(
    valid_from: object, valid_until: object, tz: str | tzinfo | None = None
) -> tuple[datetime | None, datetime | None]:
    """Checked bounds (datetimes or ISO 8601, naive ones in ``tz``), as UTC; ``valid_until`` after ``valid_from``."""
    start, end = check_time(valid_from, "valid_from", tz), check_time(valid_until, "valid_until", tz)
    if start is not None and end is not None and end <= start:
        raise ValidationError(f"valid_until ({end.isoformat()}) must come after valid_from ({start.isoformat()})")
    return _stored(start), _stored(end)


def _stored(moment: datetime | None) -> datetime | None:
    """UTC, to the millisecond: what a record keeps, so a memory reads back equal to what was stored."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(microsecond=moment.microsecond // 1000 * 1000)


def window_of(as_of: object, include_expired: bool, tz: str | tzinfo | None) -> Window | None:
    """What a read keeps: what held ``as_of``, everything (``include_expired``), else what holds now."""
    if not isinstance(include_expired, bool):
        raise ValidationError(f"include_expired must be True or False, got {include_expired!r}")
    moment = check_time(as_of, "as_of", tz)
    if moment is not None and include_expired:
        raise ValidationError("pass as_of= or include_expired=True, not both")
    if include_expired:
        return None
    if moment is None:  # not expired: a memory that holds from a later date is kept
        return Window(now_epoch_ms(), OPEN_END, now=True)
    return Window.at(epoch_ms(moment))


def query_valid(
    store: Any,
    vector: Any,
    scope: Scope,
    where: Mapping[str, Any] | None,
    top_k: int,
    window: Window | None,
    vectors: dict[str, Any] | None = None,
) -> list[tuple[Memory, float]]:
    """The store's ``top_k`` nearest memories in ``window``; for the "holds now" window, one query
    without its clauses, and a second with them only when a hit has expired. ``vectors``, when
    given, receives their stored vectors by id."""
    if window is not None and window.now:
        pairs: list[tuple[Memory, float]] = store.query(vector, scope, filters=where, top_k=top_k, vectors=vectors)
        if all(window.keeps(m) for m, _ in pairs):
            return pairs
    narrowed = where if window is None else window.narrow(where)
    return list(store.query(vector, scope, filters=narrowed, top_k=top_k, vectors=vectors))
