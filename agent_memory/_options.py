"""Every option of a search, a listing and a write, defined once: its name, default, kind and meaning.

:class:`~agent_memory.MemorySystem` spells the options out in its signatures (for readers and
type checkers). Every other surface takes them from these tables: the HTTP service's request
models and query parameters, :class:`~agent_memory.MemoryClient`'s request bodies, the CLI's
flags, the LangChain retriever's fields; and ``tests/test_options.py`` fails when a surface
lacks an option or gives it another default, naming the few a surface leaves out on purpose
(an agent tool need not offer ``filters``, say).

Times without an offset are read in ``tz``; its default is the same on every surface: the
zone ``AGENT_MEMORY_TZ`` names, else UTC (see :func:`agent_memory._times.zone`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = ["KINDS", "LIST", "MODES", "ORDERS", "SEARCH", "SIGNALS", "STORE", "Option", "as_days", "named"]

MODES = ("hybrid", "dense")
"""Search modes: ``hybrid`` (the default: dense + BM25 + session neighbours) and ``dense`` (vectors only)."""
ORDERS = ("oldest", "newest")
"""List orders: the order memories were stored in, or the latest first."""
SIGNALS = ("hubness", "content", "subject")
"""The optional signals of the default search (``search_memory(signals=...)``; all by default)."""
KINDS = ("event", "state")
"""What a memory can be: an ``event`` happened at its time ("bought a kettle", "visited Kyoto"); a
``state`` holds from its time until something ends it ("lives in Porto", "likes green tea")."""


@dataclass(frozen=True)
class Option:
    """One option: ``kind`` says what it takes, which is how each surface spells it.

    Kinds: ``count`` (an int), ``number`` (a float), ``flag`` (a bool), ``text`` (a str),
    ``choice`` (one of ``choices``), ``choices`` (a list of them), ``scope`` (an agent or session id), ``actor``,
    ``time`` (a datetime or ISO 8601), ``zone`` (an IANA name), ``days`` (a ``timedelta``, or
    days as a number), ``filters`` (a Chroma ``where``), ``metadata`` (flat scalars).
    """

    name: str
    default: Any
    kind: str
    doc: str
    choices: tuple[str, ...] = ()


_SCOPE = (
    Option("agent_id", None, "scope", "Narrow to one agent of the user (writes: tag with it)."),
    Option("session_id", None, "scope", "Narrow to one session (writes: tag with it)."),
)
_STORED = (
    Option("since", None, "time", "Only memories stored at or after this time."),
    Option("until", None, "time", "Only memories stored before this time."),
    Option("tz", None, "zone", "The zone of times without an offset (default: AGENT_MEMORY_TZ, else UTC)."),
)
_HELD = (
    Option("as_of", None, "time", "What held at this time, instead of what holds now."),
    Option("include_expired", False, "flag", "Also memories that no longer hold."),
)
_FILTERS = Option("filters", None, "filters", "A Chroma where expression on metadata: narrows, never widens.")

SEARCH: tuple[Option, ...] = (
    Option("top_k", 5, "count", "How many memories to return."),
    Option("task", None, "text", "The search task: a key of TASKS or an instruction sentence."),
    _FILTERS,
    Option("min_score", None, "number", "Leave out hits scoring lower (scores are in [0, 1])."),
    *_SCOPE,
    Option("mode", "hybrid", "choice", "hybrid (BM25 and dense) or dense (vectors only).", MODES),
    *_STORED,
    Option("time_aware", True, "flag", 'A time the query names ("last week", "in 2022") selects what held then.'),
    Option("now", None, "time", "The time the query's time words are read against (default: the current time)."),
    *_HELD,
    Option("recency_half_life", None, "days", "Prefer recent memories: this old loses 10% of its score (days)."),
    Option("signals", None, "choices", "The default search's signals to apply (default: all; none: []).", SIGNALS),
)
"""The options of :meth:`~agent_memory.MemorySystem.search_memory`, after ``query`` and ``user_id``."""

LIST: tuple[Option, ...] = (
    Option("limit", None, "count", "At most this many memories (default: all)."),
    Option("offset", 0, "count", "Skip this many first."),
    _FILTERS,
    *_SCOPE,
    *_STORED,
    Option("order", "oldest", "choice", "oldest (as stored) or newest first.", ORDERS),
    *_HELD,
)
"""The options of :meth:`~agent_memory.MemorySystem.list_memories`, after ``user_id``."""

STORE: tuple[Option, ...] = (
    Option("metadata", None, "metadata", "Flat labels kept with the memory: str, int, float or bool values."),
    *_SCOPE,
    Option("actor", None, "actor", "Who the history records: user, system or agent:<id> (default: the agent)."),
    Option("valid_from", None, "time", "When the fact began to hold (default: open)."),
    Option("valid_until", None, "time", "When it stopped holding (default: it still holds)."),
    Option("kind", None, "choice", "event (it happened then) or state (it holds until ended); else guessed.", KINDS),
)
"""The options of :meth:`~agent_memory.MemorySystem.store_memory`, after ``text`` and ``user_id``
(``store_memories`` also takes ``metadatas``, one per text, and ``progress``)."""


def named(options: tuple[Option, ...], source: object) -> dict[str, Any]:
    """Each option's value in ``source`` (a mapping, or an object with the options as attributes),
    for passing on as keyword arguments; options ``source`` does not have keep their defaults."""
    if isinstance(source, Mapping):
        return {o.name: source.get(o.name, o.default) for o in options}
    return {o.name: getattr(source, o.name, o.default) for o in options}


def as_days(value: object) -> float | None:
    """A ``days`` option as a number of days (what JSON carries)."""
    return value.total_seconds() / 86400 if isinstance(value, timedelta) else value  # type: ignore[return-value]
