from llama_index.embeddings.agent_memory.base import Qwen3Embedding

__all__ = ["Qwen3Embedding"]
