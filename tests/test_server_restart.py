"""A Chroma server restarted, or gone, in the middle of a run."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent_memory import MemorySystem, StoreError
from agent_memory._processes import free_port, start_server, stop_server
from agent_memory.testing import HashEmbedder


class Server:
    """A ``chroma run`` that can be stopped and started again on the same port and data."""

    def __init__(self, path: Path) -> None:
        self.port, self.path = free_port(), path
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
        command = [chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = start_server(command, f"{self.url}/api/v2/heartbeat", timeout=60)

    def stop(self) -> None:
        if self.process is not None:
            stop_server(self.process)


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    running = Server(tmp_path / "db")
    running.start()
    yield running
    running.stop()


def test_calls_ride_out_a_server_restart_without_writing_twice(server: Server) -> None:
    with MemorySystem(embedder=HashEmbedder(), chroma_url=server.url) as memory:
        memory.store_memories([f"fact {i}" for i in range(100)], user_id="alice")
        server.stop()
        restart = threading.Timer(1.0, server.start)  # back in about a second
        restart.start()
        stored = memory.store_memories([f"fact {i}" for i in range(100, 150)], user_id="alice")  # retried
        hits = memory.search_memory("fact 3", user_id="alice", top_k=5)
        restart.join()
        assert len(stored) == 50 and len(hits) == 5
        assert memory.count(user_id="alice") == 150  # nothing lost, nothing written twice
        texts = [m.text for m in memory.iter_memories(user_id="alice")]
        assert len(texts) == len(set(texts)) == 150


def test_a_server_that_stays_down_is_a_clear_error(server: Server) -> None:
    with MemorySystem(embedder=HashEmbedder(), chroma_url=server.url) as memory:
        memory.store_memory("Alice likes coffee", user_id="alice")
        server.stop()
        started = time.monotonic()
        with pytest.raises(StoreError, match="cannot be reached"):
            memory.search_memory("coffee", user_id="alice")
        assert time.monotonic() - started < 30  # bounded retries, then the error
