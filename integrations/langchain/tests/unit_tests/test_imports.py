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


def test_the_retriever_offers_every_search_option_with_its_default() -> None:
    """The retriever's fields are the search options of agent-memory (agent_memory.options.SEARCH), with
    the same defaults: a new option of search_memory is missed here until the retriever has it."""
    from langchain_agent_memory import AgentMemoryRetriever

    from agent_memory.options import SEARCH

    fields = {name: field.default for name, field in AgentMemoryRetriever.model_fields.items()}
    assert {o.name: o.default for o in SEARCH} == {o.name: fields.get(o.name, "(missing)") for o in SEARCH}
