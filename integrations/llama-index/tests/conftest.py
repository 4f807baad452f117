"""Fixtures: the tiny Qwen3-Embedding model (built once per session) and the real MiniLM, offline."""

from agent_memory.pytest_plugin import memory, minilm, offline_environment, tiny_qwen3

offline_environment()

__all__ = ["memory", "minilm", "tiny_qwen3"]
