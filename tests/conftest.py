"""Shared fixtures: the tiny Qwen3-Embedding model (built once per session), the real MiniLM, and
MemorySystems on both an embedded Chroma and a real Chroma server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_memory import MemorySystem
from agent_memory.pytest_plugin import chroma_server, minilm, offline_environment, tiny_qwen3
from agent_memory.testing import HashEmbedder

offline_environment()

__all__ = ["chroma_server", "db_path", "hashed", "memory", "minilm", "store_mode", "tiny_qwen3"]


@pytest.fixture(params=["embedded", "server"])
def store_mode(request: pytest.FixtureRequest) -> str:
    """Every test that uses ``memory`` or ``hashed`` runs on an embedded store and on a Chroma server."""
    return str(request.param)


def _system(mode: str, request: pytest.FixtureRequest, **kwargs: object) -> MemorySystem:
    if mode == "embedded":
        return MemorySystem(path=":memory:", **kwargs)  # type: ignore[arg-type]
    url = request.getfixturevalue("chroma_server")
    return MemorySystem(chroma_url=url, collection=f"test-{uuid.uuid4().hex}", **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def memory(minilm: str, store_mode: str, request: pytest.FixtureRequest) -> Iterator[MemorySystem]:
    """A MemorySystem with real semantics, in a private store."""
    with _system(store_mode, request, model=minilm) as system:
        yield system


@pytest.fixture
def hashed(store_mode: str, request: pytest.FixtureRequest) -> Iterator[MemorySystem]:
    """A MemorySystem with the model-free embedder, for storage mechanics and sizes."""
    with _system(store_mode, request, embedder=HashEmbedder()) as system:
        yield system


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "memdb")
