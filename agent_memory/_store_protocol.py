"""The :class:`MemoryStore` protocol: what :class:`~agent_memory.MemorySystem` needs from a vector store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from agent_memory._records import Scope
from agent_memory._types import Memory
from agent_memory.embeddings import Fingerprint

__all__ = ["MemoryStore"]


class MemoryStore(Protocol):
    """What :class:`~agent_memory.MemorySystem` needs from a vector store.

    Every read and delete takes a :class:`Scope`, so no call can reach another
    user's records. Vectors are unit-norm float32 rows; scores are cosine
    similarities, higher is better.
    """

    @property
    def fingerprint(self) -> Fingerprint | None: ...

    def check_fingerprint(self, fingerprint: Fingerprint) -> None: ...

    def add(self, memories: Sequence[Memory], vectors: NDArray[np.float32]) -> None: ...

    def upsert(self, memories: Sequence[Memory], vectors: NDArray[np.float32]) -> None: ...

    def update(self, memory: Memory, vector: NDArray[np.float32] | None) -> None: ...

    def get(self, ids: Sequence[str], scope: Scope, *, filters: Mapping[str, Any] | None = None) -> list[Memory]: ...

    def vectors(self, ids: Sequence[str], scope: Scope) -> NDArray[np.float32]: ...

    def find_texts(self, texts: Sequence[str], scope: Scope) -> dict[str, Memory]: ...

    def claim(self, memories: Sequence[Memory]) -> dict[str, tuple[str, int]]: ...

    def take_over(self, memory: Memory, stale_holder: str) -> None: ...

    def release_claims(self, memory_ids: Sequence[str]) -> None: ...

    def owners(self, ids: Sequence[str]) -> dict[str, str]: ...

    def pages(self, scope: Scope, page_size: int = ...) -> Iterator[list[Memory]]: ...

    def changes(self, user_id: str, cursor: object) -> tuple[object, list[str] | None]: ...

    def list_memories(
        self, scope: Scope, *, filters: Mapping[str, Any] | None, limit: int | None, offset: int, newest: bool = ...
    ) -> list[Memory]: ...

    def query(
        self,
        vector: NDArray[np.float32],
        scope: Scope,
        *,
        filters: Mapping[str, Any] | None,
        top_k: int,
        ids: Sequence[str] | None = None,
    ) -> list[tuple[Memory, float]]: ...

    def similarities(
        self, vector: NDArray[np.float32], ids: Sequence[str], scope: Scope, *, filters: Mapping[str, Any] | None
    ) -> list[tuple[Memory, float]]: ...

    def delete(self, ids: Sequence[str], scope: Scope) -> int: ...

    def delete_scope(self, scope: Scope) -> int: ...

    def count(self, scope: Scope | None = None) -> int: ...

    def user_counts(self) -> Counter[str]: ...

    def reindex(
        self, fingerprint: Fingerprint, embed: Callable[[list[str]], NDArray[np.float32]], *, keep_old: bool
    ) -> int: ...

    def close(self) -> None: ...
