"""The audit trail: every change of a memory, with old and new text and metadata, time and actor.

Kept in SQLite (WAL mode, so readers never block the writer; a busy timeout, so
two processes writing at once wait instead of failing) because it must outlive
the memory it describes: a deleted memory's history is still there to show who
deleted it and what it said. ``purge_user`` removes a user's trail for
right-to-be-forgotten requests.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from agent_memory._errors import StoreError
from agent_memory._files import private_directory, private_files

if TYPE_CHECKING:
    from agent_memory._types import Memory, MetadataValue

__all__ = ["ACTIONS", "History", "HistoryEvent", "HistoryLog", "event"]

ACTIONS = ("create", "update", "metadata", "expire", "restore", "delete")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL DEFAULT '',
    memory_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL,
    old_text TEXT,
    new_text TEXT,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    old_metadata TEXT,
    new_metadata TEXT
);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS history_memory ON history (namespace, memory_id, user_id);
CREATE INDEX IF NOT EXISTS history_user ON history (namespace, user_id);
"""


@dataclass(frozen=True)
class HistoryEvent:
    """One change to a memory: ``action`` is create, update (its text changed, and maybe its
    metadata), metadata (only its metadata changed), expire (it stopped holding: kept, left out
    of default reads), restore (an expiry undone) or delete; ``actor`` is ``user``,
    ``agent:<id>`` or ``system``. Texts and metadata are as they were before and after the
    change, ``None`` where there is none (before a create, after a delete, and in events
    recorded before metadata was kept)."""

    memory_id: str
    user_id: str
    action: str
    old_text: str | None
    new_text: str | None
    actor: str
    at: datetime
    old_metadata: dict[str, MetadataValue] | None = None
    new_metadata: dict[str, MetadataValue] | None = None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (``at`` as ISO 8601)."""
        return {
            "memory_id": self.memory_id,
            "user_id": self.user_id,
            "action": self.action,
            "old_text": self.old_text,
            "new_text": self.new_text,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "old_metadata": self.old_metadata,
            "new_metadata": self.new_metadata,
        }


class History(Protocol):
    """Where the change history lives: a SQLite file (:class:`HistoryLog`), or beside a collection
    on a Chroma server (:class:`~agent_memory.store._chroma_history.ChromaHistory`)."""

    path: str

    def record(self, events: Sequence[HistoryEvent]) -> None: ...

    def for_memory(self, memory_id: str, user_id: str) -> list[HistoryEvent]: ...

    def purge_user(self, user_id: str) -> int: ...

    def close(self) -> None: ...


class HistoryLog:
    """A SQLite history file (``":memory:"`` for one that lives as long as the object).

    ``namespace`` names the collection the events belong to (its location and
    name), so that collections sharing a file never see or purge each other's.
    Events written before namespaces existed (namespace ``''``) belong to every
    collection of the file, as they did then.
    """

    def __init__(self, path: str | Path, *, namespace: str = "") -> None:
        self.path = str(path)
        self.namespace = namespace
        if self.path != ":memory:":
            private_directory(Path(self.path).parent, check=(Path(self.path).name,))
        self._lock = threading.Lock()
        try:
            with private_files():  # the file and its -wal and -shm, created on first use
                self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(history)")}
            if "namespace" not in columns:  # a file from before namespaces: its events keep namespace ''
                self._db.execute("ALTER TABLE history ADD COLUMN namespace TEXT NOT NULL DEFAULT ''")
            for name in ("old_metadata", "new_metadata"):  # a file from before metadata was kept
                if name not in columns:
                    self._db.execute(f"ALTER TABLE history ADD COLUMN {name} TEXT")
            self._db.executescript(_INDEXES)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the history at {self.path}: {exc}") from exc

    def record(self, events: Sequence[HistoryEvent]) -> None:
        """Append events in one transaction."""
        rows = [(self.namespace, *_row(e)) for e in events]
        if rows:
            self._write(
                "INSERT INTO history (namespace, memory_id, user_id, action, old_text, new_text, actor, at,"
                " old_metadata, new_metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def for_memory(self, memory_id: str, user_id: str) -> list[HistoryEvent]:
        """The memory's events, oldest first (only the user's: another user's id shows nothing)."""
        with self._lock, self._errors("read"):
            rows = self._db.execute(
                "SELECT memory_id, user_id, action, old_text, new_text, actor, at, old_metadata, new_metadata"
                " FROM history"
                " WHERE namespace IN (?, '') AND memory_id = ? AND user_id = ? ORDER BY seq",
                (self.namespace, memory_id, user_id),
            ).fetchall()
        return [
            HistoryEvent(memory, user, action, old, new, actor, datetime.fromisoformat(at), _unjson(was), _unjson(now))
            for memory, user, action, old, new, actor, at, was, now in rows
        ]

    def purge_user(self, user_id: str) -> int:
        """Delete every event of the user; returns how many."""
        with self._lock, self._errors("purge"):
            sql = "DELETE FROM history WHERE namespace IN (?, '') AND user_id = ?"
            return self._db.execute(sql, (self.namespace, user_id)).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"cannot {action} the history at {self.path}: {exc}") from exc

    def _write(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"cannot write the history at {self.path}: {exc}") from exc


def event(action: str, before: Memory | None, after: Memory | None, actor: str) -> HistoryEvent:
    """The event of a change from ``before`` to ``after`` (one of them ``None`` for a create or a
    delete), stamped now."""
    memory = after or before
    if memory is None:
        raise ValueError("a history event needs the memory before or after the change")
    return HistoryEvent(
        memory.id,
        memory.user_id,
        action,
        before.text if before else None,
        after.text if after else None,
        actor,
        datetime.now(timezone.utc),
        dict(before.metadata) if before else None,
        dict(after.metadata) if after else None,
    )


def _row(e: HistoryEvent) -> tuple[object, ...]:
    at, old, new = e.at.isoformat(), _json(e.old_metadata), _json(e.new_metadata)
    return (e.memory_id, e.user_id, e.action, e.old_text, e.new_text, e.actor, at, old, new)


def _json(metadata: dict[str, MetadataValue] | None) -> str | None:
    return None if metadata is None else json.dumps(metadata, ensure_ascii=False)


def _unjson(stored: str | None) -> dict[str, MetadataValue] | None:
    return None if stored is None else dict(json.loads(stored))
