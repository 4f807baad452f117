"""``remember()`` end to end against a real chat model: SmolLM2-135M-Instruct on ``vllm serve``.

Schema-constrained answers (``response_format`` of type ``json_schema``, honoured by vLLM's
structured-output backend) must parse every time. What the model says is not the point
(135M parameters): the pipeline is. Whatever it answers is applied or refused by the same
rules as scripted answers: another user's memories are never shown or touched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from smollm2 import convert
from vllm_server import vllm_serve

from agent_memory import MemorySystem, OpenAIExtractor
from agent_memory.testing import HashEmbedder

CONVERSATIONS = [
    [
        {
            "role": "user",
            "content": "Hi! I'm Alice. I moved to Berlin last month.",
            "time": "2026-05-02T10:00:00+00:00",
        },
        {"role": "assistant", "content": "Welcome to Berlin!", "time": "2026-05-02T10:00:05+00:00"},
        {"role": "user", "content": "Thanks. I love green tea, by the way.", "time": "2026-05-02T10:01:00+00:00"},
    ],
    [{"role": "user", "content": "I started a new job as a nurse at St. Mary's.", "time": "2026-06-02T10:00:00Z"}],
    [{"role": "user", "content": "我叫爱丽丝，我现在住在上海，我喜欢打篮球。", "time": "2026-06-03T10:00:00+00:00"}],
]


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = convert(tmp_path_factory.mktemp("smollm2"))
    options = [
        "--served-model-name", "smollm2", "--max-model-len", "4096",
        # JSON without free whitespace: a small model otherwise can pad an answer with newlines until cut off.
        "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}',
    ]  # fmt: skip
    with vllm_serve(str(model), options, log=tmp_path_factory.mktemp("vllm") / "chat.log", timeout=300) as url:
        yield url


def test_remember_against_a_real_model_parses_every_answer_and_touches_only_its_user(chat_server: str) -> None:
    # 8 facts of 80 characters fit 2,048 tokens even in Chinese, for a tokenizer made for English.
    extractor = OpenAIExtractor("smollm2", base_url=chat_server, max_facts=8, max_fact_chars=80)
    with MemorySystem(embedder=HashEmbedder(64), path=":memory:") as memory:
        bob = memory.store_memories(["Bob lives in Berlin", "Bob loves green tea", "Bob is a nurse"], user_id="bob")
        memory.store_memory("Alice lives in Paris", user_id="alice")
        changes = [c for said in CONVERSATIONS for c in memory.remember(said, user_id="alice", extractor=extractor)]
        assert changes, "the model listed no fact at all"
        assert [c.problem for c in changes if c.problem] == []  # every answer parsed and could be followed
        assert extractor.usage.fallbacks == [] and extractor.response_format == "json_schema"
        assert extractor.usage.calls >= len(CONVERSATIONS) and extractor.usage.output_tokens > 0
        mine = {m.id for m in memory.list_memories(user_id="alice", include_expired=True)}
        assert all(c.id in mine for c in changes if c.id is not None)
        assert memory.list_memories(user_id="bob") == bob  # shown to no decision, changed by none


def test_the_mcp_remember_tool_against_a_real_model(chat_server: str) -> None:
    """The MCP server's remember tool, driven by a client, with the same real model behind it."""
    import asyncio

    from mcp import Client

    from agent_memory.mcp._server import create_mcp_server

    extractor = OpenAIExtractor("smollm2", base_url=chat_server, max_facts=8, max_fact_chars=80)
    with MemorySystem(embedder=HashEmbedder(64), path=":memory:") as memory:
        bob = memory.store_memories(["Bob lives in Berlin"], user_id="bob")
        server = create_mcp_server(memory, user_id="alice", extractor=extractor)

        async def run() -> object:
            async with Client(server) as client:
                return await client.call_tool("remember", {"messages": CONVERSATIONS[0]})

        result = asyncio.run(run())
        assert not result.is_error, result.content  # type: ignore[attr-defined]
        changes = result.structured_content["result"]  # type: ignore[attr-defined]
        assert changes and all(change["problem"] is None for change in changes)
        assert {m.user_id for m in memory.list_memories(user_id="alice")} <= {"alice"}
        assert memory.list_memories(user_id="bob") == bob


def test_the_langchain_extractor_over_chat_openai_against_a_real_model(chat_server: str) -> None:
    """LangChain's own ``ChatOpenAI`` pointed at the same server: its structured output (a
    ``json_schema`` response format, which vLLM enforces) carries every answer."""
    from langchain_agent_memory import LangChainExtractor
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(model="smollm2", base_url=chat_server, api_key="unused", temperature=0, max_tokens=2048)
    extractor = LangChainExtractor(chat, method="structured", max_facts=8, max_fact_chars=80)
    with MemorySystem(embedder=HashEmbedder(64), path=":memory:") as memory:
        bob = memory.store_memories(["Bob lives in Berlin", "Bob loves green tea"], user_id="bob")
        changes = [c for said in CONVERSATIONS for c in memory.remember(said, user_id="alice", extractor=extractor)]
        assert changes, "the model listed no fact at all"
        assert [c.problem for c in changes if c.problem] == []
        assert extractor.usage.calls >= len(CONVERSATIONS) and extractor.usage.output_tokens > 0
        mine = {m.id for m in memory.list_memories(user_id="alice", include_expired=True)}
        assert all(c.id in mine for c in changes if c.id is not None)
        assert memory.list_memories(user_id="bob") == bob
