"""A hostile client, in process: bob sends every call hostile values (sizes just over each limit, wide
and deep filters, long digit runs, overflowing numbers and times, odd unicode, reserved keys, alice's
ids). Every call either does what it says in bob's own scope or raises the library's own error, and
after each sequence alice's memories, count and history are byte for byte what they were; the store
opens, counts and searches after a restart.

The HTTP half (a real ``agent-memory serve``) is ``tests/test_hostile_service.py``. CI runs a small
Hypothesis budget; ``AGENT_MEMORY_HYPOTHESIS_EXAMPLES=2000 pytest tests/test_hostile.py`` runs more.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_memory import Limits, Memory, MemoryNotFoundError, MemorySystem, SearchHit, ValidationError
from agent_memory.testing import HashEmbedder

EXAMPLES = int(os.environ.get("AGENT_MEMORY_HYPOTHESIS_EXAMPLES", "30"))
LIMITS = Limits()


def _deep(levels: int) -> dict[str, Any]:
    where: dict[str, Any] = {"topic": "x"}
    for _ in range(levels):
        where = {"$and": [where, {"n": {"$gte": 0}}]}
    return where


TEXTS = st.sampled_from(
    [
        "Bob likes tea",
        "x" * (LIMITS.max_text_chars + 1),
        "1" * 30_000,
        "一" * 20_000,
        "\x00 nul",
        "lone \ud800 surrogate",
        "   ",
        "",
        "\u202e\u200b\ufeff odd but valid unicode 🐍",
        "Alice likes tea",  # alice's own text, in bob's scope: a new memory of bob's
    ]
)
METADATA = st.sampled_from(
    [
        None,
        {"topic": "x", "n": 1},
        {f"k{i}": i for i in range(LIMITS.max_metadata_keys + 1)},
        {f"k{i}": i for i in range(5600)},
        {"big": "v" * LIMITS.max_metadata_bytes},
        {"chroma:document": "x"},
        {"user_id": "alice"},
        {"$where": 1},
        {"nan": float("nan")},
        {"nested": {"a": 1}},
        {"n": 2**70},
    ]
)
FILTERS = st.sampled_from(
    [
        None,
        {"topic": "x"},
        {"user_id": "alice"},
        {"$or": [{"user_id": "alice"}, {"user_id": "bob"}]},
        {"$or": [{"n": i} for i in range(LIMITS.max_filter_clauses + 1)]},
        {"$or": [{"n": i} for i in range(10_000)]},
        {"n": {"$in": list(range(40_000))}},
        _deep(LIMITS.max_filter_depth),
        _deep(2_000),
        {},
        {"created_at": {"$gt": 0}},
    ]
)
COUNTS = st.sampled_from([1, 0, -1, LIMITS.max_top_k + 1, 2**32, 2**63, 2**64, True])
OFFSETS = st.sampled_from([0, -1, LIMITS.max_offset + 1, 4_294_967_296, 2**63])
TIMES = st.sampled_from(
    [
        None,
        "2026-01-01",
        "0001-01-01",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1500-06-01",
        "not a time",
        "2026-01-01" + "0" * 10_000,
    ]
)
QUERIES = st.sampled_from(
    [
        "what does Bob like",
        "1" * 30_000,
        "一" * 15_000,
        "what happened 100000000 days ago",
        "99999999999天前",
        "yesterday",
        "q" * (LIMITS.max_query_chars + 1),
        "\x00",
    ]
)
ZONES = st.sampled_from([None, "UTC", "x" * 10_000, "../../etc/passwd", "Europe/Lisbon\x00"])


class Bob:
    """Bob's calls, each drawn with hostile arguments; ``alice_ids`` are ids he should never reach."""

    def __init__(self, memory: MemorySystem, alice_ids: list[str]) -> None:
        self.memory, self.alice_ids = memory, alice_ids

    def ids(self) -> st.SearchStrategy[str]:
        return st.sampled_from([*self.alice_ids, "x" * 300, "\x00", "no-such-id"])

    def calls(self) -> st.SearchStrategy[tuple[str, Callable[[], object]]]:
        m = self.memory
        return st.one_of(
            st.builds(lambda t, md, vf: ("store", lambda: m.store_memory(t, user_id="bob", metadata=md, valid_from=vf)),
                      TEXTS, METADATA, TIMES),
            st.builds(lambda k, t, md: ("put", lambda: m.put_memory(k, t, user_id="bob", metadata=md)),
                      st.sampled_from(["k1", "x" * 300, "\x00", ""]), TEXTS, METADATA),
            st.builds(lambda ts, md: ("store_many", lambda: m.store_memories(ts, user_id="bob", metadata=md)),
                      st.lists(TEXTS, max_size=3), METADATA),
            st.builds(lambda q, k, f, now, tz: ("search", lambda: m.search_memory(
                q, user_id="bob", top_k=k, filters=f, now=now, tz=tz)), QUERIES, COUNTS, FILTERS, TIMES, ZONES),
            st.builds(lambda q, since, asof: ("search_times", lambda: m.search_memory(
                q, user_id="bob", since=since, as_of=asof)), QUERIES, TIMES, TIMES),
            st.builds(lambda k, o, f, until: ("list", lambda: m.list_memories(
                user_id="bob", limit=k, offset=o, filters=f, until=until)), COUNTS, OFFSETS, FILTERS, TIMES),
            st.builds(lambda i, t, md: ("update", lambda: m.update_memory(i, user_id="bob", text=t, metadata=md)),
                      self.ids(), TEXTS, METADATA),
            st.builds(lambda i, at: ("expire", lambda: m.expire_memory(i, user_id="bob", at=at)), self.ids(), TIMES),
            st.builds(lambda i: ("restore", lambda: m.restore_memory(i, user_id="bob")), self.ids()),
            st.builds(lambda i: ("delete", lambda: m.delete_memory(i, user_id="bob")), self.ids()),
            st.builds(lambda i: ("get", lambda: m.get_memory(i, user_id="bob")), self.ids()),
            st.builds(lambda i: ("get_many", lambda: m.get_memories(user_id="bob", ids=[i, "no-such-id"])),
                      self.ids()),
            st.builds(lambda i: ("delete_many", lambda: m.delete_memories(user_id="bob", ids=[i])), self.ids()),
            st.builds(lambda ks, t: ("put_many", lambda: m.put_memories(ks, [t] * len(ks), user_id="bob")),
                      st.lists(st.sampled_from(["k1", "k2", "\x00"]), max_size=3), TEXTS),
            st.builds(lambda i: ("history", lambda: m.history(i, user_id="bob")), self.ids()),
            st.builds(lambda a: ("delete_all", lambda: m.delete_all_memories(user_id="bob", agent_id=a)),
                      st.sampled_from([None, "planner", ""])),
        )  # fmt: skip


def _alices(memory: MemorySystem) -> str:
    """Alice's memories (expired ones too), count and history, as one text to compare byte for byte."""
    memories = sorted(memory.iter_memories(user_id="alice"), key=lambda m: m.id)
    history = {m.id: [e.to_dict() for e in memory.history(m.id, user_id="alice")] for m in memories}
    state = {"memories": [m.to_dict() for m in memories], "history": history, "count": memory.count(user_id="alice")}
    return json.dumps(state, sort_keys=True, default=str)


def _returned_memories(result: object) -> list[Memory]:
    items = result if isinstance(result, list) else [result]
    return [i.memory if isinstance(i, SearchHit) else i for i in items if isinstance(i, (Memory, SearchHit))]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MemorySystem, list[str], str, Path]]:
    path = tmp_path_factory.mktemp("hostile") / "memdb"
    memory = MemorySystem(embedder=HashEmbedder(), path=str(path))
    alice = memory.store_memories(["Alice likes tea", "Alice lives in Porto"], user_id="alice", metadata={"n": 1})
    planner = memory.store_memory("Alice plans a trip", user_id="alice", agent_id="planner", session_id="s1")
    memory.update_memory(alice[0].id, user_id="alice", text="Alice likes green tea")
    memory.expire_memory(alice[1].id, user_id="alice", at="2026-01-01")
    yield memory, [alice[0].id, alice[1].id, planner.id], _alices(memory), path
    memory.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_bob_cannot_hurt_alice_or_the_store(store: tuple[MemorySystem, list[str], str, Path], data: Any) -> None:
    memory, alice_ids, before, _ = store
    for name, call in data.draw(st.lists(Bob(memory, alice_ids).calls(), min_size=1, max_size=5)):
        try:
            result = call()
        except (ValidationError, MemoryNotFoundError):
            continue  # refused for what it asked (never a StoreError: the store must not be what broke)
        leaked = [m for m in _returned_memories(result) if m.user_id != "bob"]
        assert not leaked, f"{name} returned another user's memory"
    assert _alices(memory) == before


def test_the_store_opens_counts_and_searches_after_the_attack(store: tuple[MemorySystem, list[str], str, Path]) -> None:
    memory, _, before, path = store
    memory.store_memory("Bob still works", user_id="bob")
    memory.close()
    with MemorySystem(embedder=HashEmbedder(), path=str(path)) as reopened:
        assert _alices(reopened) == before
        assert reopened.count() >= reopened.count(user_id="alice") + 1
        assert [h.memory.text for h in reopened.search_memory("Bob still works", user_id="bob", top_k=1)] == [
            "Bob still works"
        ]
        reopened.store_memory("Carol arrives after the attack", user_id="carol")  # writes still work
        assert reopened.count(user_id="carol") == 1


def test_every_known_finding_is_refused(tmp_path: Path) -> None:
    """The findings that reported issue 28, in process: each refused with a ValidationError (or answered,
    for queries that merely looked like times), the store unchanged and still usable after a restart."""
    path = str(tmp_path / "db")
    with MemorySystem(embedder=HashEmbedder(), path=path) as memory:
        alice = memory.store_memory("Alice likes tea", user_id="alice")
        before = _alices(memory)
        reserved_at_1100: list[dict[str, Any] | None] = [None] * 1100 + [{"chroma:document": "x"}] * 100
        refused: list[Callable[[], object]] = [
            lambda: memory.store_memory("x", user_id="bob", metadata={f"k{i}": i for i in range(5600)}),
            lambda: memory.search_memory("x", user_id="bob", filters={"$or": [{"n": i} for i in range(10_000)]}),
            lambda: memory.search_memory("1" * 30_000, user_id="bob"),
            lambda: memory.store_memories([f"t{i}" for i in range(1200)], user_id="bob", metadatas=reserved_at_1100),
            lambda: memory.list_memories(user_id="bob", offset=4_294_967_296),
            lambda: memory.search_memory("x", user_id="bob", top_k=2**63),
            lambda: memory.search_memory("yesterday", user_id="bob", now="0001-01-01"),
            lambda: memory.expire_memory(alice.id, user_id="alice", at="0001-01-01T00:00:00+14:00"),
            lambda: memory.search_memory("x", user_id="bob", tz="x" * 10_000),
        ]
        for call in refused:
            with pytest.raises(ValidationError):
                call()
        for query in ("what happened 100000000 days ago", "99999999999天前", "一" * 15_000):
            memory.search_memory(query, user_id="bob")  # answered: no time named, in linear time
        assert _alices(memory) == before and memory.count(user_id="bob") == 0
    with MemorySystem(embedder=HashEmbedder(), path=path) as reopened:
        assert _alices(reopened) == before
        assert reopened.store_memory("Bob still writes", user_id="bob").text == "Bob still writes"
