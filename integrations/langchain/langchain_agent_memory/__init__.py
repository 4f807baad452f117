"""LangChain integration of agent-memory: Qwen3 embeddings, a per-user vector store, retriever, tools,
and fact extraction by any chat model."""

from langchain_agent_memory.embeddings import LangChainEmbedder, Qwen3Embeddings
from langchain_agent_memory.extractors import LangChainExtractor
from langchain_agent_memory.retrievers import AgentMemoryRetriever
from langchain_agent_memory.tools import create_memory_tools
from langchain_agent_memory.vectorstores import AgentMemoryVectorStore

__all__ = [
    "AgentMemoryRetriever",
    "AgentMemoryVectorStore",
    "LangChainEmbedder",
    "LangChainExtractor",
    "Qwen3Embeddings",
    "create_memory_tools",
]
