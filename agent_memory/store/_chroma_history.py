"""The change history of a collection on a Chroma server, kept on that server: one history per deployment.

An embedded store keeps its history in a SQLite file beside it
(:class:`~agent_memory.store._history.HistoryLog`). Processes on several machines that
share a Chroma server would each write a file of their own, so their history is
kept beside the collection ``name`` in ``name.history`` instead: one record per
event, the texts in its document, the rest in its metadata. The trade-off: the
history lives and fails with the store (no second service to run), and reading a
memory's history is a filtered Chroma query rather than an index look-up, which is
fine for the per-memory questions it answers. Pass ``history_path=`` to keep a
SQLite file instead.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from agent_memory.store._chroma import chroma_errors, retrying
from agent_memory.store._history import HistoryEvent
from agent_memory.store._records import where_of

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

__all__ = ["ChromaHistory"]

_IN_DOCUMENT = ("old_text", "new_text", "old_metadata", "new_metadata")


class ChromaHistory:
    """The history of one collection on a Chroma server (see the module's docstring)."""

    def __init__(self, client: ClientAPI, collection: str) -> None:
        self.path = f"{collection}.history"
        self._events = retrying(client.get_or_create_collection(self.path, embedding_function=None))
        self._batch = client.get_max_batch_size()

    def record(self, events: Sequence[HistoryEvent]) -> None:
        """Append events (in one Chroma call); ids sort by time, then by order in the call."""
        if not events:
            return
        batch = uuid.uuid4().hex[:12]
        ids = [f"{int(e.at.timestamp() * 1000):013d}-{i:06d}-{batch}" for i, e in enumerate(events)]
        documents = [json.dumps({f: getattr(e, f) for f in _IN_DOCUMENT}, ensure_ascii=False) for e in events]
        metadatas: list[Any] = [
            {"memory_id": e.memory_id, "user_id": e.user_id, "action": e.action, "actor": e.actor} for e in events
        ]
        with chroma_errors("write the history"):
            for start in range(0, len(ids), self._batch):
                part = slice(start, start + self._batch)
                self._events.add(
                    ids=ids[part],
                    embeddings=np.zeros((len(ids[part]), 1), dtype=np.float32),
                    documents=documents[part],
                    metadatas=metadatas[part],
                )

    def for_memory(self, memory_id: str, user_id: str) -> list[HistoryEvent]:
        """The memory's events, oldest first (only the user's: another user's id shows nothing)."""
        where = where_of([{"memory_id": memory_id}, {"user_id": user_id}])
        with chroma_errors("read the history"):
            found = self._events.get(where=where, include=["documents", "metadatas"])
        rows = sorted(zip(found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True))
        return [_event(record_id, document, meta) for record_id, document, meta in rows]

    def purge_user(self, user_id: str) -> int:
        """Delete every event of the user; returns how many."""
        where = where_of([{"user_id": user_id}])
        with chroma_errors("purge the history"):
            count = len(self._events.get(where=where, include=[])["ids"])
            self._events.delete(where=where)
        return count

    def close(self) -> None:
        """Nothing to release: the store's client owns the connection."""


def _event(record_id: str, document: str | None, meta: Any) -> HistoryEvent:
    texts = json.loads(document or "{}")
    at = datetime.fromtimestamp(int(record_id.split("-", 1)[0]) / 1000, tz=timezone.utc)
    return HistoryEvent(
        str(meta["memory_id"]), str(meta["user_id"]), str(meta["action"]),
        texts.get("old_text"), texts.get("new_text"), str(meta["actor"]), at,
        texts.get("old_metadata"), texts.get("new_metadata"),
    )  # fmt: skip
