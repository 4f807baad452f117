"""The one write path: every change of a memory goes through :class:`Writer`.

Storing, updating, deleting, importing, ``remember`` and reindexing all take the
same lock, write the store, record the history and update the search index in that
order, so that "the same text is stored once per scope", "every change is in the
history" and "the index matches the store" hold whoever writes.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from agent_memory._batches import SMALL_WRITE, WriteLock, chunks
from agent_memory._errors import AgentMemoryError, ConfigurationError, MemoryNotFoundError
from agent_memory._ids import now_ms
from agent_memory._keyed_writes import KeyedWrites
from agent_memory._times import now_epoch_ms
from agent_memory._types import Memory, MetadataValue, Scope
from agent_memory.embeddings import Fingerprint
from agent_memory.search._hybrid import HybridIndex
from agent_memory.store._chroma_store import ChromaStore
from agent_memory.store._claims import STALE_MS
from agent_memory.store._history import History, event
from agent_memory.store._validity import expired

__all__ = ["Upserted", "Writer", "release_parts", "shared_parts"]

_log = logging.getLogger("agent_memory.write")

Embed = Callable[[list[str]], NDArray[np.float32]]


@dataclass(frozen=True)
class Upserted:
    """What an upsert of memories with ids did: created, changed, already equal, or left out
    because the scope already holds the same text under another id."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0


class Writer(KeyedWrites):
    """Writes memories for one :class:`~agent_memory.MemorySystem` (and the systems sharing its lock)."""

    def __init__(
        self,
        store: ChromaStore,
        history: History,
        index: HybridIndex,
        lock: WriteLock,
        embed: Embed,
        fingerprint: Callable[[], Fingerprint],
    ) -> None:
        self.store, self.history, self.index, self.lock = store, history, index, lock
        self._embed, self._fingerprint = embed, fingerprint

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """Document vectors for ``texts``, after checking that the store holds this embedder's vectors."""
        self.store._check_fingerprint(self._fingerprint())
        return self._embed(texts)

    def add(
        self,
        texts: list[str],
        metas: list[dict[str, MetadataValue]],
        scope: Scope,
        actor: str,
        progress: bool | None = False,
        *,
        valid: tuple[datetime | None, datetime | None] = (None, None),
        supersedes: str | None = None,
        kind: str | None = None,
    ) -> tuple[list[Memory], set[str]]:
        """Store checked texts; one memory per input (an existing one for a text the scope holds),
        and the ids this call created (decided under the lock). New memories hold from ``valid[0]``
        until ``valid[1]``, and are of ``kind``; an expired memory never counts as holding its text.

        All or nothing: when a round fails (the store, the embedder), what the earlier rounds
        wrote is removed before the error is raised, and the history and the search index,
        written once every round has succeeded, never saw any of it."""
        if not texts:
            return [], set()
        self.store._check_fingerprint(self._fingerprint())
        by_text: dict[str, Memory] = {}
        written: list[Memory] = []
        try:
            for chunk in chunks(len(texts), progress):
                wanted = list(dict.fromkeys(texts[i] for i in chunk if texts[i] not in by_text))
                seen = self.lock.writes
                held, vectors = self._prepare(wanted, scope)  # before the lock: no writer waits on the model
                with self.lock:  # look-up and write as one step, or two threads store the same text twice
                    if self.lock.writes != seen:  # another write came in between: the look-up may be stale
                        held = self.store._find_texts(wanted, scope) if wanted else {}
                    by_text.update(held)
                    written += self._add_chunk(texts, metas, chunk, scope, by_text, vectors, valid, (supersedes, kind))
        except BaseException:
            self._undo(written, scope)
            raise
        with self.lock:
            self._record(written, {}, actor)
        return [by_text[t] for t in texts], {m.id for m in written}

    def _prepare(self, wanted: list[str], scope: Scope) -> tuple[dict[str, Memory], dict[str, NDArray[np.float32]]]:
        """Before the write lock: the memories the scope holds with these texts, and the vectors of
        the texts it may write.

        A small write (an agent's ``store_memory``) embeds every text while the store is asked for
        duplicates, so the look-up costs no time of its own; the rare duplicate is embedded for
        nothing. A large one asks first and embeds only what is new, so storing the same batch
        again costs no model time. The look-up is repeated under the lock only when another write
        of this process came in between.
        """
        if not wanted:
            return {}, {}
        if len(wanted) > SMALL_WRITE:
            held = self.store._find_texts(wanted, scope)
            new = [t for t in wanted if t not in held]
            return held, dict(zip(new, self.embed(new), strict=True)) if new else {}
        lookup = _lookups().submit(self.store._find_texts, wanted, scope)
        try:
            vectors = self.embed(wanted)
        finally:
            held = lookup.result()
        return held, dict(zip(wanted, vectors, strict=True))

    def _add_chunk(
        self,
        texts: list[str],
        metas: list[dict[str, MetadataValue]],
        chunk: range,
        scope: Scope,
        by_text: dict[str, Memory],
        vectors: dict[str, NDArray[np.float32]],
        valid: tuple[datetime | None, datetime | None],
        lineage: tuple[str | None, str | None],
    ) -> list[Memory]:
        """One round of :meth:`add` (lock held, ``by_text`` holding what the scope holds): the memories it wrote."""
        new = self._new(texts, metas, chunk, scope, by_text, valid, lineage)
        if not new:
            return []
        missing = [m.text for m in new if m.text not in vectors]  # held when looked up, gone since: rare
        if missing:
            vectors = {**vectors, **dict(zip(missing, self.embed(missing), strict=True))}
        return self._write_claimed(new, np.stack([vectors[m.text] for m in new]), scope, by_text)

    def _undo(self, written: list[Memory], scope: Scope) -> None:
        """Remove what a failed :meth:`add` wrote (their claims go with them)."""
        if not written:
            return
        try:
            self.store._delete([m.id for m in written], scope)
        except AgentMemoryError:
            _log.warning("a failed write could not remove the %d memories it had written", len(written))

    def _write_claimed(
        self, new: list[Memory], vectors: NDArray[np.float32], scope: Scope, by_text: dict[str, Memory]
    ) -> list[Memory]:
        """Claim the new memories' texts against other processes (see :mod:`agent_memory.store._claims`;
        always won on an embedded store), write those this process won, and give ``by_text`` the
        other processes' memories for the rest. Whatever fails removes what it may have written
        and releases its claims; nothing releases the claim of a memory that was written."""
        held = self.store._claim(new)
        won = {m.id for m in new if held[m.id][0] == m.id}  # grows with claims taken over below
        keep: list[int] = []
        try:
            for i, memory in enumerate(new):
                found = None if memory.id in won else self._holder(memory, *held[memory.id], scope)
                if found is None:
                    won.add(memory.id)
                    keep.append(i)
                else:
                    by_text[memory.text] = found
            mine = [new[i] for i in keep]
            if mine:
                self.store._add(mine, vectors[keep])
        except BaseException:
            self._undo([new[i] for i in keep], scope)
            with contextlib.suppress(AgentMemoryError):
                self.store._release_claims(sorted(won))
            raise
        return mine

    def _holder(self, memory: Memory, holder: str, since: int, scope: Scope) -> Memory | None:
        """The memory another process claimed ``memory``'s text for, once it is written; ``None``
        when that claim went stale (its writer never wrote it) and ``memory`` took it over.
        Waits at most ``2 * STALE_MS`` of this process's clock, whatever the other's says."""
        wait, deadline = 0.01, time.monotonic() + 2 * STALE_MS / 1000
        while True:
            found = self.store.get([holder], scope)
            if found and found[0].text == memory.text and not expired(found[0]):
                return found[0]
            stale = now_epoch_ms() - since > STALE_MS or time.monotonic() > deadline
            if found or stale:  # a holder with another text, or expired, moved on; a missing one never came
                _log.info("memory %s takes over the claim of %s on its text (stale or moved on)", memory.id, holder)
                self.store._take_over(memory, holder)
                holder, since = self.store._claim([memory])[memory.id]
                if holder == memory.id:
                    return None
                deadline = time.monotonic() + 2 * STALE_MS / 1000
            time.sleep(wait)
            wait = min(wait * 2, 0.5)

    @staticmethod
    def _new(
        texts: list[str],
        metas: list[dict[str, MetadataValue]],
        chunk: range,
        scope: Scope,
        by_text: dict[str, Memory],
        valid: tuple[datetime | None, datetime | None],
        lineage: tuple[str | None, str | None],
    ) -> list[Memory]:
        """New memories for the round's texts the scope does not hold; ``lineage``: what they supersede,
        and their kind."""
        (supersedes, kind), now, new = lineage, now_ms(), []
        for i in chunk:
            if texts[i] not in by_text:
                memory = Memory.create(
                    texts[i], scope, metas[i], created_at=now, valid=valid, supersedes=supersedes, kind=kind
                )
                by_text[texts[i]] = memory
                new.append(memory)
        return new

    def _record(self, memories: list[Memory], old: dict[str, Memory], actor: str) -> None:
        """The history and the search index of memories just written. Lock held."""
        self.history.record(
            [event("update", old[m.id], m, actor) if m.id in old else event("create", None, m, actor) for m in memories]
        )
        for user_id in {m.user_id for m in memories}:
            self.index.apply(user_id, put=[m for m in memories if m.user_id == user_id])

    def update(
        self, memory_id: str, scope: Scope, text: str | None, metadata: dict[str, MetadataValue] | None, actor: str
    ) -> Memory:
        """Change a memory's text (re-embedded) and/or replace its metadata. The history records
        ``update`` when the text changed, ``metadata`` when only the metadata did, and nothing
        (the memory is returned as it is) when neither did. A new text is embedded before the
        write lock is taken."""
        vector = None if text is None else self.embed([text])[0]
        with self.lock:
            current = self._existing(memory_id, scope)
            new_text = current.text if text is None else text
            new_metadata = current.metadata if metadata is None else metadata
            if new_text == current.text and new_metadata == current.metadata:
                return current
            updated = replace(current, text=new_text, metadata=new_metadata, updated_at=now_ms())
            self.store._update(updated, vector if updated.text != current.text else None)
            action = "update" if updated.text != current.text else "metadata"
            self.history.record([event(action, current, updated, actor)])
            self.index.apply(scope.user_id, put=[updated])
            return updated

    def set_validity(self, memory_id: str, scope: Scope, valid_until: datetime | None, actor: str) -> Memory:
        """End a memory's validity at ``valid_until`` (``expire``), or reopen it with ``None`` (``restore``)."""
        with self.lock:
            current = self._existing(memory_id, scope)
            if current.valid_from is not None and valid_until is not None and valid_until <= current.valid_from:
                valid_until = current.valid_from + timedelta(milliseconds=1)  # ends as soon as it begins
            if valid_until == current.valid_until:
                return current
            changed = replace(current, valid_until=valid_until, updated_at=now_ms())
            self.store._update(changed, None)
            action = "restore" if valid_until is None else "expire"
            self.history.record([event(action, current, changed, actor)])
            self.index.apply(scope.user_id, put=[changed])
            return changed

    def _existing(self, memory_id: str, scope: Scope) -> Memory:
        """The scope's memory with this id, else :class:`MemoryNotFoundError`. Lock held."""
        found = self.store.get([memory_id], scope)
        if not found:
            raise MemoryNotFoundError(f"no memory {memory_id!r} for user {scope.user_id!r}")
        return found[0]

    def delete(self, memory_ids: list[str], scope: Scope, actor: str, *, exact: bool = False) -> int:
        """Delete these memories of the scope (of exactly the scope, if ``exact``: keyed ones), each
        recorded in the history; how many there were."""
        with self.lock:
            found = [m for m in self.store.get(memory_ids, scope) if not exact or scope.holds_exactly(m)]
            if not found or not self.store._delete([m.id for m in found], scope):
                return 0
            self.history.record([event("delete", m, None, actor) for m in found])
            self.index.apply(scope.user_id, drop=[m.id for m in found])
        return len(found)

    def delete_scope(self, scope: Scope, actor: str, purge_history: bool) -> int:
        """Delete every memory of the scope, recorded one by one unless the user's history is purged."""
        with self.lock:  # nothing stored between listing and deleting escapes the history
            gone = [] if purge_history else [m for page in self.store._pages(scope) for m in page]
            deleted = self.store._delete_scope(scope)
            if purge_history:
                self.history.purge_user(scope.user_id)
            else:
                self.history.record([event("delete", m, None, actor) for m in gone])
            self.index.forget(scope.user_id)
            return deleted

    def upsert(
        self,
        memories: Sequence[Memory],
        vectors: Callable[[list[Memory]], NDArray[np.float32]],
        actor: str,
        keep_times: Callable[[Memory, Memory | None], Memory] = lambda new, old: new,
    ) -> Upserted:
        """Write memories with their ids as they are (import), one user at a time.

        A memory equal to the stored one is left as it is; one whose id is new but whose
        text its scope already holds under another id is left out (a text is stored once).
        ``keep_times`` may take times from the stored version; ``vectors`` embeds what is written.
        """
        totals = Upserted()
        for user_id in dict.fromkeys(m.user_id for m in memories):
            group = [m for m in memories if m.user_id == user_id]
            with self.lock:
                result = self._upsert_user(user_id, group, vectors, actor, keep_times)
            totals = Upserted(*(a + b for a, b in zip(vars(totals).values(), vars(result).values(), strict=True)))
        return totals

    def _upsert_user(
        self,
        user_id: str,
        group: list[Memory],
        vectors: Callable[[list[Memory]], NDArray[np.float32]],
        actor: str,
        keep_times: Callable[[Memory, Memory | None], Memory],
    ) -> Upserted:
        existing = {m.id: m for m in self.store.get([m.id for m in group], Scope.of(user_id))}
        group = [keep_times(m, existing.get(m.id)) for m in group]
        changed = [m for m in group if existing.get(m.id) != m]
        taken = self._held_elsewhere([m for m in changed if m.id not in existing])
        changed = [m for m in changed if m.id not in taken]
        if changed:
            embedded = vectors(changed)  # before claiming: a claim is held only while its memory is written
            fresh = [m for m in changed if m.id not in existing]
            lost = self._claimed_elsewhere(fresh)
            keep = [i for i, m in enumerate(changed) if m.id not in lost]
            changed, taken = [changed[i] for i in keep], taken | lost
            try:
                if changed:
                    self.store._upsert(changed, embedded[keep])
            except BaseException:
                with contextlib.suppress(AgentMemoryError):
                    self.store._release_claims([m.id for m in fresh if m.id not in lost])
                raise
            self._record(changed, dict(existing), actor)
        updated = sum(m.id in existing for m in changed)
        return Upserted(len(changed) - updated, updated, len(group) - len(changed) - len(taken), len(taken))

    def _held_elsewhere(self, fresh: list[Memory]) -> set[str]:
        """Ids of new memories whose text their exact scope already holds under another id
        (an expired memory holds no text, and is never held elsewhere)."""
        by_scope: dict[Scope, list[Memory]] = {}
        for m in fresh:
            if expired(m):
                continue
            by_scope.setdefault(Scope(m.user_id, m.agent_id, m.session_id), []).append(m)
        taken: set[str] = set()
        for scope, group in by_scope.items():
            held = self.store._find_texts([m.text for m in group], scope)
            taken.update(m.id for m in group if m.text in held and held[m.text].id != m.id)
        return taken

    def _claimed_elsewhere(self, fresh: list[Memory]) -> set[str]:
        """Ids of new memories whose text another process claimed first (see :mod:`agent_memory.store._claims`;
        none on an embedded store). Texts repeated within ``fresh`` are claimed once, by the first."""
        first: dict[tuple[str, str | None, str | None, str], Memory] = {}
        for m in fresh:
            if not expired(m):
                first.setdefault((m.user_id, m.agent_id, m.session_id, m.text), m)
        held = self.store._claim(list(first.values()))
        return {memory_id for memory_id, (holder, _) in held.items() if holder != memory_id}

    def reindex(self, keep_old: bool) -> int:
        """Re-embed every memory into a new collection (see :meth:`MemorySystem.reindex`)."""
        with self.lock:
            try:
                return self.store._reindex(self._fingerprint(), self._embed, keep_old=keep_old)
            finally:
                self.index.forget()


@functools.cache
def _lookups() -> ThreadPoolExecutor:
    """Threads for duplicate look-ups run beside embedding (shared by every writer in the process)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="agent-memory-lookup")


@dataclass
class _Parts:
    """What the systems of this process that opened one collection share, and how many have it open."""

    lock: WriteLock
    index: HybridIndex
    users: int = 0


_SHARED_LOCK = threading.Lock()
_SHARED: dict[object, _Parts] = {}


def shared_parts(key: object, index_bytes: int) -> tuple[WriteLock, HybridIndex]:
    """The write lock and lexical index of a collection, one each for every system of this
    process that has it open (``key``: see :func:`~agent_memory.store._placement.shared_key`);
    :func:`release_parts` when done. A budget other than the open index's is refused, not
    applied: it would change the other systems' index."""
    with _SHARED_LOCK:
        parts = _SHARED.get(key)
        if parts is None:
            parts = _SHARED[key] = _Parts(WriteLock(), HybridIndex(index_bytes))
        elif parts.index.max_bytes != index_bytes:
            raise ConfigurationError(
                f"this collection is open in this process with index_bytes={parts.index.max_bytes:,}; "
                f"open it with the same budget (got {index_bytes:,}), or close the other systems first"
            )
        parts.users += 1
        return parts.lock, parts.index


def release_parts(key: object) -> None:
    """One system closed the collection: when it was the last, its index goes (the next system to
    open it builds one from the store, so what another process wrote meanwhile is seen)."""
    with _SHARED_LOCK:
        parts = _SHARED.get(key)
        if parts is not None:
            parts.users -= 1
            if parts.users <= 0:
                del _SHARED[key]
