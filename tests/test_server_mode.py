"""Server mode: MemorySystem on a real Chroma server started by the tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from agent_memory import ConfigurationError, MemorySystem, StoreError
from agent_memory.testing import HashEmbedder


def test_the_environment_selects_the_server(chroma_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_MEMORY_CHROMA_URL", chroma_server)
    collection = f"env-{uuid.uuid4().hex}"
    with MemorySystem(embedder=HashEmbedder(), collection=collection) as memory:
        memory.store_memory("Alice likes coffee", user_id="alice")
        assert memory.path == chroma_server
    with MemorySystem(embedder=HashEmbedder(), chroma_url=chroma_server, collection=collection) as memory:
        assert memory.count(user_id="alice") == 1
    with MemorySystem(embedder=HashEmbedder(), path=":memory:", collection=collection) as memory:
        assert memory.count() == 0  # an explicit path wins over the environment


def test_unreachable_server_is_a_clear_error() -> None:
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:9"):
        MemorySystem(embedder=HashEmbedder(), chroma_url="http://127.0.0.1:9")
    assert time.monotonic() - started < 30


def test_conflicting_or_malformed_settings() -> None:
    with pytest.raises(ConfigurationError, match="either path"):
        MemorySystem(embedder=HashEmbedder(), path=":memory:", chroma_url="http://127.0.0.1:8000")
    with pytest.raises(ConfigurationError, match="chroma_url"):
        MemorySystem(embedder=HashEmbedder(), chroma_url="ftp://example")


def test_unknown_database_is_a_clear_error(chroma_server: str) -> None:
    with pytest.raises(StoreError, match="cannot use the Chroma server"):
        MemorySystem(embedder=HashEmbedder(), chroma_url=chroma_server, database="no-such-database")


def test_several_processes_share_one_server(chroma_server: str) -> None:
    collection = f"procs-{uuid.uuid4().hex}"
    code = textwrap.dedent(
        f"""
        import sys
        from agent_memory import MemorySystem
        from agent_memory.testing import HashEmbedder
        worker = sys.argv[1]
        with MemorySystem(embedder=HashEmbedder(), chroma_url={chroma_server!r}, collection={collection!r}) as m:
            m.store_memories([f"{{worker}} fact {{i}}" for i in range(200)], user_id=f"user-{{worker}}")
            m.store_memories([f"shared fact {{i}}" for i in range(50)], user_id="shared-" + worker)
        """
    )
    workers = [subprocess.Popen([sys.executable, "-c", code, str(w)]) for w in range(3)]
    assert [w.wait(timeout=300) for w in workers] == [0, 0, 0]
    with MemorySystem(embedder=HashEmbedder(), chroma_url=chroma_server, collection=collection) as memory:
        assert memory.count() == 3 * 250
        assert all(memory.count(user_id=f"user-{w}") == 200 for w in range(3))


def test_token_headers_reach_the_server() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str | None] = []

    class Refusing(BaseHTTPRequestHandler):  # a server that wants a token it does not get
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(StoreError, match="cannot use the Chroma server"):
            MemorySystem(embedder=HashEmbedder(), chroma_url=url, chroma_headers={"Authorization": "Bearer s3cret"})
    finally:
        server.shutdown()
    assert seen and set(seen) == {"Bearer s3cret"}
