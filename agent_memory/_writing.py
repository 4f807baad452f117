"""The writing half of :class:`~agent_memory.MemorySystem`: storing, keyed puts, ``remember``,
updates, expiry, deletion and import. Every write goes through the system's :class:`Writer`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent_memory._errors import ValidationError
from agent_memory._ids import now_ms
from agent_memory._reading import key_id_in, named_ids
from agent_memory._transfer import ImportReport, Record, import_lines, parse_record
from agent_memory._types import Memory, MetadataValue, Scope
from agent_memory._validation import (
    Limits,
    check_actor,
    check_id,
    check_key,
    check_keys,
    check_kind,
    check_metadata,
    check_metadatas,
    check_text,
    check_texts,
    check_times,
)
from agent_memory._writer import Writer
from agent_memory.embeddings import Embedder
from agent_memory.embeddings._base import check_given_vectors
from agent_memory.extraction._extractor import Extractor, Message
from agent_memory.extraction._remember import MemoryChange, remember
from agent_memory.store._validity import check_validity

__all__ = ["Writing"]


class Writing:
    """What :class:`~agent_memory.MemorySystem` writes with (set up by its constructor)."""

    limits: Limits
    writer: Writer
    embedder: Embedder

    if TYPE_CHECKING:

        def _candidates(self, fact: str, scope: Scope, top_k: int) -> list[Memory]: ...

    # -- writing -------------------------------------------------------------------------

    def store_memory(
        self,
        text: str,
        *,
        user_id: str,
        metadata: Mapping[str, MetadataValue] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        actor: str | None = None,
        valid_from: datetime | str | None = None,
        valid_until: datetime | str | None = None,
        kind: str | None = None,
    ) -> Memory:
        """Store one memory and return it; the exact same text in the same scope returns the existing one
        (unless that one has expired). ``valid_from``/``valid_until`` and ``kind`` as in :meth:`store_memories`."""
        check_text(text, limits=self.limits)
        return self.store_memories(
            [text],
            user_id=user_id,
            metadatas=[metadata],
            agent_id=agent_id,
            session_id=session_id,
            actor=actor,
            valid_from=valid_from,
            valid_until=valid_until,
            kind=kind,
        )[0]

    def store_memories(
        self,
        texts: Sequence[str],
        *,
        user_id: str,
        metadatas: Sequence[Mapping[str, MetadataValue] | None] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        progress: bool | None = None,
        actor: str | None = None,
        valid_from: datetime | str | None = None,
        valid_until: datetime | str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        kind: str | None = None,
    ) -> list[Memory]:
        """Store many memories in batches; returns one :class:`Memory` per input, in order.
        ``metadatas`` gives each text its own metadata; ``metadata``, one for all of them.

        All input is validated before anything is written. Texts already stored in
        this exact scope (and repeats within ``texts``) are not stored again: their
        position gets the existing memory. ``progress`` shows a progress bar
        (default: for 1,000 texts or more). ``actor`` is who the history records
        (``user``, ``agent:<id>``, ``system``; default ``agent:<agent_id>``, else ``user``).

        ``valid_from``/``valid_until`` say when the facts hold (datetimes or ISO 8601, naive
        ones in the default zone, ``AGENT_MEMORY_TZ`` or UTC; ``None``: open). A memory past its ``valid_until`` is
        expired: kept, but left out of searches and lists unless they ask for it, and its
        text counts as not stored, so storing it again makes a new memory.

        ``kind`` says what the memories are: ``"event"`` (it happened at ``valid_from``, else when
        stored: "bought a kettle", "visited Kyoto") or ``"state"`` (it holds from then until ended:
        "lives in Porto"). Time-aware search ranks events that happened in the span a query names
        above what merely still held then; with ``None`` (the default) it guesses the kind from
        the text (see the docs: search).
        """
        texts, kind = check_texts(texts, self.limits), check_kind(kind)
        scope = Scope.of(user_id, agent_id, session_id)
        actor = check_actor(actor, scope.agent_id)
        metas = check_metadatas(metadatas, len(texts), metadata, self.limits)
        check_times(self.limits, valid_from=valid_from, valid_until=valid_until)
        valid = check_validity(valid_from, valid_until)
        return self.writer.add(texts, metas, scope, actor, progress, valid=valid, kind=kind)[0]

    def put_memory(
        self,
        key: str,
        text: str,
        *,
        user_id: str,
        metadata: Mapping[str, MetadataValue] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        actor: str | None = None,
        valid_from: datetime | str | None = None,
        valid_until: datetime | str | None = None,
    ) -> Memory:
        """Store ``text`` under the caller's ``key`` in this exact scope, and return the memory: a new
        one, or the one the key already names with its text, metadata and validity replaced (as given:
        ``None`` clears them), recorded in the :meth:`history`. For callers that name their records
        (a LangGraph store, an app's own ids); its ``key`` comes back on the memory.

        Unlike :meth:`store_memory`, texts are not deduplicated: two keys may hold the same text.
        The id is derived from the scope and key, so the same key always names the same memory
        (:meth:`get_memory_by_key`), from any process. Searches and lists see keyed memories like
        any other; ``update_memory``, ``expire_memory`` and ``delete_memory`` take their ids.
        """
        key, text = check_key(key), check_text(text, limits=self.limits)
        return self.put_memories(
            [key],
            [text],
            user_id=user_id,
            metadatas=[metadata],
            agent_id=agent_id,
            session_id=session_id,
            actor=actor,
            valid_from=valid_from,
            valid_until=valid_until,
        )[0]

    def put_memories(
        self,
        keys: Sequence[str],
        texts: Sequence[str],
        *,
        user_id: str,
        metadatas: Sequence[Mapping[str, MetadataValue] | None] | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        actor: str | None = None,
        valid_from: datetime | str | None = None,
        valid_until: datetime | str | None = None,
        vectors: Any = None,
    ) -> list[Memory]:
        """:meth:`put_memory` for many keys (each once) in one scope; one :class:`Memory` per input, in
        order. ``metadatas`` and ``metadata`` as in :meth:`store_memories`. ``vectors``: the texts'
        document vectors, one per text, for callers that embed themselves (LlamaIndex nodes come
        embedded); they must come from this system's embedder (its size, checked) and are made unit-norm.

        All or nothing: everything is checked before anything is written, and a store that fails
        part-way leaves every key as it was (history and search index included)."""
        texts = check_texts(texts, self.limits)
        keys = check_keys(keys, texts=len(texts))
        scope = Scope.of(user_id, agent_id, session_id)
        actor = check_actor(actor, scope.agent_id)
        metas = check_metadatas(metadatas, len(texts), metadata, self.limits)
        check_times(self.limits, valid_from=valid_from, valid_until=valid_until)
        valid = check_validity(valid_from, valid_until)
        given = None if vectors is None else check_given_vectors(vectors, len(texts), self.embedder.dimension)
        now = now_ms()
        memories = [
            Memory.create(t, scope, m, id=key_id_in(scope, k), created_at=now, valid=valid, key=k)
            for k, t, m in zip(keys, texts, metas, strict=True)
        ]
        return self.writer.put(memories, scope, actor, given)

    def remember(
        self,
        messages: Sequence[Message | Mapping[str, Any] | object],
        *,
        user_id: str,
        extractor: Extractor,
        agent_id: str | None = None,
        session_id: str | None = None,
        candidates: int = 5,
        on_invalid: str = "add",
        actor: str | None = None,
        batch_decisions: bool = True,
    ) -> list[MemoryChange]:
        """Store the lasting facts of a conversation, reconciled with the user's memories.

        ``messages`` are ``{"role", "content", "time"?}`` mappings (``time`` a datetime or
        ISO 8601; relative dates are resolved against it, against now where it is
        missing), :class:`Message` objects, or the extractor's own message types.
        The ``extractor`` lists the facts, then for each fact sees the user's
        ``candidates`` most similar memories (this agent's, from any session; found
        like ``search_memory`` finds them) and decides: add it, update one, delete
        one, or nothing. A fact equal to a memory is ``unchanged`` without asking.
        Updates and deletes keep the old text in the :meth:`history`.

        A decision that cannot be followed (unparseable, unknown action, an id the
        model was not shown, such as another user's) is never applied: with
        ``on_invalid="add"`` (default) the fact is stored as a new memory, with
        ``"skip"`` nothing is; either way its change carries the ``problem``.
        Facts that cannot be extracted raise :class:`ExtractionError` before
        anything is written. Returns one :class:`MemoryChange` per fact, in order.

        With ``batch_decisions=True`` and an extractor that can decide many facts at
        once (``decide_all``, as :class:`LLMExtractor` and its subclasses can), all of a
        conversation's decisions come from one call (split only when the prompt would
        pass about 2k tokens): two calls per conversation, plus a call of its own for a
        fact shown a memory that an earlier fact's decision changed (its change says
        ``rechecked``). Facts are then decided against the memories stored before the
        conversation: a memory an earlier fact of the same conversation adds is not
        shown to a later one (the default). ``False`` asks fact by fact.
        """
        return remember(
            self.writer,
            self._candidates,
            messages,
            user_id=user_id,
            extractor=extractor,
            agent_id=agent_id,
            session_id=session_id,
            candidates=candidates,
            on_invalid=on_invalid,
            actor=actor,
            batch_decisions=batch_decisions,
            limits=self.limits,
        )

    def update_memory(
        self,
        memory_id: str,
        *,
        user_id: str,
        text: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        actor: str | None = None,
    ) -> Memory:
        """Change a memory's text (re-embedding it) and/or replace its metadata; returns the new version.

        Raises :class:`MemoryNotFoundError` when the id does not exist for this user.
        """
        memory_id, scope, actor = check_id(memory_id), Scope.of(user_id), check_actor(actor)
        new_text = None if text is None else check_text(text, limits=self.limits)
        new_meta = None if metadata is None else check_metadata(metadata, self.limits)
        return self.writer.update(memory_id, scope, new_text, new_meta, actor)

    def delete_memory(self, memory_id: str, *, user_id: str, actor: str | None = None) -> bool:
        """Erase one memory (for data that must be gone; :meth:`expire_memory` keeps it as past);
        ``False`` when the user has no memory with that id."""
        scope, actor = Scope.of(user_id), check_actor(actor)
        return self.writer.delete([check_id(memory_id)], scope, actor) == 1

    def delete_memories(
        self,
        *,
        user_id: str,
        ids: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        actor: str | None = None,
    ) -> int:
        """Erase the memories with these ``ids``, or stored under these ``keys`` in exactly this scope
        (one of the two), each recorded in the :meth:`history`; returns how many there were (missing
        ones are no error). ``actor`` as in :meth:`store_memories`."""
        scope, memory_ids = named_ids(self.limits, user_id, ids, keys, agent_id, session_id)
        actor = check_actor(actor, scope.agent_id)
        return self.writer.delete(memory_ids, scope, actor, exact=keys is not None)

    def expire_memory(
        self, memory_id: str, *, user_id: str, at: datetime | str | None = None, actor: str | None = None
    ) -> Memory:
        """End a memory's validity at ``at`` (default: now) without erasing it: it stops showing in
        default reads, ``as_of`` an earlier time still finds it, and :meth:`restore_memory`
        undoes it. This is what ``remember`` does when a fact stops being true."""
        scope, actor = Scope.of(user_id), check_actor(actor)
        check_times(self.limits, at=at)
        end = check_validity(None, at)[1] or now_ms()
        return self.writer.set_validity(check_id(memory_id), scope, end, actor)

    def restore_memory(self, memory_id: str, *, user_id: str, actor: str | None = None) -> Memory:
        """Undo an expiry: the memory holds again, with no ``valid_until``."""
        scope, actor = Scope.of(user_id), check_actor(actor)
        return self.writer.set_validity(check_id(memory_id), scope, None, actor)

    def delete_all_memories(
        self,
        *,
        user_id: str,
        agent_id: str | None = None,
        session_id: str | None = None,
        actor: str | None = None,
        purge_history: bool = False,
    ) -> int:
        """Delete every memory of the user (narrowed by agent/session if given); returns how many.

        Each deletion is recorded in the history, unless ``purge_history`` is set: then
        the user's whole history goes too (right to be forgotten; agent and session
        narrow the memories deleted, never the history purged).
        """
        scope, actor = Scope.of(user_id, agent_id, session_id), check_actor(actor)
        return self.writer.delete_scope(scope, actor, purge_history)

    def import_memories(
        self, records: Sequence[Record | Mapping[str, Any]], *, actor: str = "system", progress: bool | None = None
    ) -> ImportReport:
        """Write exported lines (or parsed :class:`Record` s) that carry ids, exactly as they are:
        the same file imported twice changes nothing the second time, a memory edited since goes
        back to the file's version (an update in the history), a line's vector is used when this
        store's model made it at this size. Every line is checked, and ids another user owns are
        refused, before anything is written. A new id whose text its scope already holds under
        another id is left out (a text is stored once): ``duplicates`` counts them."""
        self.limits.check("max_texts", "{n} records", len(records))
        parsed = [r if isinstance(r, Record) else parse_record(r, limits=self.limits) for r in records]
        if any(not r.memory.id for r in parsed):
            raise ValidationError("every imported line needs an id (store_memories takes texts without)")
        fingerprint = self.embedder.fingerprint
        return import_lines(self.writer, fingerprint, parsed, actor=check_actor(actor), progress=progress)
