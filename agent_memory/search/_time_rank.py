"""How time ranks hits: a time-aware search's span, recency, and hits found in a span first.

These rules change the order of what a read kept, never what it keeps: which memories
hold when (``valid_from``/``valid_until``, ``as_of``, "holds now") is
:mod:`agent_memory.store._validity`. Their factors were chosen by
``benchmarks/temporal.py --tune`` on its tuning split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from agent_memory._errors import InvalidTypeError, ValidationError
from agent_memory._times import epoch_ms
from agent_memory._types import Memory, SearchHit
from agent_memory.store._validity import Window

__all__ = [
    "EVENT_OUTSIDE",
    "OUTSIDE_RANGE",
    "RECENCY_WEIGHT",
    "best_first",
    "check_half_life",
    "favour_range",
    "favour_recent",
]


def best_first(hits: list[SearchHit]) -> list[SearchHit]:
    """Hits by score, those a time-aware search found in the span it named (with a ``time_range``) first."""
    return sorted(hits, key=lambda h: (h.time_range is not None, h.score), reverse=True)


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
