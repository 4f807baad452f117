"""Concurrent agents: threads on one embedded store, and the one-process-per-directory guard."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from agent_memory import MemorySystem, StoreError
from agent_memory.testing import HashEmbedder

SECONDS = 3.0


def _worker(memory: MemorySystem, name: str, errors: list[BaseException], alive: dict[str, set[str]]) -> None:
    rng = random.Random(name)
    mine: set[str] = set()
    deadline, n = time.monotonic() + SECONDS, 0
    try:
        while time.monotonic() < deadline:
            n += 1
            op = rng.random()
            if op < 0.5:
                mine.add(memory.store_memory(f"{name} fact {n}", user_id=name).id)
                memory.store_memory(f"shared fact {n % 40}", user_id="shared")  # the same texts from every thread
            elif op < 0.7:
                assert all(h.memory.user_id == name for h in memory.search_memory("fact", user_id=name, top_k=5))
            elif op < 0.85 and mine:
                target = rng.choice(sorted(mine))
                memory.update_memory(target, user_id=name, text=f"{name} updated fact {n}")
            elif mine:
                target = rng.choice(sorted(mine))
                assert memory.delete_memory(target, user_id=name)
                mine.discard(target)
    except Exception as exc:  # noqa: BLE001 - reported to the main thread, which fails the test
        errors.append(exc)
    alive[name] = mine


@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_threads_storing_searching_updating_deleting(mode: str, db_path: str, request: pytest.FixtureRequest) -> None:
    if mode == "embedded":
        memory = MemorySystem(embedder=HashEmbedder(), path=db_path)
    else:
        memory = MemorySystem(embedder=HashEmbedder(), chroma_url=request.getfixturevalue("chroma_server"))
    errors: list[BaseException] = []
    alive: dict[str, set[str]] = {}
    threads = [threading.Thread(target=_worker, args=(memory, f"agent{i}", errors, alive)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for name, ids in alive.items():  # no lost or duplicated writes: exactly what each thread kept
        assert {m.id for m in memory.iter_memories(user_id=name)} == ids
    shared = [m.text for m in memory.iter_memories(user_id="shared")]
    assert len(shared) == len(set(shared))  # the same text from several threads at once is stored once
    memory.close()


def test_a_second_process_on_an_embedded_directory_is_refused(db_path: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from agent_memory import MemorySystem
            from agent_memory.testing import HashEmbedder
            with MemorySystem(embedder=HashEmbedder(), path={db_path!r}) as memory:
                memory.store_memory("held", user_id="alice")
                print("ready", flush=True)
                sys.stdin.readline()
            """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "ready"
    with pytest.raises(StoreError, match=f"in use by process {holder.pid}.*agent-memory serve.*--server.*chroma_url"):
        MemorySystem(embedder=HashEmbedder(), path=db_path)
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.wait(timeout=60) == 0
    with MemorySystem(embedder=HashEmbedder(), path=db_path) as memory:  # free again once it is closed
        assert memory.count() == 1
        with MemorySystem(embedder=HashEmbedder(), path=db_path) as same_process:  # sharing in one process is fine
            assert same_process.count() == 1


class _GatedEmbedder(HashEmbedder):
    """Embeds a document starting with "slow" only once ``gate`` opens, as a model busy on a long text."""

    def __init__(self) -> None:
        super().__init__()
        self.gate, self.waiting = threading.Event(), threading.Event()

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if any(t.startswith("slow") for t in texts):
            self.waiting.set()
            assert self.gate.wait(30)
        return super().embed_documents(texts)


@pytest.mark.parametrize("call", ["store", "update", "put"])
def test_no_writer_waits_while_another_embeds(call: str) -> None:
    """The write lock covers the duplicate check and the store write, not the model: while one
    thread's text is being embedded, another thread's writes go through (found by a new
    maintainer: every writer of the process waited on inference)."""
    embedder = _GatedEmbedder()
    with MemorySystem(embedder=embedder, path=":memory:") as memory:
        first = memory.store_memory("Alice likes tea", user_id="alice")
        slow = {
            "store": lambda: memory.store_memory("slow: a long text", user_id="alice"),
            "update": lambda: memory.update_memory(first.id, user_id="alice", text="slow: a new text"),
            "put": lambda: memory.put_memory("k", "slow: a keyed text", user_id="alice"),
        }[call]
        worker = threading.Thread(target=slow)
        worker.start()
        try:
            assert embedder.waiting.wait(10)
            done = threading.Event()
            other = threading.Thread(
                target=lambda: (memory.store_memory("Bob likes coffee", user_id="bob"), done.set())
            )
            other.start()
            assert done.wait(10), "bob's write waited for alice's embedding"
            other.join()
        finally:
            embedder.gate.set()
            worker.join(30)
        assert memory.count() == (2 if call == "update" else 3)
