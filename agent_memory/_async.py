"""``AsyncMemorySystem``: the same API, awaitable, for event loops (FastAPI, LangGraph, ...).

Each method is the :class:`MemorySystem` method of the same name run in a bounded
thread pool (``max_workers`` threads, shared by every call of this object), so
no store or model call ever runs on the event loop and no call makes a thread of
its own. There is one implementation: the methods below are generated from the
sync ones (:func:`_awaitable`), with their signatures and docstrings.

A task awaiting a call can be cancelled; the call itself finishes in its thread
(a write is never left half-done) and its result is dropped. :meth:`aclose`
stops taking calls, cancels those still queued, waits for those running, then
closes the store.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from agent_memory._errors import ConfigurationError, StoreError
from agent_memory._system import MemorySystem

__all__ = ["AsyncMemorySystem"]

_SHARED: weakref.WeakKeyDictionary[MemorySystem, AsyncMemorySystem] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()
P = ParamSpec("P")
R = TypeVar("R")


def _awaitable(
    method: Callable[Concatenate[MemorySystem, P], R],
) -> Callable[Concatenate[AsyncMemorySystem, P], Awaitable[R]]:
    """The sync method as a coroutine method that runs it in the object's thread pool."""

    name = method.__name__

    @functools.wraps(method)
    async def call(self: AsyncMemorySystem, /, *args: P.args, **kwargs: P.kwargs) -> R:
        bound: Callable[P, R] = getattr(self.sync, name)  # by name: a subclass's override is the one run
        return await self.run(bound, *args, **kwargs)

    return call


class AsyncMemorySystem:
    """:class:`MemorySystem`, awaitable: ``await memory.search_memory("...", user_id="alice")``.

    Takes :class:`MemorySystem`'s arguments, or an existing one with ``sync=``
    (then closing this object leaves it open). ``max_workers`` bounds the threads
    (default: CPUs + 4, at most 32).
    """

    def __init__(
        self, *args: Any, sync: MemorySystem | None = None, max_workers: int | None = None, **kwargs: Any
    ) -> None:
        if sync is not None and (args or kwargs):
            raise ConfigurationError("pass either sync= or MemorySystem's arguments, not both")
        self.sync = sync if sync is not None else MemorySystem(*args, **kwargs)
        self._owns_sync = sync is None
        workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agent-memory-async")
        self._closed = False

    @classmethod
    def of(cls, sync: MemorySystem) -> AsyncMemorySystem:
        """The one :class:`AsyncMemorySystem` of this process over ``sync`` (made on first use), so
        that everything awaiting calls on one system, integrations included, shares one pool."""
        with _SHARED_LOCK:
            shared = _SHARED.get(sync)
            if shared is None or shared._closed:
                shared = _SHARED[sync] = cls(sync=sync)
            return shared

    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``function(*args, **kwargs)`` in this object's thread pool (with the caller's context variables)."""
        if self._closed:
            raise StoreError("this AsyncMemorySystem is closed")
        context = contextvars.copy_context()
        call = functools.partial(context.run, function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def aclose(self) -> None:
        """Stop taking calls, cancel the queued ones, wait for the running ones, close the store."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._owns_sync:
            self.sync.close()

    async def __aenter__(self) -> AsyncMemorySystem:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    store_memory = _awaitable(MemorySystem.store_memory)
    store_memories = _awaitable(MemorySystem.store_memories)
    put_memory = _awaitable(MemorySystem.put_memory)
    put_memories = _awaitable(MemorySystem.put_memories)
    remember = _awaitable(MemorySystem.remember)
    update_memory = _awaitable(MemorySystem.update_memory)
    delete_memory = _awaitable(MemorySystem.delete_memory)
    delete_memories = _awaitable(MemorySystem.delete_memories)
    expire_memory = _awaitable(MemorySystem.expire_memory)
    restore_memory = _awaitable(MemorySystem.restore_memory)
    delete_all_memories = _awaitable(MemorySystem.delete_all_memories)
    import_memories = _awaitable(MemorySystem.import_memories)
    history = _awaitable(MemorySystem.history)
    reindex = _awaitable(MemorySystem.reindex)
    search_memory = _awaitable(MemorySystem.search_memory)
    get_memory = _awaitable(MemorySystem.get_memory)
    get_memories = _awaitable(MemorySystem.get_memories)
    get_memory_by_key = _awaitable(MemorySystem.get_memory_by_key)
    list_memories = _awaitable(MemorySystem.list_memories)
    count = _awaitable(MemorySystem.count)
    stats = _awaitable(MemorySystem.stats)
    warm_up = _awaitable(MemorySystem.warm_up)
