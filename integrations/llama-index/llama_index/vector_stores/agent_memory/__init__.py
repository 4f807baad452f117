from llama_index.vector_stores.agent_memory.base import AgentMemoryVectorStore
from llama_index.vector_stores.agent_memory.filters import UnsupportedFilterError, to_chroma_where

__all__ = ["AgentMemoryVectorStore", "UnsupportedFilterError", "to_chroma_where"]
