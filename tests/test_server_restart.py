"""A Chroma server restarted, or gone, in the middle of a run."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from agent_memory import MemorySystem, StoreError
from agent_memory.testing import HashEmbedder


class Server:
    def __init__(self, path: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.path, self.url, self.process = path, f"http://127.0.0.1:{self.port}", None
        self.chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"

    def start(self) -> None:
        command = [self.chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        for _ in range(300):
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("chroma run did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


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
