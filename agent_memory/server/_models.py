"""The request and response bodies of ``agent-memory serve`` (they make its OpenAPI schema)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_memory._types import Memory, MetadataValue, SearchHit

__all__ = [
    "Changes",
    "Deleted",
    "Events",
    "Expiry",
    "Health",
    "Hits",
    "Memories",
    "MemoryOut",
    "NewMemories",
    "Owner",
    "Patch",
    "Recall",
    "RememberRequest",
    "Scoped",
    "Stats",
]

Metadata = dict[str, MetadataValue]


@dataclass
class Scoped:
    """Query parameters of reads: the user (admin keys only name another) and the agent."""

    user_id: str | None = None
    agent_id: str | None = None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewMemories(_Body):
    """One ``text`` or many ``texts`` (with ``metadatas``, one per text), in a scope."""

    text: str | None = None
    texts: list[str] | None = Field(default=None, min_length=1)
    metadata: Metadata | None = None
    metadatas: list[Metadata | None] | None = None
    agent_id: str | None = None
    session_id: str | None = None
    user_id: str | None = Field(default=None, description="Only with an admin key (another key's own user is allowed).")

    @model_validator(mode="after")
    def _one_way(self) -> NewMemories:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give text or texts, not both")
        if self.text is not None:
            if self.metadatas is not None:
                raise ValueError("metadatas goes with texts; one text takes metadata")
            self.metadatas = [self.metadata]
        elif self.metadata is not None:
            raise ValueError("metadata goes with text; texts take metadatas")
        return self


class Patch(_Body):
    text: str | None = None
    metadata: Metadata | None = None
    user_id: str | None = None


class Expiry(_Body):
    at: str | None = Field(default=None, description="ISO 8601; when it stopped holding (default: now).")
    user_id: str | None = None


class Owner(_Body):
    user_id: str | None = None


class Recall(_Body):
    query: str
    top_k: int = 5
    mode: str = "hybrid"
    since: str | None = Field(default=None, description="ISO 8601; stored at or after (naive: read in tz).")
    until: str | None = Field(default=None, description="ISO 8601; stored before (naive: read in tz).")
    tz: str = Field(default="UTC", description="IANA zone of naive times: the client's, not the server's.")
    as_of: str | None = Field(default=None, description="ISO 8601; what held then (default: what holds now).")
    include_expired: bool = Field(default=False, description="Also memories that no longer hold.")
    time_aware: bool = Field(default=True, description="A time the query names selects what held then.")
    now: str | None = Field(default=None, description="ISO 8601; what time-aware search reads the query against.")
    min_score: float | None = None
    task: str | None = None
    filters: dict[str, Any] | None = None
    agent_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None


class Turn(_Body):
    role: str
    content: str
    time: str | None = None


class RememberRequest(_Body):
    messages: list[Turn] = Field(min_length=1)
    agent_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None


class MemoryOut(BaseModel):
    id: str
    text: str
    user_id: str
    agent_id: str | None
    session_id: str | None
    metadata: dict[str, Any]
    created_at: str | None
    updated_at: str | None
    valid_from: str | None = None
    valid_until: str | None = None
    supersedes: str | None = None
    kind: str | None = None

    @classmethod
    def of(cls, memory: Memory) -> MemoryOut:
        return cls.model_validate(memory.to_dict())


class Hit(MemoryOut):
    score: float
    similarity: float


class Memories(BaseModel):
    memories: list[MemoryOut]


class Hits(BaseModel):
    hits: list[Hit]

    @classmethod
    def of(cls, hits: Sequence[SearchHit]) -> Hits:
        return cls(hits=[Hit.model_validate(h.to_dict()) for h in hits])


class Deleted(BaseModel):
    deleted: int


class Events(BaseModel):
    events: list[dict[str, Any]]


class Changes(BaseModel):
    changes: list[dict[str, Any]]


class Stats(BaseModel):
    memories: int
    users: dict[str, int]


class Health(BaseModel):
    status: str
