"""``LlamaIndexExtractor``: fact extraction and reconciliation by any LlamaIndex LLM."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock
from llama_index.core.llms import LLM

from agent_memory import ConfigurationError, LLMExtractor, Message

__all__ = ["LlamaIndexExtractor", "message_role", "message_text"]

_ROLES = {MessageRole.CHATBOT: "assistant", MessageRole.MODEL: "assistant", MessageRole.DEVELOPER: "system"}


def message_text(message: ChatMessage) -> str:
    """The text blocks of a chat message, joined (images and other blocks left out)."""
    return " ".join(b.text for b in message.blocks if isinstance(b, TextBlock)).strip()


def message_role(message: ChatMessage) -> str:
    """The message's role as the prompts name roles (a ``chatbot`` or ``model`` is the assistant)."""
    return _ROLES.get(message.role, message.role.value)


class LlamaIndexExtractor(LLMExtractor):
    """An :class:`~agent_memory.Extractor` driven by any LlamaIndex LLM, through its ``chat``.

    The prompts are agent-memory's own and ask for strict JSON, which every chat
    model can give. ``usage`` counts the calls, and the tokens where the LLM
    reports them (``prompt_tokens``/``completion_tokens`` in the response's
    ``additional_kwargs``, as the OpenAI integration does). LlamaIndex
    ``ChatMessage`` objects can be given to :meth:`MemorySystem.remember` as they
    are (a ``time`` in ``additional_kwargs`` dates them).

    Example:
        .. code-block:: python

            extractor = LlamaIndexExtractor(OpenAI(model="gpt-4.1-mini"))
            memory.remember(messages, user_id="alice", extractor=extractor)
    """

    def __init__(self, llm: LLM) -> None:
        super().__init__()
        if not isinstance(llm, LLM):
            raise ConfigurationError(f"llm must be a LlamaIndex LLM, got {type(llm).__name__}")
        self.llm = llm

    def complete(self, messages: list[dict[str, str]], schema: Mapping[str, Any]) -> str:
        """The LLM's reply text to the prompt."""
        response = self.llm.chat([ChatMessage(role=MessageRole(m["role"]), content=m["content"]) for m in messages])
        counts = response.additional_kwargs
        self.usage.add(_tokens(counts.get("prompt_tokens")), _tokens(counts.get("completion_tokens")))
        return response.message.content or ""

    def to_message(self, obj: object) -> Message | None:
        """A LlamaIndex ``ChatMessage`` as a :class:`Message`."""
        if not isinstance(obj, ChatMessage):
            return None
        return Message(message_role(obj), message_text(obj), obj.additional_kwargs.get("time"))


def _tokens(value: object) -> int:
    return value if isinstance(value, int) else 0
