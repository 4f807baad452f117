from __future__ import annotations

import langchain_agent_memory

EXPECTED = [
    "AgentMemoryRetriever",
    "AgentMemoryVectorStore",
    "LangChainEmbedder",
    "LangChainExtractor",
    "Qwen3Embeddings",
    "create_memory_tools",
]


def test_all_imports() -> None:
    assert sorted(langchain_agent_memory.__all__) == sorted(EXPECTED)
    for name in EXPECTED:
        assert getattr(langchain_agent_memory, name).__module__.startswith("langchain_agent_memory.")
