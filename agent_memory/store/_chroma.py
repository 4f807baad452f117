"""Helpers for calling Chroma: its errors as the library's, merged metadata, retried collections."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from agent_memory._errors import StoreError
from agent_memory.store._retry import RetryingCollection

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

__all__ = ["chroma_errors", "replacing", "retrying"]


@contextlib.contextmanager
def chroma_errors(action: str) -> Iterator[None]:
    """Chroma's own errors, and a server that cannot be reached, as :class:`StoreError`."""
    import httpx
    from chromadb.errors import ChromaError

    try:
        yield
    except ChromaError as exc:
        raise StoreError(f"Chroma failed to {action}: {exc}") from exc
    except httpx.TransportError as exc:
        raise StoreError(f"Chroma failed to {action}: the server cannot be reached ({exc})") from exc


def replacing(new: dict[str, Any], old: Mapping[str, Any] | None) -> dict[str, Any]:
    """``new`` as a replacement of ``old``: Chroma merges metadata on update and upsert,
    and removes a key only when it is sent as None."""
    return {**{key: None for key in old or {} if key not in new}, **new}


def retrying(collection: Collection) -> Collection:
    """The collection with its calls retried across a server restart (see :class:`RetryingCollection`)."""
    return cast("Collection", RetryingCollection(collection))
