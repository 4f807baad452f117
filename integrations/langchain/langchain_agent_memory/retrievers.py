"""``AgentMemoryRetriever``: a user's memories from a ``MemorySystem`` as a LangChain retriever."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from agent_memory import MemorySystem, SearchHit

__all__ = ["AgentMemoryRetriever", "hit_to_document"]


def hit_to_document(hit: SearchHit) -> Document:
    """A search hit as a Document: the memory's metadata plus ``score`` and its timestamps."""
    m = hit.memory
    metadata: dict[str, Any] = {**m.metadata, "score": hit.score, "user_id": m.user_id}
    if m.created_at is not None:
        metadata["created_at"] = m.created_at.isoformat()
    return Document(id=m.id, page_content=m.text, metadata=metadata)


class AgentMemoryRetriever(BaseRetriever):
    """Retrieves one user's memories, searched with the Qwen3 query instruction.

    Example:
        .. code-block:: python

            retriever = AgentMemoryRetriever(memory=MemorySystem(), user_id="alice", top_k=5)
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

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.memory.search_memory(
            query,
            user_id=self.user_id,
            top_k=self.top_k,
            task=self.task,
            filters=self.filters,
            min_score=self.min_score,
            agent_id=self.agent_id,
            session_id=self.session_id,
        )
        return [hit_to_document(h) for h in hits]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        return await asyncio.to_thread(self._get_relevant_documents, query, run_manager=run_manager.get_sync())
