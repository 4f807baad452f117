"""A LangChain agent with long-term memory: it saves facts about the user and recalls them later.

With a real chat model configured (``AGENT_MEMORY_CHAT_MODEL=openai:gpt-4o-mini`` and the
``langchain`` package plus that provider's package and key), the model decides when to
call the memory tools. Without one it runs offline, driven by langchain-core's scripted
fake chat model, so the whole loop can be seen working.

    AGENT_MEMORY_MODEL=/path/to/model python examples/langchain_agent.py
"""

from __future__ import annotations

import json
import os

from langchain_agent_memory import create_memory_tools
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

from agent_memory import MemorySystem

SYSTEM = (
    "You are a helpful assistant with long-term memory. Save lasting facts the user tells you "
    "with store_memory, and search your memories (search_memory) before answering personal questions."
)


def chat_model(tools: list[BaseTool], script: list[AIMessage]) -> Runnable:  # type: ignore[type-arg]
    """The configured chat model with the tools bound, or a scripted fake one offline."""
    configured = os.environ.get("AGENT_MEMORY_CHAT_MODEL")
    if configured:
        from langchain.chat_models import init_chat_model  # the `langchain` package

        model: BaseChatModel = init_chat_model(configured)
        return model.bind_tools(tools)
    return GenericFakeChatModel(messages=iter(script))


def call(name: str, **args: object) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call-{name}", "type": "tool_call"}])


def run_turn(model: Runnable, tools: list[BaseTool], history: list[BaseMessage], text: str) -> str:  # type: ignore[type-arg]
    """One user turn: call the model and the tools it asks for until it answers."""
    by_name = {t.name: t for t in tools}
    history.append(HumanMessage(text))
    while True:
        reply = model.invoke(history)
        history.append(reply)
        if not reply.tool_calls:
            return str(reply.content)
        for tool_call in reply.tool_calls:
            result = by_name[tool_call["name"]].invoke(tool_call)
            print(f"    [{tool_call['name']}({json.dumps(tool_call['args'], ensure_ascii=False)}) -> {result.content}]")
            history.append(result)


def main() -> None:
    with MemorySystem(path=":memory:") as memory:
        tools = create_memory_tools(memory, user_id="alice")
        script = [
            call("store_memory", text="Alice likes her coffee black, no sugar"),
            AIMessage(content="Noted: black coffee, no sugar."),
            call("search_memory", query="How does Alice take her coffee?"),
            AIMessage(content="Black, with no sugar."),
        ]
        model = chat_model(tools, script)
        # Two conversations: the second starts with an empty history, only the memory carries over.
        for turn in ["I take my coffee black, no sugar.", "How do I like my coffee?"]:
            print(f"user: {turn}")
            print(f"assistant: {run_turn(model, tools, [SystemMessage(SYSTEM)], turn)}\n")
        print("alice's memories:", [m.text for m in memory.list_memories(user_id="alice")])


if __name__ == "__main__":
    main()
