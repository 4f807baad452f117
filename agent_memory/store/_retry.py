"""Riding out a Chroma server restart: calls retried with backoff on connection errors.

Also retried: Chroma's transient "Error creating hnsw segment reader: Nothing
found on disk", which a read can meet while the server is writing a segment
(chroma-core/chroma#4212); the same read succeeds a moment later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

__all__ = ["RetryingCollection"]


_TRANSIENT_CHROMA_ERRORS = ("Error creating hnsw segment reader",)
_log = logging.getLogger("agent_memory.store")


def _transient(exc: Exception) -> bool:
    """A connection failure, or one of Chroma's known transient internal errors."""
    from chromadb.errors import ChromaError

    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, ChromaError) and any(marker in str(exc) for marker in _TRANSIENT_CHROMA_ERRORS)


class RetryingCollection:
    """A Chroma collection whose calls are retried when the server cannot be reached.

    Every call the store makes is safe to repeat: reads, deletes and updates by
    id, upserts, metadata changes. A retried ``add`` is sent as an ``upsert`` of
    the same records, so a write whose answer was lost is not written twice.
    ``attempts`` calls at most, ``backoff`` seconds doubling between them (about 4 s
    in all by default); the last failure propagates. Embedded stores never hit this.
    """

    def __init__(self, collection: Any, *, attempts: int = 5, backoff: float = 0.25) -> None:
        self._collection = collection
        self._attempts, self._backoff = attempts, backoff

    def __getattr__(self, name: str) -> Any:  # name, metadata, configuration, ...
        return getattr(self._collection, name)

    def _call(self, first: Callable[..., Any], retry: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from chromadb.errors import ChromaError

        for attempt in range(self._attempts):
            try:
                return (first if attempt == 0 else retry)(*args, **kwargs)
            except (httpx.TransportError, ChromaError) as exc:
                if not _transient(exc) or attempt == self._attempts - 1:
                    raise
                wait = self._backoff * 2**attempt
                _log.warning("Chroma call %s failed (%s); retry %d in %.2f s", first.__name__, exc, attempt + 1, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def add(self, **kwargs: Any) -> Any:
        return self._call(self._collection.add, self._collection.upsert, **kwargs)

    def upsert(self, **kwargs: Any) -> Any:
        return self._call(self._collection.upsert, self._collection.upsert, **kwargs)

    def update(self, **kwargs: Any) -> Any:
        return self._call(self._collection.update, self._collection.update, **kwargs)

    def get(self, **kwargs: Any) -> Any:
        return self._call(self._collection.get, self._collection.get, **kwargs)

    def query(self, **kwargs: Any) -> Any:
        return self._call(self._collection.query, self._collection.query, **kwargs)

    def delete(self, **kwargs: Any) -> Any:
        return self._call(self._collection.delete, self._collection.delete, **kwargs)

    def count(self) -> Any:
        return self._call(self._collection.count, self._collection.count)

    def modify(self, **kwargs: Any) -> Any:
        return self._call(self._collection.modify, self._collection.modify, **kwargs)
