"""Property-based: whatever users, scopes, texts, metadata and filters, one user's calls never
return, change or delete another user's memories."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_memory import Memory, MemoryNotFoundError, MemorySystem
from agent_memory.testing import HashEmbedder

USERS = ["alice", "bob", "carol"]
ACTOR = "alice"
WORDS = ["coffee", "tea", "dog", "Lisbon", "nurse", "peanuts"]

records = st.lists(
    st.tuples(
        st.sampled_from(USERS),
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
        st.sampled_from([None, "planner", "coach"]),
        st.sampled_from([None, "s1", "s2"]),
        st.fixed_dictionaries({"tag": st.sampled_from(["a", "b"]), "n": st.integers(0, 5)}),
        st.sampled_from([None, "2021-06-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00"]),  # valid_until
    ),
    min_size=1,
    max_size=25,
)
others = st.sampled_from([u for u in USERS if u != ACTOR])
filters = st.one_of(
    st.none(),
    others.map(lambda u: {"user_id": u}),
    others.map(lambda u: {"user_id": {"$ne": ACTOR}}),
    others.map(lambda u: {"user_id": {"$nin": [ACTOR]}}),
    others.map(lambda u: {"user_id": {"$in": [ACTOR, u]}}),
    others.map(lambda u: {"$or": [{"user_id": u}, {"tag": "a"}]}),
    others.map(lambda u: {"$and": [{"tag": "b"}, {"$or": [{"user_id": u}, {"n": {"$gte": 0}}]}]}),
    st.integers(0, 5).map(lambda n: {"n": {"$gt": n}}),
    st.sampled_from(["a", "b"]).map(lambda t: {"tag": t}),
)


# Time options never widen the scope: expired memories, the past, a span the query names.
times = st.sampled_from(
    [
        {},
        {"include_expired": True},
        {"as_of": "2021-01-01T00:00:00+00:00"},
        {"as_of": "2030-01-01T00:00:00+00:00"},
        {"since": "2020-01-01T00:00:00+00:00"},
    ]
)


def _fill(memory: MemorySystem, rows: list[tuple[str, str, str | None, str | None, dict[str, Any], Any]]) -> None:
    for user, text, agent, session, metadata, until in rows:
        memory.store_memory(
            text,
            user_id=user,
            agent_id=agent,
            session_id=session,
            metadata=metadata,
            valid_from="2020-01-01T00:00:00+00:00",
            valid_until=until,
        )


def _others(memory: MemorySystem) -> dict[str, Memory]:
    users = [u for u in USERS if u != ACTOR]
    return {m.id: m for user in users for m in memory.list_memories(user_id=user, include_expired=True)}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=records,
    where=filters,
    agent=st.sampled_from([None, "planner"]),
    query=st.sampled_from(WORDS),
    when=times,
    aware=st.booleans(),
)
def test_reads_never_return_another_users_memories(
    rows: list[Any], where: dict[str, Any] | None, agent: str | None, query: str, when: dict[str, Any], aware: bool
) -> None:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as memory:
        _fill(memory, rows)
        if aware:  # a time the query names replaces the default "holds now"
            query, when = f"{query} in 2021", {**when, "time_aware": True}
        hits = memory.search_memory(query, user_id=ACTOR, top_k=50, filters=where, agent_id=agent, **when)
        when.pop("time_aware", None)
        listed = memory.list_memories(user_id=ACTOR, filters=where, agent_id=agent, **when)
        assert all(h.memory.user_id == ACTOR for h in hits)
        assert all(m.user_id == ACTOR for m in listed)
        assert all(agent is None or m.agent_id == agent for m in listed)
        for foreign in _others(memory):
            assert memory.get_memory(foreign, user_id=ACTOR) is None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, text=st.sampled_from(WORDS), wipe_agent=st.sampled_from([None, "planner"]))
def test_writes_never_change_another_users_memories(rows: list[Any], text: str, wipe_agent: str | None) -> None:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as memory:
        _fill(memory, rows)
        before = _others(memory)
        for foreign in before:
            try:
                memory.update_memory(foreign, user_id=ACTOR, text=f"hijacked {text}", metadata={"tag": "x"})
            except MemoryNotFoundError:
                pass
            else:
                raise AssertionError("updated another user's memory")
            assert memory.delete_memory(foreign, user_id=ACTOR) is False
            for change in (memory.expire_memory, memory.restore_memory):
                try:
                    change(foreign, user_id=ACTOR)
                except MemoryNotFoundError:
                    pass
                else:
                    raise AssertionError(f"{change.__name__} changed another user's memory")
        memory.store_memory(text, user_id=ACTOR)  # the same text as others' memories: a memory of alice's own
        memory.delete_all_memories(user_id=ACTOR, agent_id=wipe_agent)
        assert _others(memory) == before
        if wipe_agent is None:
            assert memory.count(user_id=ACTOR) == 0
