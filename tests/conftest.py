"""Shared fixtures. The tiny Qwen3-Embedding model, the real MiniLM, ``memory`` and a real Chroma
server come from agent-memory's pytest plugin; here every test that uses ``memory`` or
``hashed`` runs twice, on an embedded Chroma and on a Chroma server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_memory import MemorySystem
from agent_memory.pytest_plugin import offline_environment
from agent_memory.testing import HashEmbedder

offline_environment()


@pytest.fixture(params=["embedded", "server"])
def memory_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every test that uses ``memory`` or ``hashed`` runs on an embedded store and on a Chroma server."""
    if request.param == "embedded":
        return {"path": ":memory:"}
    return {"chroma_url": request.getfixturevalue("chroma_server"), "collection": f"test-{uuid.uuid4().hex}"}


@pytest.fixture
def hashed(memory_options: dict[str, Any]) -> Iterator[MemorySystem]:
    """A MemorySystem with the model-free embedder, for storage mechanics and sizes."""
    with MemorySystem(embedder=HashEmbedder(), **memory_options) as system:
        yield system


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "memdb")
