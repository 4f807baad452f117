"""When a memory was stored, as a number every record carries, so that searches and lists filter on it.

A memory's creation time lives in its UUIDv7 id, and used to be stored as
metadata only when it differed. Chroma filters on metadata and has no
``$exists``, so every record now also carries ``created_ms`` (epoch milliseconds).
Collections written before that get it on open, once (:func:`ensure_times`), and
are marked in their own metadata so the check costs nothing afterwards.

``since``/``until`` take a ``datetime`` or an ISO 8601 string; a value without a
zone is read in ``tz`` (an IANA name or a ``tzinfo``), by default the zone
``AGENT_MEMORY_TZ`` names, else UTC: the same on every surface. The CLI also takes
relative forms: ``7d``, ``2w``, ``12h``, ``30m``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent_memory import _config
from agent_memory._errors import InvalidFilterError, InvalidTypeError, ValidationError

__all__ = [
    "CREATED_MS",
    "OPEN_END",
    "OPEN_START",
    "SUPERSEDES",
    "TIMES_MARK",
    "VALID_FROM_MS",
    "VALID_UNTIL_MS",
    "bound_ms",
    "check_time",
    "ensure_times",
    "epoch_ms",
    "from_bound_ms",
    "now_epoch_ms",
    "refuse_time_keys",
    "relative_time",
    "time_clauses",
    "zone",
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
_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TIME_KEYS = {
    "created_at": "since=/until=",
    "updated_at": "since=/until= (on the creation time)",
    "valid_from": "as_of= (or include_expired=True)",
    "valid_until": "as_of= (or include_expired=True)",
}


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return int(moment.timestamp() * 1000)


def bound_ms(moment: datetime | None, open_bound: int) -> int:
    """A validity bound as stored: epoch milliseconds, ``open_bound`` for ``None``."""
    return open_bound if moment is None else epoch_ms(moment)


def from_bound_ms(value: object, open_bound: int) -> datetime | None:
    """A stored validity bound as a UTC datetime; ``None`` for an open (or missing) one."""
    if not isinstance(value, int | float) or value == open_bound:
        return None
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)


def now_epoch_ms() -> int:
    """This process's clock, in milliseconds since the epoch (what claims and the change feed stamp)."""
    return time.time_ns() // 1_000_000


def zone(tz: str | tzinfo | None) -> tzinfo:
    """The zone a naive time is read in: ``tz``, else ``AGENT_MEMORY_TZ``'s, else UTC."""
    if tz is None:
        tz = _config.default_zone()
    if isinstance(tz, tzinfo):
        return tz
    if not isinstance(tz, str):
        raise InvalidTypeError(f"tz must be an IANA zone name or a tzinfo, got {type(tz).__name__}")
    try:
        if len(tz) > _MAX_TIME_TEXT:  # IANA names are short; a long one is a file name too long to look up
            raise ValueError(tz)
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {tz[:80]!r} (an IANA name such as 'Europe/Lisbon')") from None


_EARLIEST = datetime(2, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(9998, 12, 31, tzinfo=timezone.utc)
_MAX_TIME_TEXT = 64  # the longest ISO 8601 time with microseconds and an offset is 32 characters


def check_time(value: object, name: str, tz: str | tzinfo | None = None) -> datetime | None:
    """``value`` (a datetime or an ISO 8601 string) as an aware datetime; naive ones are in ``tz``.

    Years 2 to 9998 (UTC) only, so that no reading of it ("the day before", "last year") can
    leave the calendar; :class:`~agent_memory.Limits` ``max_time_years`` narrows this at the gate.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > _MAX_TIME_TEXT:
            raise ValidationError(f"{name} has {len(value):,} characters: not an ISO 8601 date or time")
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{name}={value!r} is not an ISO 8601 date or time") from None
    if not isinstance(value, datetime):
        raise InvalidTypeError(f"{name} must be a datetime or an ISO 8601 string, got {type(value).__name__}")
    moment = value if value.tzinfo is not None else value.replace(tzinfo=zone(tz))
    try:
        inside = _EARLIEST <= moment.astimezone(timezone.utc) <= _LATEST
    except (OverflowError, ValueError):
        inside = False
    if not inside:
        raise ValidationError(f"{name}={moment.isoformat()} is outside the years 2 to 9998 that times may name")
    return moment


def relative_time(text: str, now: datetime, tz: str | tzinfo | None = None) -> datetime:
    """``7d``/``2w``/``12h``/``30m`` before ``now``, or an ISO 8601 date or time (the CLI's form)."""
    match = _RELATIVE.match(text)
    if match:
        try:
            return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        except OverflowError:
            raise ValidationError(f"{text.strip()!r} reaches beyond the calendar") from None
    found = check_time(text, "time", tz)
    if found is None:  # only None itself reads as no time, and text is a str
        raise ValidationError(f"{text!r} is not a time")
    return found


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


def refuse_time_keys(where: object) -> None:
    """A filter on ``created_at``/``updated_at`` would silently match nothing: say what to use instead."""
    if isinstance(where, Mapping):
        for key, value in where.items():
            if key in _TIME_KEYS:
                raise InvalidFilterError(
                    f"filters cannot use {key!r} (it is not stored on every memory); use {_TIME_KEYS[key]}"
                )
            refuse_time_keys(value)
    elif isinstance(where, list):
        for item in where:
            refuse_time_keys(item)


def ensure_times(collection: Any, created_ms: Any) -> int:
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


def _missing_times(record_id: str, metadata: Mapping[str, Any], created_ms: Any) -> dict[str, int]:
    defaults = {VALID_FROM_MS: OPEN_START, VALID_UNTIL_MS: OPEN_END}
    found = {k: v for k, v in defaults.items() if k not in metadata}
    if CREATED_MS not in metadata:
        found[CREATED_MS] = created_ms(record_id, metadata)
    return found
