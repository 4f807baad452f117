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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from agent_memory._errors import InvalidTypeError, ValidationError
from agent_memory._times import check_time, epoch_ms, now_epoch_ms
from agent_memory._types import Memory, Scope, SearchHit
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
    "best_first",
    "bounds_ms",
    "check_half_life",
    "check_validity",
    "expired",
    "favour_range",
    "favour_recent",
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


def best_first(hits: list[SearchHit]) -> list[SearchHit]:
    """Hits by score, those a time-aware search found in the span it named (with a ``time_range``) first."""
    return sorted(hits, key=lambda h: (h.time_range is not None, h.score), reverse=True)


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


OUTSIDE_RANGE = 0.8
"""Score factor, in a time-aware search, of a state tied to the span the query names only by nothing
having ended it: it began before the span and still holds. Hits known to belong to the span (they
began in it, or held in it and ended since) keep their score. Chosen by ``benchmarks/temporal.py --tune``."""
EVENT_OUTSIDE = 0.5
"""Score factor, in a time-aware search, of an event that happened before the span the query names:
it is kept only because nothing ended it, but it did not happen in the span. An event that
happened in the span keeps its score. Chosen by ``benchmarks/temporal.py --tune``."""


def favour_range(
    hits: list[SearchHit], window: Window, kind_of: Callable[[Memory], str] | None = None, asked: str = "state"
) -> list[SearchHit]:
    """Hits of a time-aware search (all of which held at some time in ``window``) re-ranked: see
    :data:`OUTSIDE_RANGE`, and, where ``kind_of`` says a memory is an ``"event"``,
    :data:`EVENT_OUTSIDE`. When the query asks what happened (``asked="event"``), what began
    before the span is no answer either, whatever it is: it too gets :data:`EVENT_OUTSIDE`. A
    memory with no ``valid_from`` began when it was stored."""

    def factor(memory: Memory) -> float:
        began = memory.valid_from or memory.created_at
        if began is not None and epoch_ms(began) >= window.start_ms:
            return 1.0
        if asked == "event" or (kind_of is not None and kind_of(memory) == "event"):
            return EVENT_OUTSIDE
        return 1.0 if memory.valid_until is not None else OUTSIDE_RANGE

    rescored = [replace(h, score=h.score * factor(h.memory)) for h in hits]
    return best_first(rescored)


RECENCY_WEIGHT = 0.2
"""The share of a hit's score that recency (``recency_half_life``) can take away: a memory as old as
the half-life keeps 90% of its score, a very old one 80%."""


def favour_recent(hits: list[SearchHit], half_life: timedelta, now_ms: int) -> list[SearchHit]:
    """Hits re-ranked with a preference for recent memories: the score times
    ``1 - RECENCY_WEIGHT * (1 - 0.5 ** (age / half_life))``, the age counted from ``valid_from``
    (else the time it was stored) to ``now_ms``."""

    def factor(memory: Memory) -> float:
        began = memory.valid_from or memory.created_at
        age_ms = max(now_ms - epoch_ms(began), 0) if began is not None else 0
        kept: float = 0.5 ** (age_ms / (half_life.total_seconds() * 1000))
        return 1.0 - RECENCY_WEIGHT * (1.0 - kept)

    rescored = [replace(h, score=h.score * factor(h.memory)) for h in hits]
    return best_first(rescored)


def check_half_life(value: object) -> timedelta | None:
    """``recency_half_life``: a ``timedelta`` or a number of days, positive; ``None`` turns recency off."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float):
        raise InvalidTypeError(f"recency_half_life must be a timedelta or a number of days, got {type(value).__name__}")
    found = value if isinstance(value, timedelta) else timedelta(days=value)
    if found <= timedelta(0):
        raise ValidationError(f"recency_half_life must be positive, got {value!r}")
    return found


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
