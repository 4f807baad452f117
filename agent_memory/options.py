"""Every option of a search, a listing and a write, defined once, for surfaces built on agent-memory.

``SEARCH``, ``LIST`` and ``STORE`` hold an :class:`Option` each (name, default, kind, doc) for the
keyword arguments of :meth:`~agent_memory.MemorySystem.search_memory`, ``list_memories`` and
``store_memory``; ``named(SEARCH, source)`` picks their values out of a mapping or an object (a
request model, a retriever's fields), ready to pass on. Adapters that take their options from here
offer every option, with the same defaults, as the library gains them.
"""

from agent_memory import _options
from agent_memory._options import *  # noqa: F403 - exactly what _options exports

__all__ = list(_options.__all__)
