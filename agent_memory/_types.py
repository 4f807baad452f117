"""The typed results of the public API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agent_memory._ids import new_id, now_ms
from agent_memory._validation import MetadataValue, check_optional_scope, check_user_id

__all__ = ["Memory", "MemoryStats", "MetadataValue", "Scope", "SearchHit"]


@dataclass(frozen=True)
class Scope:
    """Whose memories a call may see: one user, optionally narrowed to an agent and a session."""

    user_id: str
    agent_id: str | None = None
    session_id: str | None = None

    @classmethod
    def of(cls, user_id: object, agent_id: object = None, session_id: object = None) -> Scope:
        """A checked scope: a non-empty ``user_id``, and ``None`` or non-empty agent/session ids."""
        return cls(
            check_user_id(user_id),
            check_optional_scope(agent_id, "agent_id"),
            check_optional_scope(session_id, "session_id"),
        )

    def contains(self, memory: Memory) -> bool:
        """Whether ``memory`` is visible in this scope: the user's, and the agent's/session's where set."""
        return (
            memory.user_id == self.user_id
            and self.agent_id in (None, memory.agent_id)
            and self.session_id in (None, memory.session_id)
        )

    def holds_exactly(self, memory: Memory) -> bool:
        """Whether ``memory`` was stored in exactly this scope (not a wider or narrower one)."""
        return (memory.user_id, memory.agent_id, memory.session_id) == (self.user_id, self.agent_id, self.session_id)


@dataclass(frozen=True)
class Memory:
    """One stored memory: a short text about a user, with its scope and metadata.

    ``metadata`` holds only the caller's own keys; the scope (``user_id``,
    ``agent_id``, ``session_id``) and the timestamps (UTC) are fields of their own.
    ``valid_from``/``valid_until`` say when the fact holds (``None``: open); a memory
    whose ``valid_until`` has passed is expired, kept but left out of default reads.
    ``supersedes`` is the id of the memory this one replaced, when it replaced one.
    ``key`` is the caller's name for a memory written with :meth:`MemorySystem.put_memory`
    (``None`` for the others).
    ``kind`` is ``"event"`` (it happened at its ``valid_from``) or ``"state"`` (it holds from then
    until ended), when known; ``None`` lets time-aware search guess it from the text.
    """

    id: str
    text: str
    user_id: str
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    supersedes: str | None = None
    key: str | None = None
    kind: str | None = None

    @classmethod
    def create(
        cls,
        text: str,
        scope: Scope,
        metadata: dict[str, MetadataValue] | None = None,
        *,
        id: str | None = None,
        created_at: datetime | None = None,
        valid: tuple[datetime | None, datetime | None] = (None, None),
        supersedes: str | None = None,
        key: str | None = None,
        kind: str | None = None,
    ) -> Memory:
        """A new memory in ``scope``: a time-ordered UUIDv7 id unless ``id`` is given, created now,
        holding from ``valid[0]`` until ``valid[1]``, an event or a state (``kind``) if known."""
        created_at = created_at or now_ms()
        return cls(
            id or new_id(created_at),
            text,
            scope.user_id,
            scope.agent_id,
            scope.session_id,
            metadata or {},
            created_at,
            created_at,
            valid[0],
            valid[1],
            supersedes,
            key,
            kind,
        )

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (timestamps as ISO 8601 strings; ``key`` only for a keyed memory)."""
        return {
            "id": self.id,
            "text": self.text,
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "session_id": self.session_id,
            "metadata": dict(self.metadata),
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "supersedes": self.supersedes,
            **({"key": self.key} if self.key is not None else {}),
            "kind": self.kind,
        }


@dataclass(frozen=True)
class SearchHit:
    """A search result: the memory, the score it was ranked by, and its cosine similarity.

    ``score`` is what hits are ordered by, a relevance in [0, 1] (see
    :meth:`MemorySystem.search_memory`). ``similarity`` is always the cosine
    similarity of the memory's vector to the query's; it defaults to ``score``.
    ``time_range`` is the span of time the search kept memories from, when the
    query named one and time-aware search applied it (``(start, end)``, end excluded).
    """

    memory: Memory
    score: float
    similarity: float = float("nan")
    time_range: tuple[datetime, datetime] | None = None

    def __post_init__(self) -> None:
        if self.similarity != self.similarity:  # NaN: not given
            object.__setattr__(self, "similarity", self.score)

    @property
    def text(self) -> str:
        """The memory's text."""
        return self.memory.text

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict: the memory's fields plus ``score``, ``similarity`` and, when one
        was applied, ``time_range`` (two ISO 8601 times)."""
        found = {**self.memory.to_dict(), "score": self.score, "similarity": self.similarity}
        if self.time_range is not None:
            found["time_range"] = [t.isoformat() for t in self.time_range]
        return found


@dataclass(frozen=True)
class MemoryStats:
    """What a store holds: totals, per-user counts, and the embedder that wrote it."""

    total: int
    users: dict[str, int]
    collection: str
    path: str
    model: str | None
    dimension: int | None
