"""LangMem's three entry points, end to end on AgentMemoryStore, two users in one process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from _models import ScriptedChatModel, call
from langgraph_agent_memory import AgentMemoryStore
from langmem import create_manage_memory_tool, create_memory_store_manager, create_search_memory_tool

from agent_memory import MemorySystem

NAMESPACE = ("memories", "{langgraph_user_id}")


def config(user: str) -> dict[str, dict[str, str]]:
    return {"configurable": {"langgraph_user_id": user}}


@pytest.fixture
def store(memory: MemorySystem) -> Iterator[AgentMemoryStore]:
    yield AgentMemoryStore(memory)


def test_manage_and_search_tools(store: AgentMemoryStore, memory: MemorySystem) -> None:
    manage = create_manage_memory_tool(namespace=NAMESPACE, store=store)
    search = create_search_memory_tool(namespace=NAMESPACE, store=store)
    created = manage.invoke({"action": "create", "content": "Alice is training for a marathon"}, config=config("alice"))
    key = created.split()[-1]
    manage.invoke({"action": "create", "content": "Bob is training for a triathlon"}, config=config("bob"))
    manage.invoke(
        {"action": "update", "id": key, "content": "Alice is training for the Lisbon marathon"}, config=config("alice")
    )
    found = json.loads(search.invoke({"query": "What is she training for?"}, config=config("alice")))
    assert [(f["key"], f["value"]["content"]) for f in found] == [(key, "Alice is training for the Lisbon marathon")]
    assert 0.0 <= found[0]["score"] <= 1.0
    kept = memory.get_memory_by_key(key, user_id="alice")
    assert kept is not None and [e.action for e in memory.history(kept.id, user_id="alice")] == ["create", "update"]
    manage.invoke({"action": "delete", "id": key}, config=config("bob"))  # bob's delete of alice's key: nothing
    assert memory.get_memory_by_key(key, user_id="alice") is not None
    manage.invoke({"action": "delete", "id": key}, config=config("alice"))
    assert json.loads(search.invoke({"query": "training"}, config=config("alice"))) == []
    assert [m.text for m in memory.list_memories(user_id="bob")] == ["Bob is training for a triathlon"]


async def test_memory_store_manager_extracts_into_the_users_namespace(
    store: AgentMemoryStore, memory: MemorySystem
) -> None:
    model = ScriptedChatModel(
        messages=iter(
            [
                call("Memory", content="Alice prefers window seats"),
                call("Memory", content="Bob prefers aisle seats"),
            ]
        )
    )
    manager = create_memory_store_manager(model, namespace=NAMESPACE, store=store)
    said = {"messages": [{"role": "user", "content": "I always book a window seat."}]}
    await manager.ainvoke(said, config=config("alice"))
    manager.invoke({"messages": [{"role": "user", "content": "Aisle, please."}]}, config=config("bob"))
    [item] = store.search(("memories", "alice"), query="seat")
    assert item.value == {"kind": "Memory", "content": {"content": "Alice prefers window seats"}}
    assert [m.text for m in memory.list_memories(user_id="alice")] == ["Alice prefers window seats"]
    assert [m.text for m in memory.list_memories(user_id="bob")] == ["Bob prefers aisle seats"]
