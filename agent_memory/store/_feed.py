"""A change feed beside a shared collection, so that each process's search index sees the others' writes.

An embedded store belongs to one process (see :mod:`agent_memory.store._lock`), so only a
collection on a Chroma server needs this. Beside the collection ``name``, a collection
``name.changes`` holds:

* one entry per written memory: ``{"user_id", "memory_id", "ms"}`` (the writer's clock);
* one head per user, ``head:<user_id>``, whose token changes with each write to that user.

Each write adds its entries and moves the head in one Chroma call. A reader keeps the
head token it last saw: when the head still has it, nothing changed (one look-up by
id, O(1)); otherwise the entries since its last read, less ``SKEW`` for clocks and
writes in flight, name the memories to fetch again (O(changed)). Entries older than
``RETENTION`` are pruned; a reader that was away longer rebuilds its index. Writers'
clocks must agree within ``SKEW``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent_memory._times import now_epoch_ms
from agent_memory.store._chroma import retrying

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

__all__ = ["ChangeFeed", "Cursor"]

SKEW_MS = 60_000
RETENTION_MS = 24 * 3600 * 1000
_PRUNE_EVERY_MS = 3600 * 1000


@dataclass(frozen=True)
class Cursor:
    """Where a reader is in the feed: the head token it saw, when, and the entries it applied since."""

    token: str | None
    ms: int
    seen: frozenset[str] = frozenset()


class ChangeFeed:
    """The change feed of one collection on a Chroma server (see the module's docstring)."""

    def __init__(self, client: ClientAPI, collection: str) -> None:
        self._entries = retrying(client.get_or_create_collection(f"{collection}.changes", embedding_function=None))
        self._pruned_at = 0

    def note(self, changed: Mapping[str, Sequence[str]]) -> None:
        """Record that these memories (by user) were written."""
        now = now_epoch_ms()
        ids: list[str] = []
        metadatas: list[Mapping[str, Any]] = []
        for user_id, memory_ids in changed.items():
            ids += [uuid.uuid4().hex for _ in memory_ids]
            metadatas += [{"user_id": user_id, "memory_id": m, "ms": now} for m in memory_ids]
            ids.append(f"head:{user_id}")
            metadatas.append({"token": uuid.uuid4().hex, "ms": now})
        if ids:
            self._entries.upsert(ids=ids, embeddings=[[0.0]] * len(ids), metadatas=metadatas)  # type: ignore[arg-type]
        if now - self._pruned_at > _PRUNE_EVERY_MS:
            self._pruned_at = now
            self._entries.delete(where={"ms": {"$lt": now - RETENTION_MS}})  # type: ignore[dict-item]

    def read(self, user_id: str, cursor: Cursor | None) -> tuple[Cursor, list[str] | None]:
        """A new cursor, and the ids of the user's memories written since ``cursor`` (``None``:
        unknown, rebuild; always so without a cursor)."""
        now = now_epoch_ms()
        heads = self._entries.get(ids=[f"head:{user_id}"], include=["metadatas"])["metadatas"] or []
        token = str(heads[0]["token"]) if heads and heads[0] else None
        if cursor is None or now - cursor.ms > RETENTION_MS - SKEW_MS:
            return Cursor(token, now), None
        if token == cursor.token:  # a write moves the head in the call that adds its entries
            return Cursor(token, now, cursor.seen), []
        where = {"$and": [{"user_id": user_id}, {"ms": {"$gte": cursor.ms - SKEW_MS}}]}
        found = self._entries.get(where=where, include=["metadatas"])  # type: ignore[arg-type]
        entries = {
            i: (str(m["memory_id"]), int(str(m["ms"])))
            for i, m in zip(found["ids"], found["metadatas"] or [], strict=True)
        }
        changed = list(dict.fromkeys(memory_id for i, (memory_id, _) in entries.items() if i not in cursor.seen))
        seen = frozenset(i for i, (_, ms) in entries.items() if ms >= now - 2 * SKEW_MS)
        return Cursor(token, now, seen), changed
