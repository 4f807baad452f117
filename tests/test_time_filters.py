"""Time filters that work: since/until on every record, newest first, and stores written before them."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings

from agent_memory import InvalidFilterError, Memory, MemorySystem, Scope, ValidationError
from agent_memory._times import relative_time
from agent_memory.cli._main import main
from agent_memory.store._records import text_hash
from agent_memory.testing import HashEmbedder

DAY = timedelta(days=1)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def _dated(memory: MemorySystem, text: str, when: datetime, user: str = "alice") -> Memory:
    record = Memory.create(text, Scope.of(user), created_at=when)
    memory.writer.upsert([record], lambda ms: memory.embedder.embed_documents([m.text for m in ms]), "system")
    return record


@pytest.fixture
def dated(memory: MemorySystem) -> MemorySystem:
    """Alice's memories from 30, 10, 3 and 0 days before NOW (embedded and server stores)."""
    for days, text in [
        (30, "Alice moved to Porto"),
        (10, "Alice bought a bike"),
        (3, "Alice met Bob"),
        (0, "Alice ate sushi"),
    ]:
        _dated(memory, text, NOW - days * DAY)
    _dated(memory, "Bob went hiking", NOW - 3 * DAY, user="bob")
    return memory


def test_the_created_at_filter_is_refused_not_silently_empty(memory: MemorySystem) -> None:
    memory.store_memory("Alice likes tea", user_id="alice")
    for filters in ({"created_at": {"$gte": 0}}, {"$and": [{"topic": "x"}, {"updated_at": "2026"}]}):
        with pytest.raises(InvalidFilterError, match="since=/until="):
            memory.search_memory("tea", user_id="alice", filters=filters)
        with pytest.raises(InvalidFilterError, match="since=/until="):
            memory.list_memories(user_id="alice", filters=filters)


def test_since_and_until_on_search_and_list(dated: MemorySystem) -> None:
    week = [m.text for m in dated.list_memories(user_id="alice", since=NOW - 7 * DAY)]
    assert week == ["Alice met Bob", "Alice ate sushi"]
    before = dated.list_memories(user_id="alice", until=(NOW - 7 * DAY).isoformat())
    assert [m.text for m in before] == ["Alice moved to Porto", "Alice bought a bike"]
    hits = dated.search_memory("Alice", user_id="alice", top_k=10, since=NOW - 11 * DAY, until=NOW - DAY)
    assert sorted(h.text for h in hits) == ["Alice bought a bike", "Alice met Bob"]
    assert (
        dated.search_memory("Bob", user_id="alice", since=NOW - 4 * DAY, until=NOW - 2 * DAY)[0].text == "Alice met Bob"
    )
    with pytest.raises(ValidationError, match="must come after"):
        dated.list_memories(user_id="alice", since=NOW, until=NOW - DAY)
    with pytest.raises(ValidationError, match="ISO 8601"):
        dated.list_memories(user_id="alice", since="last tuesday")


def test_newest_first_pages_from_the_end(dated: MemorySystem) -> None:
    newest = dated.list_memories(user_id="alice", order="newest")
    assert [m.text for m in newest] == [
        "Alice ate sushi",
        "Alice met Bob",
        "Alice bought a bike",
        "Alice moved to Porto",
    ]
    page = dated.list_memories(user_id="alice", order="newest", limit=2, offset=1)
    assert [m.text for m in page] == ["Alice met Bob", "Alice bought a bike"]
    with pytest.raises(ValidationError):
        dated.list_memories(user_id="alice", order="random")


def test_a_naive_time_is_read_in_the_given_zone(dated: MemorySystem) -> None:
    lisbon_noon = datetime(2026, 11, 25, 12, 0)  # NOW - 3 days is 12:00 UTC, 12:00 in Lisbon in November
    tokyo = dated.list_memories(user_id="alice", since=lisbon_noon, tz="Asia/Tokyo")  # 03:00 UTC: includes it
    lisbon = dated.list_memories(user_id="alice", since=lisbon_noon.replace(minute=1), tz=ZoneInfo("Europe/Lisbon"))
    assert "Alice met Bob" in [m.text for m in tokyo] and "Alice met Bob" not in [m.text for m in lisbon]
    with pytest.raises(ValidationError, match="time zone"):
        dated.list_memories(user_id="alice", since=lisbon_noon, tz="Mars/Olympus")


def test_time_filters_never_widen_the_scope(dated: MemorySystem) -> None:
    seen = dated.list_memories(user_id="alice", since=NOW - 100 * DAY, filters={"$or": [{"user_id": "bob"}, {"x": 1}]})
    assert seen == []
    assert all(
        h.memory.user_id == "alice" for h in dated.search_memory("Bob hiking", user_id="alice", since=NOW - 5 * DAY)
    )


def test_a_store_written_before_time_filters_gets_its_times_on_open(tmp_path: Path) -> None:
    """Records as the previous release wrote them: no created_ms, the time in the UUIDv7 id or created_at."""
    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    old = client.get_or_create_collection(
        "memories", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    embedder = HashEmbedder(16)
    recent, imported = Memory.create("Alice likes tea", Scope.of("alice")), NOW - 40 * DAY
    ids = [recent.id, uuid.uuid4().hex]
    metadatas = [
        {"user_id": "alice", "text_sha": text_hash("Alice likes tea")},
        {"user_id": "alice", "text_sha": text_hash("Alice had a cat"), "created_at": imported.isoformat()},
    ]
    old.add(ids=ids, embeddings=embedder.embed_documents(["Alice likes tea", "Alice had a cat"]),
            documents=["Alice likes tea", "Alice had a cat"], metadatas=metadatas)  # type: ignore[arg-type]  # fmt: skip
    old.modify(metadata=embedder.fingerprint.to_metadata())
    del client
    with MemorySystem(embedder=embedder, path=str(tmp_path)) as memory:
        assert [m.text for m in memory.list_memories(user_id="alice", since=NOW - 30 * DAY)] == ["Alice likes tea"]
        assert [m.text for m in memory.list_memories(user_id="alice", until=NOW - 30 * DAY)] == ["Alice had a cat"]
        assert memory.search_memory("tea", user_id="alice")[0].text == "Alice likes tea"
        assert all("created_ms" not in m.metadata for m in memory.list_memories(user_id="alice"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7d", NOW - 7 * DAY), ("2w", NOW - 14 * DAY), ("12h", NOW - timedelta(hours=12)),
     ("30m", NOW - timedelta(minutes=30)), ("2026-11-01", datetime(2026, 11, 1, tzinfo=timezone.utc)),
     ("2026-11-01T08:00:00Z", datetime(2026, 11, 1, 8, tzinfo=timezone.utc))],
)  # fmt: skip
def test_the_clis_relative_times(text: str, expected: datetime) -> None:
    assert relative_time(text, NOW, tz="UTC") == expected


def test_vectors_are_untouched_by_the_migration(tmp_path: Path) -> None:
    with MemorySystem(embedder=HashEmbedder(16), path=str(tmp_path)) as memory:
        stored = memory.store_memory("Alice likes tea", user_id="alice")
        before = memory.store.vectors([stored.id], Scope.of("alice"))
    with MemorySystem(embedder=HashEmbedder(16), path=str(tmp_path)) as memory:
        np.testing.assert_array_equal(memory.store.vectors([stored.id], Scope.of("alice")), before)


def test_the_cli_takes_since_until_and_newest(tmp_path: Path, minilm: str) -> None:
    db = str(tmp_path / "db")
    with MemorySystem(minilm, path=db) as memory:
        _dated(memory, "Alice moved to Porto", datetime.now(timezone.utc) - 30 * DAY)
        _dated(memory, "Alice ate sushi", datetime.now(timezone.utc) - DAY)
    common = ["--model", minilm, "--path", db, "--user", "alice"]
    out = io.StringIO()
    assert main(["list", *common, "--since", "7d"], out=out) == 0
    assert "sushi" in out.getvalue() and "Porto" not in out.getvalue()
    out = io.StringIO()
    assert main(["search", "Alice", *common, "--until", "2w"], out=out) == 0
    assert "Porto" in out.getvalue() and "sushi" not in out.getvalue()
    out = io.StringIO()
    assert main(["list", *common, "--newest", "--limit", "1"], out=out) == 0
    assert "sushi" in out.getvalue() and "Porto" not in out.getvalue()


def test_the_service_reads_naive_times_in_the_clients_zone(tmp_path: Path) -> None:
    """The client sends times with their offset, so the server's own zone never matters."""
    from fastapi.testclient import TestClient

    from agent_memory.auth._keys import KeyStore
    from agent_memory.server._app import ServiceSettings, create_app

    memory = MemorySystem(embedder=HashEmbedder(16), path=":memory:")
    _dated(memory, "Alice met Bob", NOW - 3 * DAY)  # 12:00 UTC
    keys = KeyStore(tmp_path / "keys.jsonl")
    key = keys.create(user_id="alice")[1]
    app = create_app(memory, keys, settings=ServiceSettings(allowed_hosts=("testserver",)))
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
        naive = (NOW - 3 * DAY).replace(tzinfo=None, hour=20).isoformat()  # 20:00 in Shanghai is 12:00 UTC
        shanghai = http.get("/v1/memories", params={"since": naive, "tz": "Asia/Shanghai"}).json()["memories"]
        utc = http.get("/v1/memories", params={"since": naive}).json()["memories"]  # read in UTC: 20:00 UTC
        assert [m["text"] for m in shanghai] == ["Alice met Bob"] and utc == []
        found = http.post("/v1/search", json={"query": "Bob", "until": naive, "tz": "Asia/Shanghai"}).json()["hits"]
        assert found == []  # until is exclusive


def test_time_aware_search_keeps_the_span_the_query_names(dated: MemorySystem) -> None:
    """NOW is Saturday 2026-11-28: "last week" is Monday 16 to Monday 23 November. A memory with
    no valid_from counts from when it was stored: what was stored after the span is left out,
    what was stored in it comes first, what was stored before it (and still holds) comes after."""
    plain = dated.search_memory("What did Alice do last week?", user_id="alice", top_k=10, time_aware=False)
    assert len(plain) == 4 and all(h.time_range is None for h in plain)
    by_default = dated.search_memory("What did Alice do last week?", user_id="alice", top_k=10, now=NOW, tz="UTC")
    assert by_default[0].text == "Alice bought a bike" and by_default[0].time_range is not None  # on by default
    aware = {"user_id": "alice", "top_k": 10, "time_aware": True, "now": NOW, "tz": "UTC"}
    found = dated.search_memory("What did Alice do last week?", **aware)  # type: ignore[arg-type]
    in_span = [h.text for h in found if h.time_range is not None]
    assert in_span == ["Alice bought a bike", "Alice moved to Porto"]  # 18 November, then 29 October
    assert [h.text for h in found[2:]] == [h.text for h in plain if h.text not in in_span]  # then the rest
    assert found[0].time_range == (
        datetime(2026, 11, 16, tzinfo=timezone.utc),
        datetime(2026, 11, 23, tzinfo=timezone.utc),
    )
    assert found[0].to_dict()["time_range"] == ["2026-11-16T00:00:00+00:00", "2026-11-23T00:00:00+00:00"]
    yesterday = dated.search_memory("爱丽丝昨天做了什么", **aware)  # type: ignore[arg-type]
    held = {h.text for h in yesterday if h.time_range is not None}
    assert held == {"Alice moved to Porto", "Alice bought a bike", "Alice met Bob"}
    assert [h.text for h in yesterday[3:]] == ["Alice ate sushi"]  # stored after yesterday: last, unmarked
    explicit = dated.search_memory("Alice last week", **aware, since=NOW - DAY)  # type: ignore[arg-type]
    assert [h.text for h in explicit] == ["Alice ate sushi"] and explicit[0].time_range is None  # since/until win
    untimed = dated.search_memory("Where does Alice live?", **aware)  # type: ignore[arg-type]
    assert len(untimed) == 4 and untimed[0].time_range is None
