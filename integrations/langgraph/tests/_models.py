"""LangChain's scripted fake chat model, able to be given tools.

``GenericFakeChatModel`` (langchain-core) answers from a script but has no ``bind_tools``, which
``create_agent`` and LangMem's extractor call; for a scripted model, binding tools changes nothing.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

__all__ = ["ScriptedChatModel", "call"]


class ScriptedChatModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self


def call(name: str, call_id: str = "c1", **args: object) -> AIMessage:
    """A reply that calls one tool."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])
