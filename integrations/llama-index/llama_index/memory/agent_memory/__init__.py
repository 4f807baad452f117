from llama_index.memory.agent_memory.base import AgentMemoryBlock

__all__ = ["AgentMemoryBlock"]
