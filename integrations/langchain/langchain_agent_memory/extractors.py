"""``LangChainExtractor``: fact extraction and reconciliation by any LangChain chat model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable

from agent_memory import MAX_FACT_CHARS, MAX_FACTS, ConfigurationError, ExtractionError, LLMExtractor, Message
from agent_memory.validation import check_choice

__all__ = ["LangChainExtractor"]

METHODS = ("auto", "structured", "json")
# Message chunks subclass their messages, so isinstance covers streamed messages too.
_ROLES: tuple[tuple[type[BaseMessage], str], ...] = (
    (HumanMessage, "user"),
    (AIMessage, "assistant"),
    (SystemMessage, "system"),
)


class LangChainExtractor(LLMExtractor):
    """An :class:`~agent_memory.Extractor` driven by any LangChain chat model.

    With ``method="auto"`` the answers come through the model's structured output
    (tool calling) where it has one, and as strict JSON text otherwise;
    ``"structured"`` insists on the former, ``"json"`` always uses the latter.
    The answer's schema holds at most ``max_facts`` facts of ``max_fact_chars``
    characters; lower them for small models (see :class:`~agent_memory.LLMExtractor`).
    The prompts are agent-memory's own. ``usage`` counts the calls and the tokens
    the model reports. For a model whose tool calling is there but fails (a server
    that refuses a forced tool choice), use ``method="json"``. LangChain messages can be given to
    :meth:`MemorySystem.remember` as they are (a ``time`` in ``additional_kwargs``
    dates them).

    Example:
        .. code-block:: python

            extractor = LangChainExtractor(ChatOpenAI(model="gpt-4.1-mini"))
            memory.remember(messages, user_id="alice", extractor=extractor)
    """

    def __init__(
        self,
        chat_model: BaseChatModel,
        *,
        method: str = "auto",
        max_facts: int = MAX_FACTS,
        max_fact_chars: int = MAX_FACT_CHARS,
    ) -> None:
        super().__init__(max_facts=max_facts, max_fact_chars=max_fact_chars)
        if not isinstance(chat_model, BaseChatModel):
            raise ConfigurationError(f"chat_model must be a LangChain chat model, got {type(chat_model).__name__}")
        self.chat_model = chat_model
        self.method = check_choice(method, METHODS, "method")
        self._structured: dict[str, Runnable[Any, Any] | None] = {}

    def complete(self, messages: list[dict[str, str]], schema: Mapping[str, Any]) -> str | Mapping[str, Any]:
        """The model's answer: the structured output's object, else the reply's text."""
        prompt: list[BaseMessage] = [
            SystemMessage(m["content"]) if m["role"] == "system" else HumanMessage(m["content"]) for m in messages
        ]
        structured = self._structured_model(schema)
        if structured is None:
            reply = self.chat_model.invoke(prompt)
            self._count(reply)
            return reply.text
        answer = structured.invoke(prompt)
        self._count(answer["raw"])
        if answer["parsed"] is not None:
            return dict(answer["parsed"])
        if answer["raw"].text.strip():  # no tool call, but perhaps JSON in the text
            return str(answer["raw"].text)
        raise ExtractionError(f"the model's structured answer could not be read: {answer.get('parsing_error')}")

    def _structured_model(self, schema: Mapping[str, Any]) -> Runnable[Any, Any] | None:
        title = str(schema["title"])
        if self.method == "json":
            return None
        if title not in self._structured:
            try:
                self._structured[title] = self.chat_model.with_structured_output(dict(schema), include_raw=True)
            except NotImplementedError:
                if self.method == "structured":
                    raise ConfigurationError(f"{type(self.chat_model).__name__} has no structured output") from None
                self._structured[title] = None
        return self._structured[title]

    def _count(self, reply: object) -> None:
        usage = getattr(reply, "usage_metadata", None) or {}
        self.usage.add(usage.get("input_tokens", 0), usage.get("output_tokens", 0))

    def to_message(self, obj: object) -> Message | None:
        """A LangChain message (or chunk) as a :class:`Message`: human is ``user``, ai is ``assistant``,
        a ``ChatMessage`` keeps its role."""
        if not isinstance(obj, BaseMessage):
            return None
        role = next((r for t, r in _ROLES if isinstance(obj, t)), obj.type)
        if isinstance(obj, ChatMessage):
            role = obj.role
        return Message(role, obj.text, obj.additional_kwargs.get("time"))
