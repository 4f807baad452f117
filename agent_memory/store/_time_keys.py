"""How times are laid out in Chroma: numbers every record carries, so that searches and lists filter on them.

A memory's creation time lives in its UUIDv7 id, and used to be stored as
metadata only when it differed. Chroma filters on metadata and has no
``$exists``, so every record now also carries ``created_ms`` (epoch milliseconds)
and both validity bounds (open ones as the largest numbers a float holds exactly).
Collections written before that get them on open, once (:func:`ensure_times`), and
are marked in their own metadata so the check costs nothing afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from agent_memory._errors import ValidationError
from agent_memory._times import epoch_ms

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

__all__ = [
    "CREATED_MS",
    "OPEN_END",
    "OPEN_START",
    "SUPERSEDES",
    "TIMES_MARK",
    "VALID_FROM_MS",
    "VALID_UNTIL_MS",
    "bound_ms",
    "ensure_times",
    "from_bound_ms",
    "time_clauses",
]

CREATED_MS = "created_ms"
"""The metadata key of a record's creation time (epoch milliseconds, UTC)."""
TIMES_MARK = "am_times"
"""Collection metadata: ``2`` when every record carries :data:`CREATED_MS` and both validity bounds."""
VALID_FROM_MS = "valid_from_ms"
VALID_UNTIL_MS = "valid_until_ms"
SUPERSEDES = "supersedes"
OPEN_START = -(2**53 - 1)
"""The stored ``valid_from_ms`` of a memory that holds since always (``valid_from=None``)."""
OPEN_END = 2**53 - 1
"""The stored ``valid_until_ms`` of a memory that still holds (``valid_until=None``)."""
_TIMES_VERSION = 2
_PAGE = 1000


def bound_ms(moment: datetime | None, open_bound: int) -> int:
    """A validity bound as stored: epoch milliseconds, ``open_bound`` for ``None``."""
    return open_bound if moment is None else epoch_ms(moment)


def from_bound_ms(value: object, open_bound: int) -> datetime | None:
    """A stored validity bound as a UTC datetime; ``None`` for an open (or missing) one."""
    if not isinstance(value, int | float) or value == open_bound:
        return None
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)


def time_clauses(since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
    """Chroma ``where`` clauses for a creation time from ``since`` (inclusive) to ``until`` (exclusive)."""
    if since is not None and until is not None and until <= since:
        raise ValidationError(f"until ({until.isoformat()}) must come after since ({since.isoformat()})")
    clauses: list[dict[str, Any]] = []
    if since is not None:
        clauses.append({CREATED_MS: {"$gte": epoch_ms(since)}})
    if until is not None:
        clauses.append({CREATED_MS: {"$lt": epoch_ms(until)}})
    return clauses


def ensure_times(collection: Collection, created_ms: Callable[[str, Mapping[str, Any]], int]) -> int:
    """Give every record of a collection written before these keys existed its creation time
    (``created_ms(record_id, metadata)``) and open validity bounds, then mark the collection;
    returns how many records were updated."""
    marks = dict(collection.metadata or {})
    if marks.get(TIMES_MARK) == _TIMES_VERSION:
        return 0
    updated, offset = 0, 0
    while True:
        page = collection.get(limit=_PAGE, offset=offset, include=["metadatas"])
        if not page["ids"]:
            break
        rows = zip(page["ids"], page["metadatas"] or [], strict=True)
        missing = [(i, m or {}) for i, m in rows if not {CREATED_MS, VALID_FROM_MS, VALID_UNTIL_MS} <= set(m or {})]
        if missing:
            collection.update(
                ids=[i for i, _ in missing], metadatas=[_missing_times(i, m, created_ms) for i, m in missing]
            )
            updated += len(missing)
        offset += len(page["ids"])
    collection.modify(metadata={**marks, TIMES_MARK: _TIMES_VERSION})
    return updated


def _missing_times(
    record_id: str, metadata: Mapping[str, Any], created_ms: Callable[[str, Mapping[str, Any]], int]
) -> dict[str, int]:
    defaults = {VALID_FROM_MS: OPEN_START, VALID_UNTIL_MS: OPEN_END}
    found = {k: v for k, v in defaults.items() if k not in metadata}
    if CREATED_MS not in metadata:
        found[CREATED_MS] = created_ms(record_id, metadata)
    return found
