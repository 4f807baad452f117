"""AgentMemoryBlock inside llama_index.core.memory.Memory: flushed turns come back later, per user."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.memory import Memory
from llama_index.memory.agent_memory import AgentMemoryBlock

from agent_memory import MemorySystem
from agent_memory.testing import ConstantEmbedder

FIRST_CONVERSATION = [
    ("user", "I just adopted a beagle called Rex."),
    ("assistant", "Congratulations on Rex!"),
    ("user", "I take my coffee black with no sugar."),
    ("assistant", "Noted."),
    ("user", "My sister Carla lives in Porto."),
    ("assistant", "Porto is lovely."),
]


def _chat_memory(memory: MemorySystem, user_id: str, session: str) -> Memory:
    block = AgentMemoryBlock(memory=memory, user_id=user_id, top_k=2)
    # A tiny short-term window, so that earlier turns are flushed into the long-term block.
    return Memory.from_defaults(
        session_id=session, memory_blocks=[block], token_limit=60, chat_history_token_ratio=0.5, token_flush_size=20
    )


async def test_flushed_messages_come_back_in_a_later_conversation(memory: MemorySystem) -> None:
    chat = _chat_memory(memory, "alice", "alice-1")
    for role, text in FIRST_CONVERSATION:
        await chat.aput(ChatMessage(role=role, content=text))
    await chat.aget()  # reading the memory makes it flush what no longer fits
    stored = [m.text for m in memory.list_memories(user_id="alice")]
    assert "I just adopted a beagle called Rex." in stored
    assert {m.metadata["role"] for m in memory.list_memories(user_id="alice")} <= {"user", "assistant"}

    later = _chat_memory(memory, "alice", "alice-2")  # a new session: empty short-term memory
    await later.aput(ChatMessage(role=MessageRole.USER, content="What is the name of my dog?"))
    messages = await later.aget()
    context = "\n".join(str(m.content) for m in messages)
    assert "beagle called Rex" in context


async def test_another_users_memories_never_come_back(memory: MemorySystem) -> None:
    alice = _chat_memory(memory, "alice", "alice-1")
    for role, text in FIRST_CONVERSATION:
        await alice.aput(ChatMessage(role=role, content=text))
    await alice.aget()
    assert memory.count(user_id="alice") > 0

    bob = _chat_memory(memory, "bob", "bob-1")
    await bob.aput(ChatMessage(role=MessageRole.USER, content="What is the name of my dog?"))
    context = "\n".join(str(m.content) for m in await bob.aget())
    assert "Rex" not in context and "coffee" not in context
    assert memory.count(user_id="bob") == 0


async def test_direct_put_and_get(memory: MemorySystem) -> None:
    block = AgentMemoryBlock(memory=memory, user_id="alice", top_k=1)
    await block.aput(
        [ChatMessage(role="user", content="I am allergic to peanuts."), ChatMessage(role="system", content="ignored")]
    )
    assert [m.text for m in memory.list_memories(user_id="alice")] == ["I am allergic to peanuts."]
    assert (
        await block.aget([ChatMessage(role="user", content="Which food should I avoid?")])
        == "- I am allergic to peanuts."
    )
    assert await block.aget([]) == ""
    await block.aput([ChatMessage(role="user", content="I am allergic to peanuts.")])  # repeats are stored once
    assert memory.count(user_id="alice") == 1


async def test_the_block_searches_in_its_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    facts = ["Alice moved to Lisbon last spring", "Alice has a dog called Biscuit", "Alice is allergic to peanuts"]
    question = [ChatMessage(role="user", content="Where is Biscuit?")]
    with MemorySystem(embedder=ConstantEmbedder(64), path=":memory:") as memory:
        memory.store_memories(facts, user_id="alice")
        assert await AgentMemoryBlock(memory=memory, user_id="alice", top_k=1).aget(question) == f"- {facts[1]}"
        search, modes = memory.search_memory, list[str]()

        def spy(*args: Any, **kwargs: Any) -> Any:
            modes.append(kwargs["mode"])
            return search(*args, **kwargs)

        monkeypatch.setattr(memory, "search_memory", spy)
        dense = AgentMemoryBlock(memory=memory, user_id="alice", top_k=3, mode="dense")
        assert len((await dense.aget(question)).splitlines()) == 3 and modes == ["dense"]
        with pytest.raises(ValueError, match="mode must be one of"):  # pydantic wraps agent-memory's ValidationError
            AgentMemoryBlock(memory=memory, user_id="alice", mode="sparse")
