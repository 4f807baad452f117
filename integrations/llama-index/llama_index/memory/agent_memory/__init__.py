from llama_index.memory.agent_memory.base import AgentMemoryBlock
from llama_index.memory.agent_memory.extractor import LlamaIndexExtractor

__all__ = ["AgentMemoryBlock", "LlamaIndexExtractor"]
