"""AsyncMemorySystem: the sync API awaitable, store and model calls never on the event loop, bounded threads."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from agent_memory import AsyncMemorySystem, MemorySystem, StoreError
from agent_memory.testing import HashEmbedder

NOT_AWAITABLE = {"close", "iter_memories", "export_memories"}  # close is aclose; generators stay sync helpers


class ThreadRecorder:
    """Every call of the wrapped object's methods, with the thread it ran on."""

    def __init__(self, inner: Any, calls: list[tuple[str, str]]) -> None:
        self._inner, self._calls = inner, calls

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self._calls.append((name, threading.current_thread().name))
            return value(*args, **kwargs)

        return recorded


class SlowEmbedder(HashEmbedder):
    """Takes ``delay`` seconds a call, and records the thread of each."""

    def __init__(self, delay: float, calls: list[tuple[str, str]]) -> None:
        super().__init__(16)
        self.delay, self.calls = delay, calls

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls.append(("embed", threading.current_thread().name))
        time.sleep(self.delay)
        return super().embed_documents(texts)


def _recorded_system(calls: list[tuple[str, str]], delay: float = 0.0) -> MemorySystem:
    system = MemorySystem(embedder=SlowEmbedder(delay, calls), path=":memory:")
    system.store = system.writer.store = ThreadRecorder(system.store, calls)  # type: ignore[assignment]
    return system


def test_every_public_method_is_awaitable_with_the_same_signature() -> None:
    public = {n for n in dir(MemorySystem) if callable(getattr(MemorySystem, n)) and not n.startswith("_")}
    public -= NOT_AWAITABLE
    for name in public:
        method = getattr(AsyncMemorySystem, name)
        assert inspect.iscoroutinefunction(method), name
        assert inspect.signature(method) == inspect.signature(getattr(MemorySystem, name)), name
        assert method.__doc__ == getattr(MemorySystem, name).__doc__


def test_no_store_or_model_call_runs_on_the_event_loop() -> None:
    calls: list[tuple[str, str]] = []

    async def scenario() -> str:
        loop_thread = threading.current_thread().name
        memory = AsyncMemorySystem(sync=_recorded_system(calls), max_workers=3)
        stored = await memory.store_memories(["Alice likes tea", "Alice has a cat"], user_id="alice")
        await asyncio.gather(*(memory.search_memory(f"tea {i}", user_id="alice") for i in range(40)))
        await memory.update_memory(stored[0].id, user_id="alice", text="Alice likes coffee")
        await memory.list_memories(user_id="alice")
        assert await memory.count(user_id="alice") == 2
        await memory.delete_memory(stored[1].id, user_id="alice")
        await memory.aclose()
        return loop_thread

    loop_thread = asyncio.run(scenario())
    assert calls and {name for name, _ in calls} >= {"embed", "query", "_add", "_find_texts", "_update"}
    threads = {thread for _, thread in calls}
    assert loop_thread not in threads
    # The pool's threads (at most its bound, whatever the concurrency), and the writer's look-up threads.
    assert all(t.startswith(("agent-memory-async", "agent-memory-lookup")) for t in threads), threads
    assert len({t for t in threads if t.startswith("agent-memory-async")}) <= 3


def test_a_cancelled_caller_drops_the_result_and_the_write_completes() -> None:
    calls: list[tuple[str, str]] = []

    async def scenario() -> MemorySystem:
        sync = _recorded_system(calls, delay=0.3)
        memory = AsyncMemorySystem(sync=sync, max_workers=1)
        task = asyncio.ensure_future(memory.store_memory("Alice likes tea", user_id="alice"))
        await asyncio.sleep(0.1)  # running in its thread now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await memory.aclose()  # waits for the running call
        return sync

    sync = asyncio.run(scenario())
    assert [m.text for m in sync.list_memories(user_id="alice")] == ["Alice likes tea"]
    sync.close()


def test_closing_cancels_queued_calls_and_refuses_new_ones() -> None:
    calls: list[tuple[str, str]] = []

    async def scenario() -> tuple[list[object], AsyncMemorySystem]:
        memory = AsyncMemorySystem(sync=_recorded_system(calls, delay=0.2), max_workers=1)
        tasks = [asyncio.ensure_future(memory.store_memory(f"fact {i}", user_id="alice")) for i in range(5)]
        await asyncio.sleep(0.05)
        await memory.aclose()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        with pytest.raises(StoreError, match="closed"):
            await memory.search_memory("fact", user_id="alice")
        return results, memory

    results, memory = asyncio.run(scenario())
    done = [r for r in results if not isinstance(r, BaseException)]
    assert 1 <= len(done) < 5  # the running one finished; the queued ones were cancelled
    assert all(isinstance(r, asyncio.CancelledError) for r in results if isinstance(r, BaseException))
    assert memory.sync.count(user_id="alice") == len(done)
    memory.sync.close()


def test_it_can_own_its_system() -> None:
    async def scenario() -> None:
        async with AsyncMemorySystem(embedder=HashEmbedder(16), path=":memory:") as memory:
            await memory.store_memory("Alice likes tea", user_id="alice")
            assert [h.text for h in await memory.search_memory("tea", user_id="alice")] == ["Alice likes tea"]

    asyncio.run(scenario())
