"""Memory ids: time-ordered UUIDv7 (RFC 9562) in hex, which carry their creation time.

The creation time inside the id saves a metadata key per record (each key is a
row that Chroma writes and indexes), and ids sort in creation order.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import datetime, timedelta, timezone

__all__ = ["id_time", "key_id", "new_id", "now_ms"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)
_LAST = [0, 0]  # (milliseconds, counter) of the last id this process made
_LAST_LOCK = threading.Lock()


def now_ms() -> datetime:
    """The current UTC time at the millisecond precision that ids keep."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id(created_at: datetime) -> str:
    """A UUIDv7 hex string: 48 bits of Unix milliseconds, version 7, a 12-bit counter, variant 10, 62 random bits.

    The counter (RFC 9562, method 1) keeps every id this process makes in the
    order it was made, so a batch of memories (the turns of a conversation, say)
    sorts as it was given. Ids never go backwards: when the clock does, or a
    millisecond runs out of counter, the id's time runs a millisecond or so ahead
    of ``created_at`` (which is then stored beside it).
    """
    millis = (created_at - _EPOCH) // _MS
    with _LAST_LOCK:
        if millis <= _LAST[0]:  # the same millisecond, or a clock that stepped back: keep counting
            millis, counter = _LAST[0], _LAST[1] + 1
            if counter > 0xFFF:  # more than ~3,500 ids in a millisecond: borrow the next one
                millis, counter = millis + 1, 0
        else:  # a new millisecond starts the counter low (random), so thousands more ids fit in it
            counter = int.from_bytes(os.urandom(2), "big") & 0x1FF
        _LAST[:] = [millis, counter]
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return f"{value:032x}"


def id_time(memory_id: str) -> datetime | None:
    """The creation time inside a UUIDv7 hex id; ``None`` for any other id."""
    if len(memory_id) != 32 or memory_id[12] != "7":
        return None
    try:
        return _EPOCH + int(memory_id[:12], 16) * _MS
    except ValueError:
        return None


def key_id(user_id: str, agent_id: str | None, session_id: str | None, key: str) -> str:
    """The id of the memory stored under ``key`` in this exact scope: a UUIDv8 hex string (RFC 9562's
    custom version) of a SHA-256 of the scope and key. The same key always names the same memory,
    in every process, so two writers of one key write one record. It carries no time
    (:func:`id_time` is ``None``): the record keeps its creation time itself."""
    digest = hashlib.sha256(json.dumps([user_id, agent_id, session_id, key]).encode("utf-8", "surrogatepass"))
    value = int.from_bytes(digest.digest()[:16], "big")
    value = (value & ~(0xF << 76) & ~(0b11 << 62)) | (0x8 << 76) | (0b10 << 62)
    return f"{value:032x}"
