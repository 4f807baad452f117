"""Records: how a :class:`~agent_memory.Memory` and its scope are laid out in Chroma."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agent_memory._ids import id_time
from agent_memory._times import epoch_ms
from agent_memory._types import Memory, Scope
from agent_memory._validation import RESERVED_KEYS
from agent_memory.store._time_keys import (
    CREATED_MS,
    OPEN_END,
    OPEN_START,
    SUPERSEDES,
    VALID_FROM_MS,
    VALID_UNTIL_MS,
    bound_ms,
    from_bound_ms,
)

MEMORY_KEY = "memory_key"
"""The metadata key of a keyed memory's key (:meth:`~agent_memory.MemorySystem.put_memory`)."""

__all__ = [
    "KIND",
    "MEMORY_KEY",
    "created_ms_of",
    "memories_from",
    "record_metadata",
    "scope_clauses",
    "scoped_where",
    "similarity",
    "text_hash",
    "where_of",
]


KIND = "memory_kind"
"""The metadata key of a memory's ``kind`` (event or state), on records that have one."""


def text_hash(text: str) -> str:
    """Key of exact-duplicate detection: equal texts in one scope are one memory."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def scope_clauses(scope: Scope) -> list[dict[str, Any]]:
    """Chroma ``where`` clauses of a scope: the user, and the agent and session where they are set."""
    clauses: list[dict[str, Any]] = [{"user_id": scope.user_id}]
    clauses += [
        {key: value} for key, value in (("agent_id", scope.agent_id), ("session_id", scope.session_id)) if value
    ]
    return clauses


def where_of(clauses: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    if not clauses:
        return None
    return dict(clauses[0]) if len(clauses) == 1 else {"$and": list(clauses)}


def scoped_where(scope: Scope | None, filters: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The scope always applies; caller filters can only narrow it further."""
    clauses = scope_clauses(scope) if scope else []
    return where_of([*clauses, filters] if filters else clauses)


def record_metadata(memory: Memory) -> dict[str, Any]:
    """The caller's metadata plus ours. What can be derived is left out (unset scopes, a
    ``created_at`` that the id carries, an ``updated_at`` equal to ``created_at``):
    every metadata key is a row Chroma writes and indexes."""
    created = memory.created_at or id_time(memory.id)
    record: dict[str, Any] = {**memory.metadata, "user_id": memory.user_id, "text_sha": text_hash(memory.text)}
    record[CREATED_MS] = epoch_ms(created) if created else 0  # on every record: time filters need it (_times)
    record[VALID_FROM_MS] = bound_ms(memory.valid_from, OPEN_START)  # so do validity windows (_validity)
    record[VALID_UNTIL_MS] = bound_ms(memory.valid_until, OPEN_END)
    optional = {"agent_id": memory.agent_id, "session_id": memory.session_id, SUPERSEDES: memory.supersedes}
    optional[MEMORY_KEY] = memory.key
    optional[KIND] = memory.kind
    if memory.created_at is not None and memory.created_at != id_time(memory.id):
        optional["created_at"] = memory.created_at.isoformat()
    if memory.updated_at is not None and memory.updated_at != memory.created_at:
        optional["updated_at"] = memory.updated_at.isoformat()
    record.update((k, v) for k, v in optional.items() if v is not None)
    return record


def _memory(record_id: str, document: str | None, metadata: Mapping[str, Any] | None) -> Memory:
    meta = dict(metadata or {})
    created = datetime.fromisoformat(meta["created_at"]) if meta.get("created_at") else id_time(record_id)
    return Memory(
        id=record_id,
        text=document or "",
        user_id=str(meta.get("user_id", "")),
        agent_id=meta.get("agent_id") or None,
        session_id=meta.get("session_id") or None,
        metadata={k: v for k, v in meta.items() if k not in RESERVED_KEYS},
        created_at=created,
        updated_at=datetime.fromisoformat(meta["updated_at"]) if meta.get("updated_at") else created,
        valid_from=from_bound_ms(meta.get(VALID_FROM_MS), OPEN_START),
        valid_until=from_bound_ms(meta.get(VALID_UNTIL_MS), OPEN_END),
        supersedes=meta.get(SUPERSEDES) or None,
        key=meta.get(MEMORY_KEY) or None,
        kind=meta.get(KIND) or None,
    )


def created_ms_of(record_id: str, metadata: Mapping[str, Any] | None) -> int:
    """A stored record's creation time in epoch milliseconds: its own ``created_at``, else its id's time."""
    stamp = (metadata or {}).get("created_at")
    created = datetime.fromisoformat(stamp) if stamp else id_time(record_id)
    return epoch_ms(created) if created else 0  # no time known at all: the beginning


def memories_from(result: Mapping[str, Any]) -> list[Memory]:
    docs = result.get("documents") or [None] * len(result["ids"])
    metas = result.get("metadatas") or [None] * len(result["ids"])
    return [_memory(i, d, m) for i, d, m in zip(result["ids"], docs, metas, strict=True)]


def similarity(space: str, distance: float) -> float:
    """Cosine similarity from the distance of the collection's space (all vectors are unit-norm)."""
    if space == "l2":
        return 1.0 - distance / 2.0  # squared L2 of unit vectors is 2 - 2 cos
    return 1.0 - distance  # cosine: 1 - cos; ip: 1 - dot, the cosine for unit vectors
