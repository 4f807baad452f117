"""LangChain integration of agent-memory: Qwen3 embeddings, a per-user vector store, retriever and tools."""

from langchain_agent_memory.embeddings import Qwen3Embeddings
from langchain_agent_memory.retrievers import AgentMemoryRetriever
from langchain_agent_memory.tools import create_memory_tools
from langchain_agent_memory.vectorstores import AgentMemoryVectorStore

__all__ = ["AgentMemoryRetriever", "AgentMemoryVectorStore", "Qwen3Embeddings", "create_memory_tools"]
