"""``LangChainExtractor`` and the ``remember`` tool, driven by langchain-core's own fake chat models.

``GenericFakeChatModel`` answers with scripted messages: as JSON text (a model
without tool calling) or, in the subclass below that accepts tools, as tool calls
(the structured-output path). The store, the embedder and the history are real.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import pytest
from langchain_agent_memory import LangChainExtractor, create_memory_tools
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    HumanMessageChunk,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import Runnable

from agent_memory import ConfigurationError, ExtractionError, MemorySystem
from agent_memory.testing import FakeChatServer


def _json(obj: object) -> AIMessage:
    return AIMessage(content=json.dumps(obj, ensure_ascii=False))


def _tool(name: str, args: dict[str, Any], tokens: tuple[int, int] = (0, 0)) -> AIMessage:
    usage = {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}
    call = {"name": name, "args": args, "id": "call-1", "type": "tool_call"}
    return AIMessage(content="", tool_calls=[call], usage_metadata=usage)  # type: ignore[arg-type]


class ToolCallingFakeChatModel(GenericFakeChatModel):
    """langchain-core's fake chat model, accepting tools as a tool-calling model does."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, BaseMessage]:
        return self


class Prompts(BaseCallbackHandler):
    """Keeps what the model was asked, through LangChain's own callbacks."""

    def __init__(self) -> None:
        self.seen: list[list[BaseMessage]] = []

    def on_chat_model_start(self, serialized: Any, messages: list[list[BaseMessage]], **kwargs: Any) -> None:
        self.seen.extend(messages)


def _fake(replies: list[AIMessage], prompts: Prompts | None = None) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(replies), callbacks=[prompts] if prompts else None)


def _texts(memory: MemorySystem, user: str = "alice") -> list[str]:
    return sorted(m.text for m in memory.list_memories(user_id=user))


SAID = [HumanMessage("I moved to Berlin last month, and my dog Rex came with me.")]


def test_add_update_delete_and_unchanged_through_json_answers(memory: MemorySystem) -> None:
    paris = memory.store_memory("Alice lives in Paris", user_id="alice")
    cat = memory.store_memory("Alice has a cat", user_id="alice")
    coffee = memory.store_memory("Alice likes coffee", user_id="alice")
    model = _fake(
        [
            _json(
                {
                    "facts": [
                        "Alice lives in Berlin",
                        "Alice no longer has a cat",
                        "Alice likes coffee",
                        "Alice has a dog named Rex",
                    ]
                }
            ),
            _json({"action": "update", "id": "1", "text": "Alice lives in Berlin"}),
            AIMessage(content='```json\n{"action": "delete", "id": "1"}\n```'),
            _json({"action": "add"}),
        ]
    )
    extractor = LangChainExtractor(model)
    changes = memory.remember(SAID, user_id="alice", extractor=extractor, batch_decisions=False)  # one call a fact
    assert [(c.event, c.id) for c in changes[:3]] == [
        ("updated", paris.id),
        ("expired", cat.id),  # kept as the past, not erased
        ("unchanged", coffee.id),
    ]
    assert changes[3].event == "added" and changes[3].problem is None
    assert _texts(memory) == ["Alice has a dog named Rex", "Alice likes coffee", "Alice lives in Berlin"]
    assert [(e.action, e.old_text) for e in memory.history(paris.id, user_id="alice")][-1] == (
        "update",
        "Alice lives in Paris",
    )
    assert [(e.action, e.old_text) for e in memory.history(cat.id, user_id="alice")][-1] == (
        "expire",
        "Alice has a cat",
    )
    assert extractor.usage.calls == 4  # the restated fact needed no call


def test_structured_output_is_used_where_the_model_has_tool_calling(memory: MemorySystem) -> None:
    old = memory.store_memory("Alice has a dog", user_id="alice")
    decided = {"fact": "1", "action": "update", "id": "1.1", "text": "Alice has a dog named Rex"}
    model = ToolCallingFakeChatModel(
        messages=iter(
            [
                _tool("MemoryFacts", {"facts": ["Alice's dog is named Rex"]}, (120, 9)),
                _tool("MemoryDecisions", {"decisions": [decided]}, (80, 12)),
            ]
        )
    )
    extractor = LangChainExtractor(model, method="structured")
    [change] = memory.remember(SAID, user_id="alice", extractor=extractor)
    assert (change.event, change.id, change.new_text) == ("updated", old.id, "Alice has a dog named Rex")
    assert (extractor.usage.calls, extractor.usage.input_tokens, extractor.usage.output_tokens) == (2, 200, 21)


def test_a_malformed_tool_call_is_reported_in_the_change_not_applied(memory: MemorySystem) -> None:
    memory.store_memory("Alice lives in Paris", user_id="alice")
    model = ToolCallingFakeChatModel(
        messages=iter([_tool("MemoryFacts", {"facts": ["Alice moved to Berlin"]}), AIMessage(content="")])
    )
    [change] = memory.remember(SAID, user_id="alice", extractor=LangChainExtractor(model))
    assert change.event == "added" and change.problem is not None and "could not be read" in change.problem
    assert _texts(memory) == ["Alice lives in Paris", "Alice moved to Berlin"]


def test_a_model_without_structured_output_is_refused_when_it_is_required() -> None:
    with pytest.raises(ConfigurationError):
        LangChainExtractor(_fake([_json({"facts": []})]), method="structured").extract([])
    with pytest.raises(ConfigurationError):
        LangChainExtractor("gpt-4")  # type: ignore[arg-type]


def test_invalid_json_from_the_model_writes_nothing(memory: MemorySystem) -> None:
    model = FakeListChatModel(responses=["Alice likes coffee and has a dog."])
    with pytest.raises(ExtractionError, match="not JSON"):
        memory.remember(SAID, user_id="alice", extractor=LangChainExtractor(model))
    assert memory.count(user_id="alice") == 0


def test_the_model_cannot_reach_another_users_memory(memory: MemorySystem) -> None:
    bob = memory.store_memory("Bob lives in Paris", user_id="bob")
    memory.store_memory("Alice lives in Paris", user_id="alice")
    model = _fake([_json({"facts": ["Alice lives in Berlin"]}), _json({"action": "delete", "id": bob.id})])
    [change] = memory.remember(SAID, user_id="alice", extractor=LangChainExtractor(model), on_invalid="skip")
    assert change.event == "skipped" and change.problem is not None and bob.id in change.problem
    assert memory.get_memory(bob.id, user_id="bob") == bob
    assert _texts(memory) == ["Alice lives in Paris"]


def test_a_chinese_conversation_is_remembered_in_chinese(memory: MemorySystem) -> None:
    prompts = Prompts()
    sent = datetime(2024, 5, 8, 9, 30, tzinfo=timezone.utc)
    said = [
        HumanMessage("我对花生过敏，下周五要去上海出差。", additional_kwargs={"time": sent.isoformat()}),
        AIMessage("好的，我记住了。", additional_kwargs={"time": sent}),
    ]
    facts = ["用户对花生过敏", "用户于2024-05-17去上海出差"]
    model = _fake([_json({"facts": facts}), _json({"action": "add"})], prompts)
    changes = memory.remember(said, user_id="alice", extractor=LangChainExtractor(model), batch_decisions=False)
    assert [c.new_text for c in changes] == facts
    assert _texts(memory) == sorted(facts)
    conversation = prompts.seen[0][-1].text
    assert "[2024-05-08 (Wednesday) 09:30] user: 我对花生过敏，下周五要去上海出差。" in conversation
    assert "assistant: 好的，我记住了。" in conversation
    assert "用户对花生过敏" in prompts.seen[1][-1].text  # the decision saw the first fact, unescaped


def _call(name: str, **args: object) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": "c1", "type": "tool_call"}])


def test_the_remember_tool_runs_in_an_agent_loop(memory: MemorySystem) -> None:
    memory.store_memory("Alice lives in Paris", user_id="alice")
    memory.store_memory("Bob lives in Paris", user_id="bob")
    decided = {"decisions": [{"fact": "1", "action": "update", "id": "1.1"}]}
    llm = _fake([_json({"facts": ["Alice lives in Berlin"]}), _json(decided)])
    tools = {t.name: t for t in create_memory_tools(memory, user_id="alice", extractor=LangChainExtractor(llm))}
    assert "remember" in tools and "remember" not in {t.name for t in create_memory_tools(memory, user_id="alice")}
    said = [{"role": "user", "content": "I live in Berlin now."}]
    agent = _fake([_call("remember", messages=said), AIMessage(content="Noted!")])
    messages: list[BaseMessage] = [HumanMessage("I live in Berlin now.")]
    reply = agent.invoke(messages)
    assert isinstance(reply, AIMessage)
    result = tools["remember"].invoke(reply.tool_calls[0])
    assert isinstance(result, ToolMessage)
    [change] = json.loads(str(result.content))
    assert (change["event"], change["old_text"], change["new_text"]) == (
        "updated",
        "Alice lives in Paris",
        "Alice lives in Berlin",
    )
    assert _texts(memory, "bob") == ["Bob lives in Paris"]


def test_the_remember_tool_reports_a_bad_extraction_as_a_tool_error(memory: MemorySystem) -> None:
    llm = FakeListChatModel(responses=["no json here"])
    [remember] = [
        t
        for t in create_memory_tools(memory, user_id="alice", extractor=LangChainExtractor(llm))
        if t.name == "remember"
    ]
    said = [{"role": "user", "content": "hi"}]
    result = remember.invoke({"name": "remember", "args": {"messages": said}, "id": "c1", "type": "tool_call"})
    assert isinstance(result, ToolMessage) and result.status == "error" and "not JSON" in str(result.content)
    assert memory.count(user_id="alice") == 0


def test_message_chunks_and_chat_messages_keep_their_roles() -> None:
    extractor = LangChainExtractor(_fake([]))
    given = [
        HumanMessageChunk(content="I like tea"),
        AIMessageChunk(content="Noted"),
        ChatMessage(role="user", content="And coffee"),
        SystemMessage("Be brief"),
    ]
    assert [extractor.to_message(m).role for m in given] == ["user", "assistant", "user", "system"]  # type: ignore[union-attr]
    assert extractor.to_message({"role": "user"}) is None


def test_a_real_provider_class_through_its_structured_output(memory: MemorySystem) -> None:
    """langchain-openai's ChatOpenAI, unchanged, against a scripted OpenAI-compatible server:
    the auto method takes its structured output (a JSON-schema response format), and its
    usage report reaches the extractor."""
    from langchain_openai import ChatOpenAI

    old = memory.store_memory("Alice lives in Paris", user_id="alice")
    server = FakeChatServer(
        [
            {"facts": ["Alice lives in Berlin"]},
            {"decisions": [{"fact": "1", "action": "update", "id": "1.1", "text": "Alice lives in Berlin"}]},
        ],
        usage=(150, 12),
    )
    try:
        model = ChatOpenAI(model="scripted", base_url=server.url, api_key="test", max_retries=0)  # type: ignore[arg-type]
        extractor = LangChainExtractor(model)
        [change] = memory.remember(SAID, user_id="alice", extractor=extractor)
    finally:
        server.shutdown()
    assert (change.event, change.id, change.new_text) == ("updated", old.id, "Alice lives in Berlin")
    formats = [r["response_format"] for r in server.requests]
    assert [f["type"] for f in formats] == ["json_schema", "json_schema"]
    assert [f["json_schema"]["name"] for f in formats] == ["MemoryFacts", "MemoryDecisions"]
    assert (extractor.usage.calls, extractor.usage.input_tokens, extractor.usage.output_tokens) == (2, 300, 24)
