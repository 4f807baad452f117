"""``AgentMemoryRetriever``: a user's memories from a ``MemorySystem`` as a LangChain retriever."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, field_validator

from agent_memory import SEARCH_MODES, AsyncMemorySystem, MemorySystem, SearchHit
from agent_memory.options import SEARCH, named
from agent_memory.validation import check_choice

__all__ = ["AgentMemoryRetriever", "hit_to_document"]


def hit_to_document(hit: SearchHit) -> Document:
    """A search hit as a Document: the memory's metadata plus ``score``, ``similarity``, its timestamps
    and validity where set, and the ``time_range`` a time-aware search applied.

    ``score`` is what the hits were ranked by (higher is more relevant); ``similarity``
    is the cosine similarity, kept beside it because the two differ in hybrid search.
    """
    m = hit.memory
    metadata: dict[str, Any] = {**m.metadata, "score": hit.score, "similarity": hit.similarity, "user_id": m.user_id}
    times = {"created_at": m.created_at, "valid_from": m.valid_from, "valid_until": m.valid_until}
    metadata.update((key, moment.isoformat()) for key, moment in times.items() if moment is not None)
    if hit.time_range is not None:
        metadata["time_range"] = [moment.isoformat() for moment in hit.time_range]
    return Document(id=m.id, page_content=m.text, metadata=metadata)


class AgentMemoryRetriever(BaseRetriever):
    """Retrieves one user's memories, searched with the Qwen3 query instruction.

    ``mode`` is :meth:`MemorySystem.search_memory`'s: ``"hybrid"`` (BM25 and dense,
    the default) or ``"dense"`` (vectors only); another value fails when the
    retriever is built.

    Example:
        .. code-block:: python

            retriever = AgentMemoryRetriever(memory=MemorySystem(), user_id="alice", top_k=5, mode="dense")
            docs = retriever.invoke("What does Alice drink?")
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: MemorySystem
    user_id: str
    top_k: int = 5
    task: str | None = None
    filters: dict[str, Any] | None = None
    min_score: float | None = None
    agent_id: str | None = None
    session_id: str | None = None
    mode: str = "hybrid"
    since: datetime | str | None = None
    """Only memories stored at or after this (a datetime or ISO 8601; naive: in ``tz``)."""
    until: datetime | str | None = None
    """Only memories stored before this."""
    tz: str | None = None
    """IANA zone of naive times and of the query's time words; default ``AGENT_MEMORY_TZ``, else UTC."""
    as_of: datetime | str | None = None
    """What held at this time (default: what holds now; expired memories are left out)."""
    include_expired: bool = False
    """Also memories that no longer hold."""
    time_aware: bool = True
    """A time the query names ("last week", "in 2022") selects what held then."""
    now: datetime | str | None = None
    """What the query's time words are read against (default: the current time)."""
    recency_half_life: timedelta | float | None = None
    """Prefer recent memories: one this old loses 10% of its score (a ``timedelta``, or days)."""
    signals: list[str] | None = None
    """The default search's signals to apply (``None``: all of them; ``[]``: none)."""

    @field_validator("mode")
    @classmethod
    def _check_mode(cls, mode: str) -> str:
        """Fail when the retriever is built, not at its first search."""
        return check_choice(mode, SEARCH_MODES, "mode")

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.memory.search_memory(query, user_id=self.user_id, **named(SEARCH, self))
        return [hit_to_document(h) for h in hits]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        search = self._get_relevant_documents  # in the system's bounded pool, shared with its other async callers
        return await AsyncMemorySystem.of(self.memory).run(search, query, run_manager=run_manager.get_sync())
