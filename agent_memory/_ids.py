"""Memory ids: time-ordered UUIDv7 (RFC 9562) in hex, which carry their creation time.

The creation time inside the id saves a metadata key per record (each key is a
row that Chroma writes and indexes), and ids sort in creation order.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

__all__ = ["id_time", "new_id", "now_ms"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


def now_ms() -> datetime:
    """The current UTC time at the millisecond precision that ids keep."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id(created_at: datetime) -> str:
    """A UUIDv7 hex string: 48 bits of Unix milliseconds, version 7, variant 10, 74 random bits."""
    millis = (created_at - _EPOCH) // _MS
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | (0x7 << 76) | ((rand >> 64) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return f"{value:032x}"


def id_time(memory_id: str) -> datetime | None:
    """The creation time inside a UUIDv7 hex id; ``None`` for any other id."""
    if len(memory_id) != 32 or memory_id[12] != "7":
        return None
    try:
        return _EPOCH + int(memory_id[:12], 16) * _MS
    except ValueError:
        return None
