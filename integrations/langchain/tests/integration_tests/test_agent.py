"""A tool-calling agent loop, driven by langchain-core's fake chat model, with per-user memory tools."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from langchain_agent_memory import AgentMemoryRetriever, create_memory_tools
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent_memory import Memory, MemorySystem, Scope, ValidationError
from agent_memory.testing import ConstantEmbedder

FACTS = ["Alice moved to Lisbon last spring", "Alice has a dog called Biscuit", "Alice is allergic to peanuts"]


@pytest.fixture
def lexical() -> Iterator[MemorySystem]:
    with MemorySystem(embedder=ConstantEmbedder(64), path=":memory:") as system:
        system.store_memories(FACTS, user_id="alice")
        yield system


def _call(name: str, call_id: str, **args: object) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


def run_agent(model: GenericFakeChatModel, tools: list[BaseTool], question: str) -> list[BaseMessage]:
    """The classic tool-calling loop: call the model, run the tools it asks for, repeat until it answers."""
    by_name = {t.name: t for t in tools}
    messages: list[BaseMessage] = [HumanMessage(question)]
    for _ in range(10):
        reply = model.invoke(messages)
        messages.append(reply)
        if not isinstance(reply, AIMessage) or not reply.tool_calls:
            return messages
        messages.extend(by_name[call["name"]].invoke(call) for call in reply.tool_calls)
    raise AssertionError("the agent did not finish")


def _tool_results(messages: list[BaseMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def test_agent_saves_then_finds_a_memory_and_never_another_users(memory: MemorySystem) -> None:
    memory.store_memory("Bob drinks green tea", user_id="bob")
    tools = create_memory_tools(memory, user_id="alice")
    model = GenericFakeChatModel(
        messages=iter(
            [
                _call("store_memory", "c1", text="Alice likes coffee"),
                _call("search_memory", "c2", query="What does Alice drink?", top_k=5),
                AIMessage(content="You like coffee."),
            ]
        )
    )
    messages = run_agent(model, tools, "Remember that I like coffee. What do I drink?")
    saved, found = _tool_results(messages)
    stored = json.loads(saved.content)  # type: ignore[arg-type]
    assert (stored["text"], stored["user_id"]) == ("Alice likes coffee", "alice") and stored["id"]
    hits = json.loads(found.content)  # type: ignore[arg-type]
    assert hits[0]["text"] == "Alice likes coffee" and hits[0]["id"] == stored["id"]
    assert all("Bob" not in h["text"] and h["user_id"] == "alice" for h in hits)
    assert messages[-1].content == "You like coffee."
    assert [m.text for m in memory.list_memories(user_id="bob")] == ["Bob drinks green tea"]


def test_the_model_cannot_pick_another_user(memory: MemorySystem) -> None:
    bob_memory = memory.store_memory("Bob drinks green tea", user_id="bob")
    tools = create_memory_tools(memory, user_id="alice")
    for tool in tools:
        assert "user_id" not in convert_to_openai_tool(tool)["function"]["parameters"]["properties"]
    model = GenericFakeChatModel(
        messages=iter(
            [
                _call("store_memory", "c1", text="Bob hates tea", user_id="bob"),
                _call("delete_memory", "c2", memory_id=bob_memory.id),
                _call("search_memory", "c3", query="tea"),
                _call("list_memories", "c4", include_expired=True),
                _call("update_memory", "c5", memory_id=bob_memory.id, text="Bob hates tea"),
                _call("expire_memory", "c6", memory_id=bob_memory.id),
                _call("delete_all_memories", "c7", confirm=True),
                AIMessage(content="done"),
            ]
        )
    )
    results = _tool_results(run_agent(model, tools, "Try to touch Bob's memories"))
    injected, deleted, searched, listed, updated, expired, wiped = results
    assert injected.status == "error" and "user_id" in injected.content  # an argument the schema lacks is refused
    assert json.loads(deleted.content) == {"id": bob_memory.id, "deleted": False}  # type: ignore[arg-type]
    assert json.loads(searched.content) == [] and json.loads(listed.content) == []  # type: ignore[arg-type]
    for refused in (updated, expired):
        assert refused.status == "error" and "MemoryNotFoundError" in refused.content
    assert json.loads(wiped.content) == {"deleted": 0}  # type: ignore[arg-type]
    assert memory.get_memory(bob_memory.id, user_id="bob") == bob_memory
    assert memory.history(bob_memory.id, user_id="bob")[-1].action == "create"
    assert memory.count(user_id="alice") == 0


def test_bad_arguments_come_back_as_tool_errors(memory: MemorySystem) -> None:
    tools = {t.name: t for t in create_memory_tools(memory, user_id="alice")}
    store, search = tools["store_memory"], tools["search_memory"]
    result = store.invoke({"name": "store_memory", "args": {"text": "   "}, "id": "c1", "type": "tool_call"})
    assert result.status == "error" and "empty" in result.content
    assert result.content.startswith("ValidationError: ")  # the library's error, named as on the MCP server
    result = search.invoke(
        {"name": "search_memory", "args": {"query": "x", "top_k": 0}, "id": "c2", "type": "tool_call"}
    )
    assert result.status == "error" and "top_k" in result.content  # the field is named, so the model can fix it
    result = search.invoke({"name": "search_memory", "args": {"top_k": "many"}, "id": "c3", "type": "tool_call"})
    assert result.status == "error" and "query" in result.content and "top_k" in result.content
    assert "Tool input validation error" not in result.content
    wipe = tools["delete_all_memories"]
    result = wipe.invoke({"name": "delete_all_memories", "args": {"confirm": False}, "id": "c4", "type": "tool_call"})
    assert result.status == "error" and "confirm" in result.content
    result = wipe.invoke({"name": "delete_all_memories", "args": {}, "id": "c5", "type": "tool_call"})
    assert result.status == "error" and "confirm" in result.content
    assert memory.count() == 0


def test_tool_schemas_are_documented(memory: MemorySystem) -> None:
    tools = {t.name: convert_to_openai_tool(t)["function"] for t in create_memory_tools(memory, user_id="alice")}
    assert list(tools) == [
        "store_memory",
        "search_memory",
        "list_memories",
        "update_memory",
        "expire_memory",
        "delete_memory",
        "delete_all_memories",
    ]
    for spec in tools.values():
        assert len(spec["description"]) > 40
        assert all(p.get("description") for p in spec["parameters"]["properties"].values())
        assert "user_id" not in spec["parameters"]["properties"]
    assert tools["store_memory"]["parameters"]["required"] == ["text"]
    assert tools["delete_all_memories"]["parameters"]["required"] == ["confirm"]
    assert "similarity" in tools["search_memory"]["description"]
    assert "[0, 1]" in tools["search_memory"]["description"]


def test_tools_bound_to_an_agent_and_session_stay_within_them(memory: MemorySystem) -> None:
    memory.store_memory("Alice likes tea", user_id="alice")  # stored by no agent
    tools = {t.name: t for t in create_memory_tools(memory, user_id="alice", agent_id="planner", session_id="s1")}
    stored = json.loads(tools["store_memory"].invoke({"text": "Alice likes coffee"}))
    assert (stored["agent_id"], stored["session_id"]) == ("planner", "s1")
    assert memory.history(stored["id"], user_id="alice")[-1].actor == "agent:planner"
    found = json.loads(tools["search_memory"].invoke({"query": "Alice likes", "top_k": 5}))
    listed = json.loads(tools["list_memories"].invoke({}))
    assert [h["text"] for h in found] == [m["text"] for m in listed] == ["Alice likes coffee"]
    assert json.loads(tools["delete_all_memories"].invoke({"confirm": True})) == {"deleted": 1}
    assert [m.text for m in memory.list_memories(user_id="alice")] == ["Alice likes tea"]


def test_retriever_is_scoped_and_uses_the_instruction(memory: MemorySystem) -> None:
    memory.store_memories(["Alice likes coffee", "Alice has a dog"], user_id="alice")
    memory.store_memory("Bob likes coffee", user_id="bob")
    retriever = AgentMemoryRetriever(memory=memory, user_id="alice", top_k=5)
    docs = retriever.invoke("What does Alice drink?")
    assert docs[0].page_content == "Alice likes coffee"
    assert {d.metadata["user_id"] for d in docs} == {"alice"}
    assert docs[0].metadata["score"] >= docs[-1].metadata["score"]


async def test_retriever_async(memory: MemorySystem) -> None:
    memory.store_memory("Alice likes coffee", user_id="alice")
    docs = await AgentMemoryRetriever(memory=memory, user_id="alice").ainvoke("coffee")
    assert [d.page_content for d in docs] == ["Alice likes coffee"]


async def test_async_tools_and_retriever_run_in_the_systems_bounded_pool(memory: MemorySystem) -> None:
    """ainvoke goes through AsyncMemorySystem: the model and store never run on the event loop,
    nor in a thread of LangChain's own default executor."""
    threads: list[str] = []
    search = memory.search_memory

    def spy(*args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return search(*args, **kwargs)  # type: ignore[arg-type]

    memory.search_memory = spy  # type: ignore[method-assign]
    tools = {t.name: t for t in create_memory_tools(memory, user_id="alice")}
    await tools["store_memory"].ainvoke({"text": "Alice likes coffee"})
    found = json.loads(await tools["search_memory"].ainvoke({"query": "coffee"}))
    await AgentMemoryRetriever(memory=memory, user_id="alice").ainvoke("coffee")
    assert found[0]["text"] == "Alice likes coffee"
    assert len(threads) == 2 and all(t.startswith("agent-memory-async") for t in threads), threads


def test_search_tool_uses_its_mode_and_reports_score_and_similarity(lexical: MemorySystem) -> None:
    def search(**mode: str) -> list[dict[str, object]]:
        tools = {t.name: t for t in create_memory_tools(lexical, user_id="alice", **mode)}
        found: list[dict[str, object]] = json.loads(tools["search_memory"].invoke({"query": "Biscuit", "top_k": 3}))
        return found

    hybrid, dense = search(), search(mode="dense")
    assert hybrid[0]["text"] == FACTS[1]  # the exact word, found by the default hybrid search
    assert {h["similarity"] for h in hybrid} == {hybrid[0]["similarity"]}  # the vectors did not help
    assert all({"id", "text", "score", "similarity"} <= set(h) and h["user_id"] == "alice" for h in hybrid + dense)
    for h in hybrid + dense:  # both numbers rounded, to spare the model's context
        assert isinstance(h["score"], float) and isinstance(h["similarity"], float)
        assert round(h["score"], 4) == h["score"] and round(h["similarity"], 4) == h["similarity"]
    assert len({h["score"] for h in dense}) == 1  # dense search alone cannot tell them apart
    with pytest.raises(ValidationError, match="mode must be one of"):
        create_memory_tools(lexical, user_id="alice", mode="sparse")


def test_retriever_uses_its_mode_and_puts_both_numbers_in_the_metadata(lexical: MemorySystem) -> None:
    hybrid = AgentMemoryRetriever(memory=lexical, user_id="alice", top_k=3).invoke("Biscuit")
    assert hybrid[0].page_content == FACTS[1]
    similarities = [d.metadata["similarity"] for d in hybrid]
    assert similarities == pytest.approx([similarities[0]] * 3)
    dense = AgentMemoryRetriever(memory=lexical, user_id="alice", top_k=3, mode="dense").invoke("Biscuit")
    assert len({d.metadata["score"] for d in dense}) == 1
    with pytest.raises(ValueError, match="mode must be one of"):  # pydantic wraps agent-memory's ValidationError
        AgentMemoryRetriever(memory=lexical, user_id="alice", mode="sparse")


def test_retriever_and_tool_narrow_to_a_span_of_time(memory: MemorySystem) -> None:
    last_month = datetime.now(timezone.utc) - timedelta(days=30)
    old = Memory.create("Alice moved to Porto", Scope.of("alice"), created_at=last_month)
    memory.writer.upsert([old], lambda ms: memory.embedder.embed_documents([m.text for m in ms]), "test")
    memory.store_memory("Alice moved her desk", user_id="alice")
    week_ago = (datetime.now(timezone.utc) - timedelta(days=7)).isoformat()
    docs = AgentMemoryRetriever(memory=memory, user_id="alice", top_k=5, since=week_ago).invoke("Alice moved")
    assert [d.page_content for d in docs] == ["Alice moved her desk"]
    search = {t.name: t for t in create_memory_tools(memory, user_id="alice", tz="UTC")}["search_memory"]
    found = json.loads(search.invoke({"query": "Alice moved", "until": week_ago}))
    assert [f["text"] for f in found] == ["Alice moved to Porto"]
    assert "since" in search.args and "until" in search.args
