"""Storage: :class:`ChromaStore`, the one store: memories as records of one Chroma collection.

The store never embeds anything (the collection has ``embedding_function=None``);
it receives vectors from the embedder, and keeps the scope, timestamps and a hash
of the text in each record's metadata.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agent_memory._errors import (
    ConfigurationError,
    EmbedderMismatchError,
    InvalidFilterError,
    ValidationError,
)
from agent_memory._files import private_directory, private_files
from agent_memory._types import Memory, Scope
from agent_memory.embeddings import Fingerprint
from agent_memory.store import _lock as _lock
from agent_memory.store._chroma import chroma_errors, replacing, retrying
from agent_memory.store._claims import Claims
from agent_memory.store._feed import ChangeFeed, Cursor
from agent_memory.store._records import (
    created_ms_of,
    memories_from,
    record_metadata,
    scoped_where,
    similarity,
    text_hash,
    where_of,
)
from agent_memory.store._time_keys import TIMES_MARK, ensure_times
from agent_memory.store._validity import expired

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from agent_memory.store._chroma_history import ChromaHistory

__all__ = ["ChromaStore"]

_PAGE = 1000  # records per get/delete round trip when walking a whole scope


class ChromaStore:
    """Memories in one Chroma collection (cosine space, no embedding function: the library embeds).

    Public: the constructor (over a Chroma client of your own, for ``MemorySystem(store=...)``),
    :meth:`connect`, :meth:`close`, the :attr:`fingerprint` of the embedder that wrote the
    collection, and four reads for adapters that search by a vector of their own (:meth:`get`,
    :meth:`query`, :meth:`vectors`, :meth:`count`). Everything that writes, claims, pages or
    migrates is private: memories are written through :class:`~agent_memory.MemorySystem`
    alone (its write path keeps the lock, the history and the search index). Every read takes
    a :class:`~agent_memory.Scope`, so no call can reach another user's records. Vectors are
    unit-norm float32 rows; scores are cosine similarities.
    """

    def __init__(self, client: ClientAPI, collection: str, *, on_close: Any = None, shared: bool = True) -> None:
        from chromadb.errors import InvalidArgumentError

        self._client = client
        self._on_close = on_close
        try:
            self._collection: Collection = retrying(
                client.get_or_create_collection(
                    collection, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
                )
            )
        except (InvalidArgumentError, ValueError) as exc:
            raise ValidationError(f"invalid collection name {collection!r}: {exc}") from None
        self._space = str((self._collection.configuration.get("hnsw") or {}).get("space") or "cosine")
        self._batch = client.get_max_batch_size()
        with chroma_errors("add creation times to the records of an older collection"):
            ensure_times(self._collection, created_ms_of)
        self._fingerprint_checked: Fingerprint | None = None
        # Other processes may write to a shared collection; an embedded one is this process's alone.
        self._feed = ChangeFeed(client, collection) if shared else None
        self._claims = Claims(client, collection) if shared else None

    @classmethod
    def _open(cls, path: str, collection: str) -> ChromaStore:
        """An embedded Chroma at ``path``; ``":memory:"`` is a private in-memory database."""
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if path != ":memory:":
            private_directory(path, check=("chroma.sqlite3",))
            key = _lock.acquire(path)
            try:
                with chroma_errors(f"open {path}"), private_files():
                    return cls(
                        chromadb.PersistentClient(path=path, settings=settings),
                        collection,
                        on_close=lambda: _lock.release(key),
                        shared=False,
                    )
            except BaseException:
                _lock.release(key)
                raise
        # Chroma shares one in-memory system per process; a private database keeps stores apart.
        admin = chromadb.AdminClient(settings)
        database = f"agent_memory_{uuid.uuid4().hex}"
        admin.create_database(database)
        client = chromadb.EphemeralClient(settings=settings, database=database)
        return cls(client, collection, on_close=lambda: admin.delete_database(database), shared=False)

    @classmethod
    def _open_server(
        cls,
        url: str,
        collection: str,
        *,
        headers: Mapping[str, str] | None = None,
        tenant: str | None = None,
        database: str | None = None,
    ) -> ChromaStore:
        """A collection on a Chroma server (``chroma run``, or a distributed deployment)."""
        from agent_memory.store._server import server_client

        client = server_client(url, headers=headers, tenant=tenant, database=database)
        with chroma_errors(f"open collection {collection!r} on {url}"):
            return cls(client, collection)

    @classmethod
    def connect(cls, collection: str, *, path: str | None = None, client: ClientAPI | None = None) -> ChromaStore:
        """The store adapters open: on ``client`` (any Chroma client, a server's too), else an
        embedded Chroma at ``path``, else a private in-memory one."""
        if path is not None and client is not None:
            raise ConfigurationError("pass either path= or client=, not both")
        return cls(client, collection) if client is not None else cls._open(path or ":memory:", collection)

    @property
    def fingerprint(self) -> Fingerprint | None:
        """The fingerprint of the embedder that wrote this collection; ``None`` while it is unused."""
        return Fingerprint.from_metadata(self._collection.metadata)

    def _check_fingerprint(self, fingerprint: Fingerprint) -> None:
        """Record the embedder's fingerprint on first use; refuse a different one later."""
        if self._fingerprint_checked == fingerprint:
            return
        metadata = dict(self._collection.metadata or {})
        stored = self.fingerprint
        if stored is None:
            with chroma_errors("record the embedder fingerprint"):
                self._collection.modify(metadata={**metadata, **fingerprint.to_metadata()})
        elif stored != fingerprint:
            raise EmbedderMismatchError(
                f"collection {self._collection.name!r} holds vectors of {stored}, but the embedder is "
                f"{fingerprint}; open it with the same model and dimensions, or use another collection"
            )
        self._fingerprint_checked = fingerprint

    def _add(self, memories: Sequence[Memory], vectors: NDArray[np.float32]) -> None:
        """Write new records (their ids must be new)."""
        self._write(self._collection.add, memories, vectors)

    def _upsert(self, memories: Sequence[Memory], vectors: NDArray[np.float32]) -> None:
        """Write records, replacing any with the same id, metadata included.

        Chroma ids are global to a collection, so an id that another user's record
        already has is refused (:class:`ValidationError`) before anything is written.
        """
        existing = self._metadatas([m.id for m in memories])
        foreign = [m.id for m in memories if existing.get(m.id, {}).get("user_id", m.user_id) != m.user_id]
        if foreign:
            raise ValidationError(f"ids {foreign!r} are already used in this collection outside this user's scope")
        self._write(self._collection.upsert, memories, vectors, existing)

    def _write(
        self,
        write: Any,
        memories: Sequence[Memory],
        vectors: NDArray[np.float32],
        existing: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        for start in range(0, len(memories), self._batch):
            chunk = memories[start : start + self._batch]
            with chroma_errors("write memories"):
                write(
                    ids=[m.id for m in chunk],
                    embeddings=vectors[start : start + self._batch],
                    documents=[m.text for m in chunk],
                    metadatas=[replacing(record_metadata(m), (existing or {}).get(m.id)) for m in chunk],
                )
        changed: dict[str, list[str]] = {}
        for m in memories:
            changed.setdefault(m.user_id, []).append(m.id)
        self._note(changed)

    def _note(self, changed: Mapping[str, Sequence[str]]) -> None:
        """Tell other processes' indexes which memories (by user) were written; shared collections only."""
        if self._feed is not None and changed:
            with chroma_errors("record changes"):
                self._feed.note(changed)

    def _changes(self, user_id: str, cursor: object) -> tuple[object, list[str] | None]:
        """What other processes wrote to the user since ``cursor`` (an opaque value this method
        returned before, or ``None``): a new cursor, and the ids of the memories written
        (``[]``: nothing; ``None``: unknown, read the user's memories again). One look-up by
        id per call, O(1); more only when something changed. Always ``[]`` for an embedded
        store, which no other process can open."""
        if self._feed is None:
            return 0, ([] if cursor is not None else None)
        with chroma_errors("read changes"):
            return self._feed.read(user_id, cursor if isinstance(cursor, Cursor) else None)

    def _pages(self, scope: Scope, page_size: int = _PAGE) -> Iterator[list[Memory]]:
        """The scope's memories, a page of ``page_size`` at a time."""
        offset = 0
        while page := self._list_memories(scope, filters=None, limit=page_size, offset=offset):
            yield page
            offset += len(page)

    def _metadatas(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored metadata of each existing id (ids that do not exist are left out)."""
        if not ids:
            return {}
        with chroma_errors("look up ids"):
            result = self._collection.get(ids=list(ids), include=["metadatas"])
        metas = result["metadatas"] or []
        return {i: dict(m or {}) for i, m in zip(result["ids"], metas, strict=True)}

    def _owners(self, ids: Sequence[str]) -> dict[str, str]:
        """The ``user_id`` that owns each existing id (ids that do not exist are left out)."""
        return {i: str(m.get("user_id")) for i, m in self._metadatas(ids).items()}

    def _update(self, memory: Memory, vector: NDArray[np.float32] | None) -> None:
        metadata = replacing(record_metadata(memory), self._metadatas([memory.id]).get(memory.id))
        with chroma_errors("update a memory"):
            if vector is None:  # same text: Chroma would try to re-embed a document passed without a vector
                self._collection.update(ids=[memory.id], metadatas=[metadata])
            else:
                self._collection.update(
                    ids=[memory.id], documents=[memory.text], metadatas=[metadata], embeddings=vector.reshape(1, -1)
                )
        if self._claims is not None and vector is not None:  # a new text: the claim moves with it
            with chroma_errors("move the memory's claim"):
                self._claims.release([memory.id])
                self._claims.claim([memory])
        self._note({memory.user_id: [memory.id]})

    def get(self, ids: Sequence[str], scope: Scope, *, filters: Mapping[str, Any] | None = None) -> list[Memory]:
        """The scope's records with these ids, in the order asked; missing ids are left out."""
        if not ids:
            return []  # Chroma reads an empty id list as an error, not as "none"
        with chroma_errors("get memories"), _filter_errors(filters):
            found = memories_from(self._collection.get(ids=list(ids), where=scoped_where(scope, filters)))
        by_id = {m.id: m for m in found}
        return [by_id[i] for i in ids if i in by_id]

    def vectors(self, ids: Sequence[str], scope: Scope) -> NDArray[np.float32]:
        """The stored vectors of these ids (in this order; ids outside the scope are left out)."""
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        with chroma_errors("get vectors"):
            result = self._collection.get(ids=list(ids), where=scoped_where(scope), include=["embeddings"])
        embeddings = result["embeddings"] if result["embeddings"] is not None else []
        by_id = dict(zip(result["ids"], embeddings, strict=True))
        return np.array([by_id[i] for i in ids if i in by_id], dtype=np.float32)

    def _find_texts(self, texts: Sequence[str], scope: Scope) -> dict[str, Memory]:
        """Existing memories with exactly these texts in exactly this scope, by text; an expired
        memory does not hold its text (storing it again makes a new memory that holds now)."""
        found: dict[str, Memory] = {}
        hashes = sorted({text_hash(t) for t in texts})
        for start in range(0, len(hashes), _PAGE):
            matches = self._with_hashes(hashes[start : start + _PAGE], scope.user_id)
            found.update((m.text, m) for m in matches if scope.holds_exactly(m) and not expired(m))
        return found

    def _claim(self, memories: Sequence[Memory]) -> dict[str, tuple[str, int]]:
        """Claim each new memory's text in its scope against other processes (see :mod:`agent_memory.store._claims`):
        by memory id, the id of the memory that holds the text and when it claimed it. Without other
        processes (an embedded store) every memory holds its own text."""
        if self._claims is None:
            return {m.id: (m.id, 0) for m in memories}
        with chroma_errors("claim texts"):
            return self._claims.claim(memories)

    def _take_over(self, memory: Memory, stale_holder: str) -> None:
        """Drop a claim whose memory never appeared, so that ``memory`` can claim its text."""
        if self._claims is not None:
            with chroma_errors("take over a claim"):
                self._claims.take_over(memory, stale_holder)

    def _history(self) -> ChromaHistory | None:
        """The history kept beside a shared collection on its server (one per deployment), if shared."""
        if self._feed is None:
            return None
        from agent_memory.store._chroma_history import ChromaHistory

        return ChromaHistory(self._client, self._collection.name)

    def _release_claims(self, memory_ids: Sequence[str]) -> None:
        """Drop the claims of memories that were not written after all."""
        if self._claims is not None:
            with chroma_errors("release claims"):
                self._claims.release(memory_ids)

    def _with_hashes(self, hashes: list[str], user_id: str) -> list[Memory]:
        """The user's memories whose text has one of these hashes.

        Asked by hash alone first: Chroma answers that from its index at a cost that
        does not grow with the user's memory count, while adding ``user_id`` to the
        filter makes it scan the user's rows. Only when many users hold these very
        texts (the answer fills the limit) is the user added to the filter.
        """
        limit = 4 * len(hashes) + 16
        by_hash = where_of([{"text_sha": {"$in": hashes}}])
        with chroma_errors("look up duplicates"):
            result = self._collection.get(where=by_hash, limit=limit)
            if len(result["ids"]) == limit:
                result = self._collection.get(where=where_of([{"user_id": user_id}, {"text_sha": {"$in": hashes}}]))
        return [m for m in memories_from(result) if m.user_id == user_id]

    def _list_memories(
        self,
        scope: Scope,
        *,
        filters: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest: bool = False,
    ) -> list[Memory]:
        """The scope's memories in the order they were stored (``newest`` first if asked), paged."""
        where = scoped_where(scope, filters)
        with chroma_errors("list memories"), _filter_errors(filters):
            if not newest:
                return memories_from(self._collection.get(where=where, limit=limit, offset=offset))
            ids = self._collection.get(where=where, include=[])["ids"]  # O(n) ids, to page from the end
            wanted = ids[::-1][offset : None if limit is None else offset + limit]
            found = {m.id: m for m in memories_from(self._collection.get(ids=wanted, where=where))} if wanted else {}
        return [found[i] for i in wanted if i in found]

    def query(
        self,
        vector: NDArray[np.float32],
        scope: Scope,
        *,
        filters: Mapping[str, Any] | None = None,
        top_k: int = 5,
        ids: Sequence[str] | None = None,
        vectors: dict[str, NDArray[np.float32]] | None = None,
    ) -> list[tuple[Memory, float]]:
        """The ``top_k`` nearest records of the scope (among ``ids`` if given), best first. With
        ``vectors``, their stored vectors are put in it too, by id."""
        include: Any = ["documents", "metadatas", "distances", *(["embeddings"] if vectors is not None else [])]
        with chroma_errors("search memories"), _filter_errors(filters):
            result = self._collection.query(
                query_embeddings=vector.reshape(1, -1),
                ids=list(ids) if ids is not None else None,
                n_results=top_k,
                where=scoped_where(scope, filters),
                include=include,
            )
        columns: Mapping[str, Any] = result  # one query embedding: every column is a list of one list
        keys = ("ids", "documents", "metadatas", "distances", "embeddings")
        first = {key: (columns.get(key) or [None])[0] for key in keys}
        memories = memories_from(first)
        if vectors is not None and first["embeddings"] is not None:
            vectors.update(zip(first["ids"], np.asarray(first["embeddings"], dtype=np.float32), strict=True))
        hits = [(m, similarity(self._space, d)) for m, d in zip(memories, first["distances"] or [], strict=True)]
        return sorted(hits, key=lambda hit: hit[1], reverse=True)

    def _similarities(
        self,
        vector: NDArray[np.float32],
        ids: Sequence[str],
        scope: Scope,
        *,
        filters: Mapping[str, Any] | None,
        vectors: dict[str, NDArray[np.float32]] | None = None,
    ) -> list[tuple[Memory, float]]:
        """These memories of the scope (those passing ``filters``) with their cosine similarity to ``vector``
        (and, with ``vectors``, their stored vectors put in it, by id).

        Without filters, a look-up by id (Chroma evaluates a ``where`` over the whole
        collection, which costs more than the look-up); with them, a query restricted to the ids.
        """
        if not ids:
            return []
        if filters is not None:
            return self.query(vector, scope, filters=filters, top_k=len(ids), ids=ids, vectors=vectors)
        with chroma_errors("read memories"):
            found = self._collection.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        memories = memories_from(found)
        stored = np.asarray(found["embeddings"] if found["embeddings"] is not None else [], dtype=np.float32)
        scores = stored @ vector if len(memories) else np.zeros(0)
        if vectors is not None and len(memories):
            vectors.update((m.id, v) for m, v in zip(memories, stored, strict=True) if scope.contains(m))
        return [(m, float(s)) for m, s in zip(memories, scores, strict=True) if scope.contains(m)]

    def _user_vectors(self, user_id: str, newest: int, total: int) -> NDArray[np.float32]:
        """Up to ``newest`` of the user's stored vectors: the last ones in storage order, of about ``total``."""
        with chroma_errors("read vectors"):
            found = self._collection.get(
                where={"user_id": user_id}, limit=newest, offset=max(total - newest, 0), include=["embeddings"]
            )
        return np.asarray(found["embeddings"] if found["embeddings"] is not None else [], dtype=np.float32)

    def _delete(self, ids: Sequence[str], scope: Scope) -> int:
        owned = [m.id for m in self.get(ids, scope)]  # never delete what the scope does not own
        if owned:
            with chroma_errors("delete memories"):
                self._collection.delete(ids=owned)
                if self._claims is not None:
                    self._claims.release(owned)
            self._note({scope.user_id: owned})
        return len(owned)

    def _delete_scope(self, scope: Scope) -> int:
        deleted = 0
        where = scoped_where(scope)
        while True:
            with chroma_errors("delete memories"):
                ids = self._collection.get(where=where, limit=_PAGE, include=[])["ids"]
                if not ids:
                    if self._claims is not None:
                        self._claims.release_scope(scope)
                    return deleted
                self._collection.delete(ids=ids)
            self._note({scope.user_id: ids})
            deleted += len(ids)

    def count(self, scope: Scope | None = None) -> int:
        """The scope's records (every record, without one): Chroma's count, or, for a scope, one
        request for its ids alone (Chroma counts no ``where``), never a walk of the collection."""
        if scope is None:
            with chroma_errors("count memories"):
                return self._collection.count()
        with chroma_errors("count memories"):
            return len(self._collection.get(where=scoped_where(scope), include=[])["ids"])

    def _user_counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        offset = 0
        while True:
            with chroma_errors("read memories"):
                metas = self._collection.get(limit=_PAGE, offset=offset, include=["metadatas"])["metadatas"] or []
            counts.update(str((m or {}).get("user_id", "")) for m in metas)
            offset += _PAGE
            if len(metas) < _PAGE:
                return counts

    def _reindex(
        self, fingerprint: Fingerprint, embed: Callable[[list[str]], NDArray[np.float32]], *, keep_old: bool = False
    ) -> int:
        """Re-embed every record into a new collection, then swap it in under this collection's name.

        The switch happens only once every record is copied: until then the old
        collection is untouched and in use, and a failure leaves it as it was (the
        half-built copy is dropped). ``keep_old`` keeps the old collection, renamed.
        Writers should pause during a reindex: what they write meanwhile is not copied.
        """
        name, stamp = self._collection.name, uuid.uuid4().hex[:8]
        with chroma_errors("create the reindex collection"):
            staging = retrying(
                self._client.create_collection(
                    f"{name}-reindex-{stamp}",
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={**fingerprint.to_metadata(), TIMES_MARK: 1},  # the copies keep their times
                )
            )
        try:
            copied = self._copy_into(staging, embed)
        except BaseException:
            self._client.delete_collection(staging.name)
            raise
        with chroma_errors("switch to the reindexed collection"):
            old = self._collection
            old.modify(name=f"{name}-before-reindex-{stamp}")
            staging.modify(name=name)
            self._collection, self._space, self._fingerprint_checked = staging, "cosine", fingerprint
            if not keep_old:
                self._client.delete_collection(old.name)
        return copied

    def _copy_into(self, target: Collection, embed: Callable[[list[str]], NDArray[np.float32]]) -> int:
        copied = 0
        while True:
            with chroma_errors("read memories to reindex"):
                page = self._collection.get(limit=_PAGE, offset=copied, include=["documents", "metadatas"])
            if not page["ids"]:
                return copied
            documents = [d or "" for d in page["documents"] or []]
            with chroma_errors("write reindexed memories"):
                target.add(
                    ids=page["ids"], embeddings=embed(documents), documents=documents, metadatas=page["metadatas"]
                )
            copied += len(page["ids"])

    def close(self) -> None:
        self._client.close()  # type: ignore[attr-defined]  # in chromadb's Client, not its ClientAPI stub
        if self._on_close is not None:
            self._on_close()
            self._on_close = None


@contextlib.contextmanager
def _filter_errors(filters: Mapping[str, Any] | None) -> Iterator[None]:
    """Chroma reports a ``where`` it cannot use (an operand of the wrong type, say) as a ValueError
    raised by its own validation; that one, and no other ValueError, is the caller's filter's fault."""
    try:
        yield
    except ValueError as exc:
        if filters is None or not _raised_by_chroma(exc):
            raise
        raise InvalidFilterError(f"invalid filters {dict(filters)!r}: {exc}") from None


def _raised_by_chroma(exc: BaseException) -> bool:
    """Whether ``exc`` was raised in Chroma's own code (the innermost frame of its traceback)."""
    trace = exc.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    return trace is not None and str(trace.tb_frame.f_globals.get("__name__", "")).startswith("chromadb")
