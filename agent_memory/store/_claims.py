"""Which memory holds each text of each scope, across every process writing to one Chroma server.

In one process the write lock makes "look the text up, then store it" one step.
Processes sharing a Chroma server have no common lock, so beside the collection
``name`` a collection ``name.claims`` holds one claim per (scope, text): its id is
a hash of the scope and the text, its metadata the id of the memory holding it.
Chroma's ``add`` leaves an id that exists as it is, so when two processes claim
the same text at once exactly one claim is stored; both read it back, and the
loser returns the winner's memory instead of storing its own. A claim goes with
its memory (delete, delete-all, a changed text). A claim whose memory never
appears (its writer died between claiming and writing) is taken over after
``STALE_MS``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agent_memory._times import now_epoch_ms
from agent_memory._types import Memory, Scope
from agent_memory.store._chroma import retrying
from agent_memory.store._records import scope_clauses, where_of

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

__all__ = ["STALE_MS", "Claims", "claim_id"]

STALE_MS = 10_000
"""How old a claim whose memory is still missing must be before another writer takes it over."""


def claim_id(user_id: str, agent_id: str | None, session_id: str | None, text: str) -> str:
    """The claim of a text in a scope (the hash of both)."""
    key = "\0".join((user_id, agent_id or "", session_id or "", text))
    return "claim:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _claim_of(memory: Memory) -> str:
    return claim_id(memory.user_id, memory.agent_id, memory.session_id, memory.text)


def _holder(metadata: Mapping[str, Any]) -> tuple[str, int]:
    return str(metadata["memory_id"]), int(str(metadata["ms"]))


class Claims:
    """The claims of one collection on a Chroma server (see the module's docstring)."""

    def __init__(self, client: ClientAPI, collection: str) -> None:
        self._claims = retrying(client.get_or_create_collection(f"{collection}.claims", embedding_function=None))

    def claim(self, memories: Sequence[Memory]) -> dict[str, tuple[str, int]]:
        """Claim each memory's text in its scope; by memory id, the holder's memory id and claim time."""
        if not memories:
            return {}
        ids = [_claim_of(m) for m in memories]
        now = now_epoch_ms()
        metadatas: list[Any] = [self._metadata(m, now) for m in memories]
        self._claims.add(ids=ids, embeddings=[[0.0]] * len(ids), metadatas=metadatas)  # type: ignore[arg-type]
        found = self._claims.get(ids=ids, include=["metadatas"])
        held = {i: _holder(meta) for i, meta in zip(found["ids"], found["metadatas"] or [], strict=True) if meta}
        return {m.id: held.get(i, (m.id, now)) for m, i in zip(memories, ids, strict=True)}

    def take_over(self, memory: Memory, stale_holder: str) -> None:
        """Drop a stale claim on ``memory``'s text (if ``stale_holder`` still holds it), so it can be claimed again."""
        self._claims.delete(ids=[_claim_of(memory)], where={"memory_id": stale_holder})

    def release(self, memory_ids: Sequence[str]) -> None:
        """Drop the claims these memories hold (they were deleted, or their text changed)."""
        if memory_ids:
            self._claims.delete(where=where_of([{"memory_id": {"$in": list(memory_ids)}}]))

    def release_scope(self, scope: Scope) -> None:
        """Drop every claim in the scope (its memories were all deleted)."""
        self._claims.delete(where=where_of(scope_clauses(scope)))

    @staticmethod
    def _metadata(memory: Memory, now: int) -> dict[str, object]:
        scope = {"user_id": memory.user_id, "agent_id": memory.agent_id, "session_id": memory.session_id}
        return {"memory_id": memory.id, "ms": now, **{k: v for k, v in scope.items() if v is not None}}
