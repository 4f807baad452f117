"""A LangChain v1 agent (create_agent) with long-term memory: a LangGraph store, LangMem's tools, and
agent-memory's middleware, for two users in one process.

With a real chat model configured (``AGENT_MEMORY_CHAT_MODEL=openai:gpt-4.1-mini`` and that
provider's package and key), the model decides when to call the tools. Without one it runs
offline on langchain-core's scripted fake chat model, so the whole loop can be seen working.

    AGENT_MEMORY_MODEL=/path/to/model python examples/langgraph_agent.py
"""

from __future__ import annotations

import os
from typing import Any

from langchain.agents import create_agent
from langchain_agent_memory import LangChainExtractor
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph_agent_memory import AgentMemoryMiddleware, AgentMemoryStore
from langmem import create_manage_memory_tool, create_search_memory_tool

from agent_memory import MemorySystem

NAMESPACE = ("memories", "{langgraph_user_id}")


class ScriptedChatModel(GenericFakeChatModel):
    """langchain-core's scripted model; create_agent binds tools, which changes nothing for a script."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self


def call(name: str, **args: object) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call-{name}", "type": "tool_call"}])


def models() -> tuple[BaseChatModel, BaseChatModel]:
    """The agent's model and the extractor's: the configured one, else scripted stand-ins."""
    configured = os.environ.get("AGENT_MEMORY_CHAT_MODEL")
    if configured:
        from langchain.chat_models import init_chat_model

        model = init_chat_model(configured)
        return model, model
    agent = ScriptedChatModel(
        messages=iter(
            [
                call("manage_memory", action="create", content="Alice is training for the Lisbon marathon"),
                AIMessage("Good luck with the training!"),
                AIMessage("Noted: no peanuts."),
                call("search_memory", query="training"),
                AIMessage("You are training for the Lisbon marathon."),
            ]
        )
    )
    facts = [  # what the extractor finds in each turn
        '{"facts": ["Alice is training for the Lisbon marathon"]}',  # already stored by the tool: unchanged
        '{"facts": ["Bob is allergic to peanuts"]}',
        '{"facts": []}',
    ]
    return agent, FakeListChatModel(responses=facts)


def main() -> None:
    agent_model, extractor_model = models()
    with MemorySystem(path=":memory:") as memory:
        middleware = AgentMemoryMiddleware(memory, extractor=LangChainExtractor(extractor_model))
        agent = create_agent(
            agent_model,
            tools=[create_manage_memory_tool(namespace=NAMESPACE), create_search_memory_tool(namespace=NAMESPACE)],
            system_prompt="You are a helpful assistant with long-term memory.",
            store=AgentMemoryStore(memory),
            middleware=[middleware],
        )
        for user, text in [
            ("alice", "I'm training for the Lisbon marathon."),
            ("bob", "I'm allergic to peanuts."),
            ("alice", "What am I training for?"),
        ]:
            config: Any = {"configurable": {"langgraph_user_id": user}}
            out = agent.invoke(
                {"messages": [{"role": "user", "content": text}]}, context={"user_id": user}, config=config
            )
            print(f"{user}: {text}\n  agent: {out['messages'][-1].content}")
            middleware.flush()  # remember() runs after the answer; wait for it before the next turn
        for user in ("alice", "bob"):
            print(f"{user}'s memories: {[m.text for m in memory.list_memories(user_id=user)]}")


if __name__ == "__main__":
    main()
