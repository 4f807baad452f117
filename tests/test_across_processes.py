"""Guarantees that hold across processes sharing one Chroma server, not only within one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from agent_memory import Memory, MemorySystem, Scope, _writer
from agent_memory.testing import HashEmbedder

RACER = textwrap.dedent(
    """
    import json, sys, time
    from agent_memory import MemorySystem
    from agent_memory.testing import HashEmbedder

    url, collection, start, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    with MemorySystem(embedder=HashEmbedder(16), chroma_url=url, collection=collection) as memory:
        memory.count()  # connected before the start
        time.sleep(max(0.0, start - time.time()))
        ids = [memory.store_memory(f"fact number {i}", user_id="alice").id for i in range(count)]
        ids += [m.id for m in memory.store_memories([f"batch fact {i}" for i in range(count)], user_id="alice")]
    print(json.dumps(ids))
    """
)


IMPORTER = textwrap.dedent(
    """
    import sys, time, uuid
    from agent_memory import MemorySystem
    from agent_memory._transfer import parse_record
    from agent_memory.testing import HashEmbedder

    url, collection, start, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    records = [parse_record({"id": uuid.uuid4().hex, "text": f"fact number {i}", "user_id": "alice"})
               for i in range(count)]
    with MemorySystem(embedder=HashEmbedder(16), chroma_url=url, collection=collection) as memory:
        memory.count()
        time.sleep(max(0.0, start - time.time()))
        memory.import_memories(records, progress=False)
    """
)


def test_an_import_racing_another_process_stores_each_text_once(chroma_server: str) -> None:
    collection, count = f"import-{uuid.uuid4().hex[:8]}", 30
    start = str(time.time() + 3.0)
    racers = [
        subprocess.Popen([sys.executable, "-c", script, chroma_server, collection, start, str(count)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for script in (IMPORTER, RACER)
    ]  # fmt: skip
    answers = [r.communicate(timeout=120) for r in racers]
    assert all(r.returncode == 0 for r in racers), [err for _, err in answers]
    with MemorySystem(embedder=HashEmbedder(16), chroma_url=chroma_server, collection=collection) as memory:
        texts = Counter(m.text for m in memory.iter_memories(user_id="alice"))
    assert all(texts[f"fact number {i}"] == 1 for i in range(count)), texts


def test_two_processes_storing_the_same_texts_at_once_store_each_once(chroma_server: str) -> None:
    collection, count = f"race-{uuid.uuid4().hex[:8]}", 30
    start = str(time.time() + 3.0)
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, chroma_server, collection, start, str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    answers = [r.communicate(timeout=120) for r in racers]
    assert all(r.returncode == 0 for r in racers), [err for _, err in answers]
    first, second = (json.loads(out) for out, _ in answers)
    assert first == second  # both were given the one memory that holds each text
    with MemorySystem(embedder=HashEmbedder(16), chroma_url=chroma_server, collection=collection) as memory:
        texts = Counter(m.text for m in memory.iter_memories(user_id="alice"))
        assert len(texts) == 2 * count and set(texts.values()) == {1}
        assert sorted(m.id for m in memory.iter_memories(user_id="alice")) == sorted(first)


def _server_system(chroma_server: str) -> MemorySystem:
    return MemorySystem(embedder=HashEmbedder(16), chroma_url=chroma_server, collection=f"c-{uuid.uuid4().hex[:8]}")


def test_a_claim_goes_with_its_memory(chroma_server: str) -> None:
    with _server_system(chroma_server) as memory:
        first = memory.store_memory("Alice likes tea", user_id="alice")
        assert memory.delete_memory(first.id, user_id="alice")
        again = memory.store_memory("Alice likes tea", user_id="alice")  # released with the delete
        assert again.id != first.id and memory.count(user_id="alice") == 1
        memory.update_memory(again.id, user_id="alice", text="Alice likes coffee")
        tea = memory.store_memory("Alice likes tea", user_id="alice")  # the claim moved with the text
        assert tea.id not in (first.id, again.id)
        assert memory.delete_all_memories(user_id="alice") == 2
        assert memory.store_memory("Alice likes coffee", user_id="alice").id != again.id
        assert memory.count(user_id="alice") == 1


def test_a_claim_whose_memory_never_came_is_taken_over(chroma_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_writer, "STALE_MS", 300)
    with _server_system(chroma_server) as memory:
        ghost = Memory.create("Alice likes tea", Scope.of("alice"))
        memory.store._claim([ghost])  # a writer that died between claiming and writing
        started = time.monotonic()
        stored = memory.store_memory("Alice likes tea", user_id="alice")
        assert stored.id != ghost.id and time.monotonic() - started >= 0.25
        assert [m.id for m in memory.list_memories(user_id="alice")] == [stored.id]


HISTORIAN = textwrap.dedent(
    """
    import json, sys
    from agent_memory import MemorySystem
    from agent_memory.testing import HashEmbedder

    url, collection, memory_id = sys.argv[1], sys.argv[2], sys.argv[3]
    with MemorySystem(embedder=HashEmbedder(16), chroma_url=url, collection=collection) as memory:
        memory.update_memory(memory_id, user_id="alice", text="Alice likes coffee")
        print(json.dumps([e.action for e in memory.history(memory_id, user_id="alice")]))
    """
)


def test_one_history_per_deployment_on_a_server(
    chroma_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process, with another data directory (another machine, as far as it knows), reads and
    writes the same history: it lives beside the collection on the server."""
    with _server_system(chroma_server) as memory:
        first = memory.store_memory("Alice likes tea", user_id="alice")
        other = {**os.environ, "AGENT_MEMORY_PATH": str(tmp_path / "elsewhere"), "HOME": str(tmp_path)}
        child = subprocess.run(
            [sys.executable, "-c", HISTORIAN, chroma_server, memory.collection, first.id],
            capture_output=True, text=True, env=other, timeout=120, check=False,
        )  # fmt: skip
        assert child.returncode == 0, child.stderr
        assert json.loads(child.stdout) == ["create", "update"]
        events = memory.history(first.id, user_id="alice")
        assert [(e.action, e.old_text, e.new_text) for e in events] == [
            ("create", None, "Alice likes tea"),
            ("update", "Alice likes tea", "Alice likes coffee"),
        ]
        assert memory.history(first.id, user_id="bob") == []
        assert memory.history_log.path == f"{memory.collection}.history"
        memory.delete_all_memories(user_id="alice", purge_history=True)
        assert memory.history(first.id, user_id="alice") == []
    named = tmp_path / "history.sqlite3"
    with MemorySystem(embedder=HashEmbedder(16), chroma_url=chroma_server, history_path=str(named)) as memory:
        assert memory.history_log.path == str(named)  # a file the operator names still wins
