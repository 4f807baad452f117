"""The docs' bad-input table (Reliability and security), a test per row: a clear error, the store as it was."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_memory import (
    EmbeddingError,
    InvalidFilterError,
    InvalidMetadataError,
    InvalidTypeError,
    MemorySystem,
    Scope,
    StoreError,
    ValidationError,
)
from agent_memory.testing import HashEmbedder


def _snapshot(memory: MemorySystem) -> list[tuple[str, str]]:
    return sorted((m.id, m.text) for m in memory.iter_memories(user_id="alice"))


@pytest.fixture
def seeded(hashed: MemorySystem) -> Iterator[MemorySystem]:
    hashed.store_memory("Alice likes coffee", user_id="alice", metadata={"source": "chat"})
    before = _snapshot(hashed)
    yield hashed
    assert _snapshot(hashed) == before  # every row leaves the store unchanged


@pytest.mark.parametrize(
    ("memory_id", "error"),
    [("", ValidationError), (123, InvalidTypeError), ("x" * 300, ValidationError), ("id\x00", ValidationError)],
)
def test_malformed_ids(seeded: MemorySystem, memory_id: Any, error: type[Exception]) -> None:
    for call in (seeded.get_memory, seeded.delete_memory):
        with pytest.raises(error):
            call(memory_id, user_id="alice")
    with pytest.raises(error):
        seeded.update_memory(memory_id, user_id="alice", text="new")


def test_huge_text(seeded: MemorySystem) -> None:
    with pytest.raises(ValidationError, match="1,048,576 characters"):
        seeded.store_memory("a" * 1_048_576, user_id="alice")
    with pytest.raises(ValidationError):
        seeded.search_memory("q" * 1_048_576, user_id="alice")


@pytest.mark.parametrize("text", ["nul\x00byte", "escape \x1b[31mred", "bell\x07", "del\x7f"])
def test_control_characters(seeded: MemorySystem, text: str) -> None:
    with pytest.raises(ValidationError, match="control characters"):
        seeded.store_memory(text, user_id="alice")
    with pytest.raises(ValidationError):
        seeded.store_memory("fine text", user_id="alice", metadata={"note": text})
    with pytest.raises(ValidationError):
        seeded.store_memory("fine text", user_id=f"alice{text}")


def test_invalid_utf8_surrogates(seeded: MemorySystem) -> None:
    broken = b"caf\xc3 au lait".decode("utf-8", "surrogateescape")  # what decoding bad bytes leaves behind
    for text in (broken, "lone \ud800 surrogate"):
        with pytest.raises(ValidationError, match="surrogates"):
            seeded.store_memory(text, user_id="alice")
        with pytest.raises(ValidationError):
            seeded.search_memory(text, user_id="alice")
    assert seeded.store_memory("tab\tand\nnewlines\r are fine", user_id="bob").text == "tab\tand\nnewlines\r are fine"


def test_extremely_many_memories_in_one_call(hashed: MemorySystem) -> None:
    texts = [f"fact {i}" for i in range(12_000)]
    stored = hashed.store_memories(texts, user_id="alice", progress=False)  # in rounds of 1,000: bounded memory
    assert len({m.id for m in stored}) == 12_000 and hashed.count(user_id="alice") == 12_000


@pytest.mark.parametrize("key", ["user_id", "agent_id", "session_id", "created_at", "updated_at", "text_sha"])
def test_metadata_keys_that_collide_with_internal_ones(seeded: MemorySystem, key: str) -> None:
    with pytest.raises(InvalidMetadataError, match="reserved"):
        seeded.store_memory("Alice likes tea", user_id="alice", metadata={key: "bob"})
    memory_id = seeded.list_memories(user_id="alice")[0].id
    with pytest.raises(InvalidMetadataError):
        seeded.update_memory(memory_id, user_id="alice", metadata={key: "bob"})


@pytest.mark.parametrize("where", [{"a": {"$regex": "x"}}, {"$xor": [{"a": 1}, {"b": 2}]}, {"a": {"$in": "x"}}])
def test_filter_operators_chroma_does_not_know(seeded: MemorySystem, where: dict[str, Any]) -> None:
    with pytest.raises(InvalidFilterError):
        seeded.search_memory("coffee", user_id="alice", filters=where)
    with pytest.raises(InvalidFilterError):
        seeded.list_memories(user_id="alice", filters=where)


class _BadVectors(HashEmbedder):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        vectors = super().embed_documents(texts)
        vectors[-1, 3] = self.value
        return vectors


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_vectors_from_a_custom_embedder(value: float) -> None:
    with MemorySystem(embedder=_BadVectors(value), path=":memory:") as memory:
        with pytest.raises(EmbeddingError, match="NaN or infinite"):
            memory.store_memories(["first fact", "second fact"], user_id="alice")
        assert memory.count() == 0


def test_read_only_data_directory(tmp_path: Path) -> None:
    source, mounted = tmp_path / "db", tmp_path / "read-only"
    with MemorySystem(embedder=HashEmbedder(), path=str(source)) as memory:
        memory.store_memory("Alice likes coffee", user_id="alice")
    mounted.mkdir()
    subprocess.run(["mount", "--bind", str(source), str(mounted)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mounted)], check=True)
        with pytest.raises(StoreError, match="cannot be written"):
            MemorySystem(embedder=HashEmbedder(), path=str(mounted))
    finally:
        subprocess.run(["umount", str(mounted)], check=True)
    with MemorySystem(embedder=HashEmbedder(), path=str(source)) as memory:
        assert memory.count() == 1


def test_corrupted_data_directory(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with MemorySystem(embedder=HashEmbedder(), path=str(path)) as memory:
        memory.store_memory("Alice likes coffee", user_id="alice")
    database = path / "chroma.sqlite3"
    database.write_bytes(b"not a database" * 100)
    digest = hashlib.sha256(database.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match="not a database"):
        MemorySystem(embedder=HashEmbedder(), path=str(path))
    assert hashlib.sha256(database.read_bytes()).hexdigest() == digest  # left as it was found


def test_a_file_where_the_directory_should_be(tmp_path: Path) -> None:
    path = tmp_path / "memdb"
    path.write_text("a file")
    with pytest.raises(StoreError, match="is a file"):
        MemorySystem(embedder=HashEmbedder(), path=str(path))
    assert path.read_text() == "a file"


@pytest.fixture
def garbage_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _garbage(self) -> None:
            body = os.urandom(64)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _garbage

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_chroma_server_that_answers_garbage(garbage_server: str) -> None:
    with pytest.raises(StoreError, match="cannot use the Chroma server"):
        MemorySystem(embedder=HashEmbedder(), chroma_url=garbage_server)


def test_stored_vectors_are_finite_and_unit_norm(hashed: MemorySystem) -> None:
    stored = hashed.store_memory("Alice likes coffee", user_id="alice")
    vector = hashed.store.vectors([stored.id], Scope("alice"))[0]
    assert np.isfinite(vector).all() and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
