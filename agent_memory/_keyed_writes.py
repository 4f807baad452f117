"""Keyed writes: memories whose ids their callers' keys name, written a batch at a time (part of the
:class:`~agent_memory._writer.Writer`, the one write path)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from agent_memory._batches import SMALL_WRITE, WriteLock, chunks
from agent_memory._errors import AgentMemoryError, StoreError
from agent_memory._types import Memory, Scope
from agent_memory.embeddings import Fingerprint
from agent_memory.search._hybrid import HybridIndex
from agent_memory.store._chroma_store import ChromaStore
from agent_memory.store._history import History, event

__all__ = ["KeyedWrites"]

_log = logging.getLogger("agent_memory.write")


class KeyedWrites:
    """:meth:`put`, for the :class:`~agent_memory._writer.Writer` (its store, lock, history and index)."""

    store: ChromaStore
    history: History
    index: HybridIndex
    lock: WriteLock
    _embed: Callable[[list[str]], NDArray[np.float32]]
    _fingerprint: Callable[[], Fingerprint]

    def put(
        self, memories: list[Memory], scope: Scope, actor: str, vectors: NDArray[np.float32] | None = None
    ) -> list[Memory]:
        """Write keyed memories of one scope (each id is its key's): create each, or replace the text,
        metadata and validity of the one the scope holds under that key, keeping its creation time; one
        memory per input, as it now is. Another memory with the same text is no duplicate: keys, not
        texts, name keyed memories (nor do they claim their texts). The history records each change
        (create, update, metadata, expire or restore); nothing when nothing changed. ``vectors``: the
        texts' document vectors, computed by the caller (written with every change: a framework may
        embed metadata with the text); else the texts that changed are embedded, before the lock is
        taken, and a memory whose text did not change keeps its vector (or gets an equal one: a
        small write embeds every text before looking).

        All or nothing, as :meth:`add`: when a round fails, what the call created is removed and what
        it replaced is restored (text, metadata, validity and vector) before the error is raised; the
        history and the search index are written once every round has succeeded."""
        if not memories:
            return []
        self.store._check_fingerprint(self._fingerprint())
        result: dict[str, Memory] = {}
        done: list[_Change] = []
        try:
            for chunk in chunks(len(memories), False):
                part = memories[chunk.start : chunk.stop]
                ready = self._put_vectors(part, scope, None if vectors is None else vectors[chunk.start : chunk.stop])
                with self.lock:
                    changes = self._changes(part, scope, ready, result)
                    done += changes  # before the write: a write that fails part-way is undone too
                    if changes:
                        self.store._upsert([c.new for c in changes], np.stack([c.vector for c in changes]))
        except BaseException:
            self._restore(done, scope)
            raise
        with self.lock:
            self.history.record([event(_put_action(c.old, c.new), c.old, c.new, actor) for c in done])
            self.index.apply(scope.user_id, put=[c.new for c in done])
            moved = [c.new.id for c in done if c.old is not None and c.old.text != c.new.text]
            with contextlib.suppress(AgentMemoryError):  # an old text's claim (update_memory claims); stale is harmless
                self.store._release_claims(moved)
        return [result[m.id] for m in memories]

    def _put_vectors(
        self, part: list[Memory], scope: Scope, given: NDArray[np.float32] | None
    ) -> dict[str, NDArray[np.float32]]:
        """A round's vectors by id, before the lock: the given ones, else the embeddings of the texts
        the scope does not hold under those keys already (a small write embeds every text, as
        :meth:`_vectors_for` says why). The look-up under the lock decides what is written."""
        if given is not None:
            return {m.id: v for m, v in zip(part, given, strict=True)}
        if len(part) > SMALL_WRITE:
            held = {m.id: m.text for m in self.store.get([m.id for m in part], scope)}
            part = [m for m in part if held.get(m.id) != m.text]
        return dict(zip([m.id for m in part], self._embed([m.text for m in part]), strict=True)) if part else {}

    def _changes(
        self, part: list[Memory], scope: Scope, ready: dict[str, NDArray[np.float32]], result: dict[str, Memory]
    ) -> list[_Change]:
        """What one round of :meth:`put` writes (lock held), with what it replaces; ``result`` gets
        every input's memory as it will be."""
        found = {m.id: m for m in self.store.get([m.id for m in part], scope) if scope.holds_exactly(m)}
        old_vectors = self._stored_vectors(list(found), scope)
        missing = [m for m in part if m.id not in ready and (m.id not in found or found[m.id].text != m.text)]
        if missing:  # held when looked up, changed since: rare
            ready = {**ready, **dict(zip([m.id for m in missing], self._embed([m.text for m in missing]), strict=True))}
        changes: list[_Change] = []
        for new in part:
            old = found.get(new.id)
            new = new if old is None else replace(new, created_at=old.created_at)
            if old is not None and _content(new) == _content(old):
                result[new.id] = old
                continue
            result[new.id] = new
            vector = ready[new.id] if new.id in ready else old_vectors[new.id]  # not embedded: the same text
            changes.append(_Change(old, new, vector, old_vectors.get(new.id)))
        return changes

    def _stored_vectors(self, memory_ids: list[str], scope: Scope) -> dict[str, NDArray[np.float32]]:
        """The stored vectors of memories just read (lock held)."""
        vectors = self.store.vectors(memory_ids, scope)
        if len(vectors) != len(memory_ids):  # only another process can delete them meanwhile
            raise StoreError("memories were deleted by another process while being written; nothing was written")
        return dict(zip(memory_ids, vectors, strict=True))

    def _restore(self, done: list[_Change], scope: Scope) -> None:
        """Undo what a failed :meth:`put` wrote: remove what it created, write back what it replaced."""
        created = [c.new.id for c in done if c.old is None]
        replaced = [(c.old, c.old_vector) for c in done if c.old is not None and c.old_vector is not None]
        try:
            with self.lock:
                if created:
                    self.store._delete(created, scope)
                if replaced:
                    self.store._upsert([old for old, _ in replaced], np.stack([v for _, v in replaced]))
        except AgentMemoryError:
            _log.warning("a failed put could not undo the %d changes it had written", len(done))


@dataclass(frozen=True)
class _Change:
    """A memory a put writes, the stored version it replaces (``None``: it creates it), and their vectors."""

    old: Memory | None
    new: Memory
    vector: NDArray[np.float32]
    old_vector: NDArray[np.float32] | None


def _content(memory: Memory) -> tuple[object, ...]:
    """What a put may change: text, metadata and validity."""
    return memory.text, memory.metadata, memory.valid_from, memory.valid_until


def _put_action(current: Memory | None, new: Memory) -> str:
    """The history's name for a put: the most telling change it made."""
    if current is None:
        return "create"
    if new.text != current.text:
        return "update"
    if new.valid_until != current.valid_until and new.metadata == current.metadata:
        return "restore" if new.valid_until is None else "expire"
    return "metadata"
