"""``AgentMemoryBlock``: long-term, per-user memory inside ``llama_index.core.memory.Memory``."""

from __future__ import annotations

import warnings
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.bridge.pydantic import Field, field_validator, model_validator
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.memory.agent_memory.extractor import message_role, message_text

from agent_memory import (
    SEARCH_MODES,
    AgentMemoryError,
    AsyncMemorySystem,
    Extractor,
    InvalidTypeError,
    MemorySystem,
    Scope,
)
from agent_memory.validation import check_choice

__all__ = ["AgentMemoryBlock"]


class AgentMemoryBlock(BaseMemoryBlock[str]):
    """Stores chat messages flushed from short-term memory as a user's long-term memories,
    and brings back the ones relevant to the latest messages.

    On ``aput`` (messages leaving the short-term buffer) each user and assistant
    message with text becomes a memory of ``user_id`` (with its ``role`` as metadata;
    repeats are stored once). With an ``extractor`` (such as a
    :class:`LlamaIndexExtractor`), the messages go to :meth:`MemorySystem.remember`
    instead: the lasting facts in them are stored, reconciled with what is
    remembered, rather than the raw messages; if the extractor fails (its LLM is down,
    or answers nothing usable), the turns are stored as they are, with a warning,
    since the short-term memory has already let them go. On ``aget`` the latest messages are the query,
    embedded with the Qwen3 task instruction, and the ``top_k`` memories come back
    as lines of text, found with ``mode`` (``"hybrid"``, the default, or ``"dense"``, as
    in :meth:`MemorySystem.search_memory`). Only ``user_id``'s memories are ever read or written.

    Example:
        .. code-block:: python

            block = AgentMemoryBlock(memory=MemorySystem(), user_id="alice", top_k=5)
            chat_memory = Memory.from_defaults(session_id="s1", memory_blocks=[block])
    """

    name: str = Field(default="long_term_memory", description="The name of the memory block.")
    memory: MemorySystem = Field(description="Where the memories live.")
    user_id: str = Field(description="Whose memories this block reads and writes.")
    top_k: int = Field(default=5, ge=1, description="How many memories to bring back.")
    min_score: float | None = Field(default=None, description="Drop memories scoring lower than this (in [0, 1]).")
    mode: str = Field(default="hybrid", description="How to search: hybrid (BM25 and dense) or dense.")
    agent_id: str | None = None
    session_id: str | None = None
    query_messages: int = Field(default=3, ge=1, description="How many latest messages form the query.")
    roles: tuple[MessageRole, ...] = (MessageRole.USER, MessageRole.ASSISTANT)
    extractor: Any = Field(default=None, description="An agent_memory Extractor: store facts, not raw messages.")

    @field_validator("mode")
    @classmethod
    def _check_mode(cls, mode: str) -> str:
        """Fail when the block is built, not when the chat first reads it."""
        return check_choice(mode, SEARCH_MODES, "mode")

    @model_validator(mode="after")
    def _check_scope(self) -> AgentMemoryBlock:
        Scope.of(self.user_id, self.agent_id, self.session_id)
        if self.extractor is not None and not isinstance(self.extractor, Extractor):
            raise InvalidTypeError(f"extractor {self.extractor!r} does not implement the Extractor protocol")
        return self

    async def _aput(self, messages: list[ChatMessage]) -> None:
        kept = [m for m in messages if m.role in self.roles and message_text(m)]
        if not kept:
            return
        if self.extractor is not None:
            try:
                await AsyncMemorySystem.of(self.memory).run(self._remember, kept)
                return
            except AgentMemoryError as exc:  # the short-term buffer has let these turns go: keep them as they are
                warnings.warn(f"AgentMemoryBlock stored the turns as they are: {exc}", stacklevel=2)
        await AsyncMemorySystem.of(self.memory).store_memories(
            [message_text(m) for m in kept],
            user_id=self.user_id,
            metadatas=[{"role": message_role(m)} for m in kept],
            agent_id=self.agent_id,
            session_id=self.session_id,
        )

    def _remember(self, messages: list[ChatMessage]) -> None:
        said = [
            {"role": message_role(m), "content": message_text(m), "time": m.additional_kwargs.get("time")}
            for m in messages
        ]
        self.memory.remember(
            said, user_id=self.user_id, extractor=self.extractor, agent_id=self.agent_id, session_id=self.session_id
        )

    async def _aget(self, messages: list[ChatMessage] | None = None, **block_kwargs: Any) -> str:
        query = " ".join(t for t in (message_text(m) for m in (messages or [])[-self.query_messages :]) if t)
        if not query:
            return ""
        hits = await AsyncMemorySystem.of(self.memory).search_memory(
            query,
            user_id=self.user_id,
            top_k=self.top_k,
            min_score=self.min_score,
            agent_id=self.agent_id,
            session_id=self.session_id,
            mode=self.mode,
        )
        return "\n".join(f"- {h.text}" for h in hits)
