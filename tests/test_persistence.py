"""Persistent Chroma: reopening, new processes, and the embedder fingerprint."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from agent_memory import EmbedderMismatchError, MemorySystem
from agent_memory.testing import HashEmbedder


def _run(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_memories_survive_a_reopen_in_a_new_process(db_path: str, minilm: str) -> None:
    _run(
        f"""
        from agent_memory import MemorySystem
        with MemorySystem({minilm!r}, path={db_path!r}) as memory:
            memory.store_memories(["Alice likes coffee", "Alice has a dog"], user_id="alice")
            memory.store_memory("Bob likes tea", user_id="bob", metadata={{"source": "chat"}})
        """
    )
    out = _run(
        f"""
        import json
        from agent_memory import MemorySystem
        with MemorySystem({minilm!r}, path={db_path!r}) as memory:
            hits = memory.search_memory("What does Alice drink?", user_id="alice")
            bob = memory.list_memories(user_id="bob")
            print(json.dumps({{"top": hits[0].text, "users": {{h.memory.user_id for h in hits}} == {{"alice"}},
                              "bob": [m.to_dict() for m in bob], "count": memory.count()}}))
        """
    )
    result = json.loads(out.strip().splitlines()[-1])
    assert result["top"] == "Alice likes coffee" and result["users"] is True and result["count"] == 3
    assert result["bob"][0]["text"] == "Bob likes tea" and result["bob"][0]["metadata"] == {"source": "chat"}
    with MemorySystem(minilm, path=db_path) as memory:  # and in this process too
        assert memory.store_memory("Alice likes coffee", user_id="alice").text == "Alice likes coffee"
        assert memory.count() == 3


def test_another_dimension_is_refused_naming_both(db_path: str) -> None:
    with MemorySystem(embedder=HashEmbedder(64), path=db_path) as memory:
        memory.store_memory("Alice likes coffee", user_id="alice")
    with MemorySystem(embedder=HashEmbedder(32), path=db_path) as memory:
        with pytest.raises(EmbedderMismatchError) as info:
            memory.store_memory("Alice likes tea", user_id="alice")
        assert "64 dims" in str(info.value) and "32 dims" in str(info.value)
        with pytest.raises(EmbedderMismatchError):
            memory.search_memory("coffee", user_id="alice")
        assert memory.count() == 1  # reading without vectors still works
    with MemorySystem(embedder=HashEmbedder(64), path=db_path) as memory:
        assert memory.search_memory("Alice likes coffee", user_id="alice")[0].text == "Alice likes coffee"


def test_another_model_is_refused(db_path: str, minilm: str, tiny_qwen3: str) -> None:
    with MemorySystem(tiny_qwen3, path=db_path) as memory:
        memory.store_memory("Alice likes coffee", user_id="alice")
    with MemorySystem(minilm, path=db_path) as memory, pytest.raises(EmbedderMismatchError) as info:
        memory.store_memory("Alice likes tea", user_id="alice")
    assert tiny_qwen3 in str(info.value) and minilm in str(info.value)
    with MemorySystem(tiny_qwen3, path=db_path, dimensions=32) as memory, pytest.raises(EmbedderMismatchError):
        memory.search_memory("coffee", user_id="alice")
    with MemorySystem(minilm, path=db_path, collection="minilm-memories") as memory:  # another collection is fine
        memory.store_memory("Alice likes tea", user_id="alice")
        assert memory.stats().model == minilm


def test_stats_before_and_after_first_use(db_path: str) -> None:
    with MemorySystem(embedder=HashEmbedder(48), path=db_path) as memory:
        assert memory.stats().model is None and memory.stats().total == 0
        memory.store_memory("x y", user_id="u")
        assert memory.stats().dimension == 48 and memory.stats().model == "hash-embedder"
