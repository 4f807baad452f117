"""Shared fixtures: the tiny Qwen3-Embedding model (built once per session) and the real MiniLM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_memory import MemorySystem
from agent_memory.pytest_plugin import memory, minilm, offline_environment, tiny_qwen3
from agent_memory.testing import HashEmbedder

offline_environment()

__all__ = ["db_path", "hashed", "memory", "minilm", "tiny_qwen3"]


@pytest.fixture
def hashed() -> Iterator[MemorySystem]:
    """A MemorySystem with the model-free embedder, for storage mechanics and sizes."""
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as system:
        yield system


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "memdb")
