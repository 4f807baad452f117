"""The request and response bodies of ``agent-memory serve`` (they make its OpenAPI schema).

The options of a search, a listing and a write are not typed here: :func:`_options_model` builds
them from the one definition in :mod:`agent_memory._options`, with their defaults and docs, in
their JSON form (times as ISO 8601 strings, durations in days, a listing's ``filters`` as JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from agent_memory._options import LIST, SEARCH, STORE, Option
from agent_memory._types import Memory, MetadataValue, SearchHit

__all__ = [
    "Changes",
    "Deleted",
    "Events",
    "Expiry",
    "Health",
    "Hits",
    "Listing",
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


_JSON: dict[str, Any] = {
    "count": int,
    "number": float,
    "flag": bool,
    "text": str,
    "scope": str,
    "actor": str,
    "time": str,
    "zone": str,
    "days": float,
    "filters": dict[str, Any],
    "metadata": Metadata,
}
_AS_TEXT = {"time": "ISO 8601", "days": "in days", "filters": "Chroma where syntax"}


def _field(option: Option) -> tuple[Any, Any]:
    """An option as a pydantic field: its JSON type, default and description."""
    choice: Any = Literal.__getitem__(option.choices) if option.choices else None
    kind: Any = {"choice": choice, "choices": list[choice]}.get(option.kind) or _JSON[option.kind]
    if option.default is None:
        kind = kind | None
    note = f" ({_AS_TEXT[option.kind]})" if option.kind in _AS_TEXT else ""
    return kind, Field(default=option.default, description=option.doc + note)


def _options_model(name: str, options: tuple[Option, ...], base: type[BaseModel]) -> Any:
    """``base`` with a field for each option it does not define itself."""
    fields: dict[str, Any] = {o.name: _field(o) for o in options if o.name not in base.model_fields}
    return create_model(name, __base__=base, **fields)


_USER = Field(default=None, description="Only with an admin key (another key's own user is allowed).")


class _NewMemoriesBase(_Body):
    text: str | None = None
    texts: list[str] | None = Field(default=None, min_length=1)
    metadatas: list[Metadata | None] | None = Field(default=None, description="One per text (with texts).")
    user_id: str | None = _USER

    @model_validator(mode="after")
    def _one_way(self) -> Any:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give text or texts, not both")
        if getattr(self, "metadata", None) is not None and self.metadatas is not None:
            raise ValueError("give metadata (one for every text) or metadatas (one per text), not both")
        return self


class _RecallBase(_Body):
    query: str
    user_id: str | None = _USER


class _ListingBase(BaseModel):
    limit: int = Field(default=100, ge=1, le=1000, description="At most this many memories (an HTTP page: 1 to 1,000).")
    filters: str | None = Field(default=None, description="A Chroma where expression, as JSON.")
    user_id: str | None = _USER


if TYPE_CHECKING:  # what type checkers see: the fields the routes read by name (the options go by named())
    NewMemories: TypeAlias = _NewMemoriesBase
    Recall: TypeAlias = _RecallBase
    Listing: TypeAlias = _ListingBase
else:
    NewMemories = _options_model("NewMemories", STORE, _NewMemoriesBase)
    """One ``text`` or many ``texts`` (``metadata`` for all of them, or ``metadatas``, one per text),
    with every write option (:data:`agent_memory._options.STORE`)."""
    Recall = _options_model("Recall", SEARCH, _RecallBase)
    """A search: the ``query``, and every search option (:data:`agent_memory._options.SEARCH`)."""
    Listing = _options_model("Listing", LIST, _ListingBase)
    """The query parameters of a listing: every list option (:data:`agent_memory._options.LIST`); over
    HTTP a listing is a page (``limit`` 1 to 1,000, default 100) and ``filters`` is JSON."""


class Patch(_Body):
    text: str | None = None
    metadata: Metadata | None = None
    user_id: str | None = None


class Expiry(_Body):
    at: str | None = Field(default=None, description="ISO 8601; when it stopped holding (default: now).")
    user_id: str | None = None


class Owner(_Body):
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
