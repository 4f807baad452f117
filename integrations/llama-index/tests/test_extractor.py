"""``LlamaIndexExtractor`` and the memory block's extractor, driven by LlamaIndex's own LLM classes:
``MockLLM`` (it echoes its prompt: malformed output) and a scripted ``CustomLLM``."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.llms.mock import MockLLM
from llama_index.core.memory import Memory
from llama_index.memory.agent_memory import AgentMemoryBlock, LlamaIndexExtractor

from agent_memory import ConfigurationError, ExtractionError, MemorySystem


class ScriptedLLM(CustomLLM):
    """A LlamaIndex LLM that answers with the next scripted reply and keeps its prompts."""

    replies: list[str]
    prompts: list[str] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text=self.replies[len(self.prompts) - 1])

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        raise NotImplementedError


def scripted(*replies: object) -> ScriptedLLM:
    return ScriptedLLM(replies=[r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in replies])


SAID = [ChatMessage(role=MessageRole.USER, content="I moved to Berlin, and I gave my cat to my sister.")]


def _texts(memory: MemorySystem, user: str = "alice") -> list[str]:
    return sorted(m.text for m in memory.list_memories(user_id=user))


def test_add_update_delete_and_unchanged(memory: MemorySystem) -> None:
    paris = memory.store_memory("Alice lives in Paris", user_id="alice")
    cat = memory.store_memory("Alice has a cat", user_id="alice")
    llm = scripted(
        {
            "facts": [
                "Alice lives in Berlin",
                "Alice no longer has a cat",
                "alice lives in  berlin",
                "Alice is based in Berlin",
            ]
        },
        {"action": "update", "id": "1", "text": "Alice lives in Berlin"},
        {"action": "delete", "id": "1"},
        {"action": "none", "id": "1"},
    )
    extractor = LlamaIndexExtractor(llm)
    changes = memory.remember(SAID, user_id="alice", extractor=extractor, batch_decisions=False)  # one call a fact
    assert [(c.event, c.id, c.fact) for c in changes] == [
        ("updated", paris.id, "Alice lives in Berlin"),
        ("expired", cat.id, "Alice no longer has a cat"),  # kept as the past, not erased
        ("unchanged", paris.id, "Alice is based in Berlin"),
    ]
    assert _texts(memory) == ["Alice lives in Berlin"]
    assert [e.action for e in memory.history(paris.id, user_id="alice")] == ["create", "update"]
    assert memory.history(cat.id, user_id="alice")[-1].old_text == "Alice has a cat"
    assert extractor.usage.calls == 4  # the repeat (same words, other case) was dropped before asking


def test_an_echoing_llm_is_malformed_output_and_writes_nothing(memory: MemorySystem) -> None:
    with pytest.raises(ExtractionError, match="not JSON"):
        memory.remember(SAID, user_id="alice", extractor=LlamaIndexExtractor(MockLLM()))
    assert memory.count(user_id="alice") == 0


def test_bad_decisions_never_reach_the_store(memory: MemorySystem) -> None:
    bob = memory.store_memory("Bob lives in Paris", user_id="bob")
    memory.store_memory("Alice lives in Paris", user_id="alice")
    llm = scripted(
        {"facts": ["Alice lives in Berlin", "Alice works at a bakery"]},
        {"action": "update", "id": bob.id, "text": "Bob lives in Berlin"},
        {"action": "rewrite", "id": "1"},
    )
    changes = memory.remember(SAID, user_id="alice", extractor=LlamaIndexExtractor(llm))
    assert [c.event for c in changes] == ["added", "added"]
    assert [c.problem is not None for c in changes] == [True, True]
    assert memory.get_memory(bob.id, user_id="bob") == bob
    assert _texts(memory) == ["Alice lives in Berlin", "Alice lives in Paris", "Alice works at a bakery"]


def test_a_chinese_conversation_is_remembered_in_chinese(memory: MemorySystem) -> None:
    sent = datetime(2024, 1, 15, 20, 0, tzinfo=timezone.utc)
    said = [ChatMessage(role=MessageRole.USER, content="我明天开始在腾讯上班。", additional_kwargs={"time": sent})]
    llm = scripted({"facts": ["用户从2024-01-16起在腾讯工作"]})
    [change] = memory.remember(said, user_id="alice", extractor=LlamaIndexExtractor(llm))
    assert change.new_text == "用户从2024-01-16起在腾讯工作"
    assert "[2024-01-15 (Monday) 20:00] user: 我明天开始在腾讯上班。" in llm.prompts[0]


def test_the_extractor_wants_a_llamaindex_llm(memory: MemorySystem) -> None:
    with pytest.raises(ConfigurationError):
        LlamaIndexExtractor("gpt-4")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Extractor protocol"):  # pydantic wraps the InvalidTypeError
        AgentMemoryBlock(memory=memory, user_id="alice", extractor=object())


async def test_the_memory_block_stores_facts_instead_of_raw_messages(memory: MemorySystem) -> None:
    llm = scripted({"facts": ["Alice has a beagle named Rex", "Alice takes her coffee black"]}, {"action": "add"})
    block = AgentMemoryBlock(memory=memory, user_id="alice", extractor=LlamaIndexExtractor(llm), top_k=2)
    chat = Memory.from_defaults(
        session_id="s1", memory_blocks=[block], token_limit=60, chat_history_token_ratio=0.5, token_flush_size=20
    )
    for role, text in [
        ("user", "I just adopted a beagle called Rex."),
        ("assistant", "Congratulations on Rex!"),
        ("user", "I take my coffee black with no sugar."),
        ("assistant", "Noted."),
        ("user", "Tell me a joke."),
        ("assistant", "Why did the chicken cross the road?"),
    ]:
        await chat.aput(ChatMessage(role=role, content=text))
    await chat.aget()  # flushes what no longer fits into the block
    assert _texts(memory) == ["Alice has a beagle named Rex", "Alice takes her coffee black"]
    assert "user: I just adopted a beagle called Rex." in llm.prompts[0]
    assert "Rex" in await block.aget([ChatMessage(role=MessageRole.USER, content="What is my dog called?")])


async def test_the_block_keeps_the_turns_when_the_extractor_fails(memory: MemorySystem) -> None:
    roles = (MessageRole.USER, MessageRole.CHATBOT)
    block = AgentMemoryBlock(memory=memory, user_id="alice", extractor=LlamaIndexExtractor(MockLLM()), roles=roles)
    turns = [
        ChatMessage(role=MessageRole.USER, content="I just adopted a beagle called Rex."),
        ChatMessage(role=MessageRole.CHATBOT, content="Congratulations on Rex!"),
    ]
    with pytest.warns(UserWarning, match="stored the turns as they are"):
        await block.aput(turns)
    stored = memory.list_memories(user_id="alice")
    assert [(m.text, m.metadata["role"]) for m in stored] == [
        ("I just adopted a beagle called Rex.", "user"),
        ("Congratulations on Rex!", "assistant"),
    ]
