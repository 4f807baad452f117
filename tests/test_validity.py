"""When memories hold: valid_from/valid_until, expiry, as_of, include_expired, re-validation, old stores."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings

from agent_memory import (
    Fact,
    InvalidFilterError,
    InvalidTypeError,
    LLMExtractor,
    MemoryNotFoundError,
    MemorySystem,
    Scope,
    ValidationError,
)
from agent_memory._transfer import parse_record
from agent_memory.extraction._extractor import parse_facts
from agent_memory.store._records import text_hash
from agent_memory.testing import HashEmbedder, ScriptedLLM

PAST = "2021-01-01T00:00:00+00:00"
UTC = timezone.utc


def test_validity_is_stored_read_back_and_checked_before_anything_is_written(hashed: MemorySystem) -> None:
    kept = hashed.store_memory("Alice lives in Porto", user_id="alice", valid_from=PAST, valid_until="2031-01-01")
    assert kept.valid_from == datetime(2021, 1, 1, tzinfo=UTC) and kept.valid_until is not None
    assert hashed.get_memory(kept.id, user_id="alice") == kept
    assert kept.to_dict()["valid_from"] == "2021-01-01T00:00:00+00:00" and kept.to_dict()["supersedes"] is None
    with pytest.raises(ValidationError, match=r"valid_until .* must come after valid_from"):
        hashed.store_memory("Alice lives in Lyon", user_id="alice", valid_from=PAST, valid_until=PAST)
    with pytest.raises(InvalidTypeError, match="valid_from must be a datetime"):
        hashed.store_memory("Alice lives in Lyon", user_id="alice", valid_from=2021)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not an ISO 8601"):
        hashed.store_memories(["a", "b"], user_id="alice", valid_until="next week")
    with pytest.raises(ValidationError, match="as_of= or include_expired=True, not both"):
        hashed.search_memory("x", user_id="alice", as_of=PAST, include_expired=True)
    with pytest.raises(InvalidFilterError, match="as_of="):
        hashed.list_memories(user_id="alice", filters={"valid_until": {"$gt": 0}})
    assert hashed.count(user_id="alice") == 1


def test_expired_memories_leave_default_reads_but_as_of_and_include_expired_find_them(hashed: MemorySystem) -> None:
    porto = hashed.store_memory("Alice lives in Porto", user_id="alice", valid_from="2019-01-01T00:00:00Z")
    hashed.expire_memory(porto.id, user_id="alice", at="2023-03-01T00:00:00Z")
    berlin = hashed.store_memory("Alice lives in Berlin", user_id="alice", valid_from="2023-03-01T00:00:00Z")
    later = hashed.store_memory("Alice will live in Oslo", user_id="alice", valid_from="2999-01-01T00:00:00Z")
    for mode in ("hybrid", "dense"):
        now = hashed.search_memory("Alice lives", user_id="alice", mode=mode, top_k=10)
        assert {h.memory.id for h in now} == {berlin.id, later.id}  # not expired: one that holds later is kept
        then = hashed.search_memory("Alice lives", user_id="alice", mode=mode, as_of="2022-06-01T00:00:00Z")
        assert [h.memory.id for h in then] == [porto.id]
        every = hashed.search_memory("Alice lives", user_id="alice", mode=mode, include_expired=True, top_k=10)
        assert len(every) == 3
    assert [m.id for m in hashed.list_memories(user_id="alice")] == [berlin.id, later.id]
    assert [m.id for m in hashed.list_memories(user_id="alice", as_of="2023-03-01T00:00:00Z")] == [berlin.id]
    assert len(hashed.list_memories(user_id="alice", include_expired=True, order="newest")) == 3
    assert hashed.count(user_id="alice") == 3  # count is of what is stored


def test_search_fills_top_k_with_valid_memories_when_the_nearest_have_expired(hashed: MemorySystem) -> None:
    stored = hashed.store_memories([f"note {i} about coffee" for i in range(12)], user_id="alice")
    for memory in stored[:6]:
        hashed.expire_memory(memory.id, user_id="alice")
    for mode in ("hybrid", "dense"):
        hits = hashed.search_memory("note about coffee", user_id="alice", top_k=5, mode=mode)
        assert len(hits) == 5 and {h.memory.id for h in hits} <= {m.id for m in stored[6:]}


def test_storing_the_text_of_an_expired_memory_makes_it_hold_again_as_a_new_memory(hashed: MemorySystem) -> None:
    first = hashed.store_memory("Alice is vegetarian", user_id="alice")
    assert hashed.store_memory("Alice is vegetarian", user_id="alice") == first  # holds: a duplicate
    hashed.expire_memory(first.id, user_id="alice")
    again = hashed.store_memory("Alice is vegetarian", user_id="alice")
    assert again.id != first.id and again.valid_until is None
    assert [h.memory.id for h in hashed.search_memory("vegetarian", user_id="alice")] == [again.id]
    assert hashed.store_memory("Alice is vegetarian", user_id="alice") == again
    assert [e.action for e in hashed.history(first.id, user_id="alice")] == ["create", "expire"]


def test_expiry_and_revalidation_on_a_chroma_server_with_claims(memory: MemorySystem) -> None:
    first = memory.store_memory("Alice has a cat", user_id="alice")
    memory.expire_memory(first.id, user_id="alice")
    again = memory.store_memory("Alice has a cat", user_id="alice")  # the old claim is taken over, not waited on
    assert again.id != first.id
    assert [h.memory.id for h in memory.search_memory("cat", user_id="alice")] == [again.id]
    back_then = memory.search_memory("cat", user_id="alice", as_of=first.created_at)
    assert first.id in {h.memory.id for h in back_then}  # and the new one, which holds since always


def test_restore_and_expire_are_recorded_and_refuse_unknown_ids(hashed: MemorySystem) -> None:
    kept = hashed.store_memory("Alice plays chess", user_id="alice")
    ended = hashed.expire_memory(kept.id, user_id="alice", at=datetime.now(UTC) - timedelta(days=1))
    assert ended.valid_until is not None and hashed.list_memories(user_id="alice") == []
    assert hashed.restore_memory(kept.id, user_id="alice").valid_until is None
    assert [m.id for m in hashed.list_memories(user_id="alice")] == [kept.id]
    with pytest.raises(MemoryNotFoundError):
        hashed.expire_memory(kept.id, user_id="bob")
    assert [e.action for e in hashed.history(kept.id, user_id="alice")] == ["create", "expire", "restore"]


def test_export_and_import_round_trip_validity_and_supersedes(hashed: MemorySystem, tmp_path: Path) -> None:
    old = hashed.store_memory("Alice lives in Porto", user_id="alice", valid_from=PAST)
    hashed.expire_memory(old.id, user_id="alice", at="2023-03-01T00:00:00Z")
    new = hashed.writer.add(
        ["Alice lives in Berlin"],
        [{}],
        Scope.of("alice"),
        "user",
        valid=(datetime(2023, 3, 1, tzinfo=UTC), None),
        supersedes=old.id,
    )[0][0]
    again = hashed.store_memory("Alice lives in Porto", user_id="alice")  # holds again: same text, two memories
    lines = list(hashed.export_memories(user_id="alice"))
    assert {line["id"]: line["supersedes"] for line in lines}[new.id] == old.id
    with MemorySystem(embedder=HashEmbedder(64), path=":memory:") as other:
        result = other.import_memories([parse_record(json.loads(json.dumps(line))) for line in lines])
        assert result.created == 3 and result.duplicates == 0
        for memory in (old, new, again):
            copied = other.get_memory(memory.id, user_id="alice")
            original = hashed.get_memory(memory.id, user_id="alice")
            assert copied is not None and original is not None
            assert (copied.valid_from, copied.valid_until, copied.supersedes) == (
                original.valid_from,
                original.valid_until,
                original.supersedes,
            )
        back_then = other.search_memory("Alice lives", user_id="alice", as_of="2022-01-01", top_k=5)
        assert {h.memory.id for h in back_then} == {old.id, again.id}  # not Berlin; again holds since always


def test_a_store_written_before_validity_opens_and_searches_as_before(tmp_path: Path) -> None:
    """Records as the previous release wrote them (created_ms, no validity keys, am_times=1),
    and older ones (no created_ms either): every memory holds, as_of finds them, nothing is lost."""
    embedder = HashEmbedder(64)
    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection(
        "memories", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}, metadata={"am_times": 1}
    )
    texts = ["Alice likes tea", "Alice has a dog"]
    metas = [
        {"user_id": "alice", "text_sha": text_hash(texts[0]), "created_ms": 1_700_000_000_000},
        {"user_id": "alice", "text_sha": text_hash(texts[1])},
    ]
    ids = ["018bcfe5-6800-7000-8000-000000000001", "018bcfe5-6800-7000-8000-000000000002"]
    collection.add(ids=ids, documents=texts, metadatas=metas, embeddings=np.array(embedder.embed_documents(texts)))
    collection.modify(metadata={"am_times": 1, **embedder.fingerprint.to_metadata()})
    del collection, client
    with MemorySystem(embedder=embedder, path=str(tmp_path)) as memory:
        found = memory.list_memories(user_id="alice")
        assert [m.text for m in found] == texts and all(m.valid_from is m.valid_until is None for m in found)
        assert memory.search_memory("tea", user_id="alice")[0].text == "Alice likes tea"
        assert len(memory.search_memory("Alice", user_id="alice", as_of=PAST, top_k=5)) == 2
        assert memory.store.count() == 2


def test_facts_say_which_message_they_came_from() -> None:
    reply = {"facts": [{"text": "Moved to Lyon", "message": 2}, "Likes tea", {"text": "Odd", "message": 9}]}
    found = parse_facts(reply, messages=3)
    assert found == ["Moved to Lyon", "Likes tea", "Odd"]
    assert [getattr(f, "message", None) for f in found] == [1, None, None]
    assert isinstance(found[0], Fact) and repr(found[0]) == "Fact('Moved to Lyon', message=1, time=None, kind=None)"


def test_remember_dates_each_fact_by_its_message_and_a_batch_can_supersede(hashed: MemorySystem) -> None:
    hashed.store_memory("Alice works at Finlytics", user_id="alice", valid_from=PAST)
    said = [
        {"role": "user", "content": "I left Finlytics.", "time": "2024-02-01T10:00:00+00:00"},
        {"role": "user", "content": "Now I teach at Oakridge, and I love tea.", "time": "2024-02-03T10:00:00+00:00"},
    ]
    script = ScriptedLLM(
        [
            {"facts": [{"text": "Alice teaches at Oakridge", "message": 2}, "Alice loves tea"]},
            {"decisions": [{"fact": "1", "action": "supersede", "id": "1.1", "text": "Alice teaches at Oakridge"}]},
        ]
    )
    changes = hashed.remember(said, user_id="alice", extractor=LLMExtractor(script))
    assert [c.event for c in changes] == ["superseded", "added"]
    assert changes[0].memory is not None and changes[0].memory.valid_from == datetime(2024, 2, 3, 10, tzinfo=UTC)
    assert changes[0].previous is not None and changes[0].memory.supersedes == changes[0].previous.id
    assert changes[1].memory is not None and changes[1].memory.valid_from == datetime(2024, 2, 3, 10, tzinfo=UTC)
    assert [m.text for m in hashed.list_memories(user_id="alice")] == ["Alice teaches at Oakridge", "Alice loves tea"]
    assert [h.text for h in hashed.search_memory("works", user_id="alice", as_of="2023-01-01")] == [
        "Alice works at Finlytics"
    ]


def test_recency_prefers_recent_memories_only_when_asked(hashed: MemorySystem) -> None:
    old = hashed.store_memory("Alice likes tea", user_id="alice", valid_from="2016-01-01T00:00:00Z")
    new = hashed.store_memory("Alice likes tea a lot", user_id="alice", valid_from="2026-11-01T00:00:00Z")
    now = "2026-11-28T00:00:00Z"
    plain = hashed.search_memory("Alice likes tea", user_id="alice", now=now, time_aware=False)
    assert plain[0].memory.id == old.id  # the exact words win without recency
    recent = hashed.search_memory("Alice likes tea", user_id="alice", now=now, recency_half_life=365)
    assert recent[0].memory.id == new.id
    age = (datetime(2026, 11, 28, tzinfo=UTC) - datetime(2016, 1, 1, tzinfo=UTC)).days
    assert recent[1].score == pytest.approx(plain[0].score * (1 - 0.2 * (1 - 0.5 ** (age / 365))))
    with pytest.raises(ValidationError, match="positive"):
        hashed.search_memory("tea", user_id="alice", recency_half_life=0)
    with pytest.raises(InvalidTypeError, match="timedelta or a number of days"):
        hashed.search_memory("tea", user_id="alice", recency_half_life="1y")  # type: ignore[arg-type]
