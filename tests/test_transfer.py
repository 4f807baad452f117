"""JSONL export and import: ids, scopes, metadata, timestamps and (optionally) vectors round-trip."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from agent_memory import MemorySystem, ValidationError
from agent_memory._transfer import parse_record
from agent_memory.cli._main import main
from agent_memory.testing import HashEmbedder


class CountingEmbedder(HashEmbedder):
    def __init__(self, model: str = "hash-embedder") -> None:
        super().__init__(32, model=model)
        self.embedded: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.embedded += texts
        return super().embed_documents(texts)


def _fill(memory: MemorySystem) -> None:
    memory.store_memory("Alice likes coffee", user_id="alice", metadata={"source": "chat", "turn": 3})
    m = memory.store_memory("Alice has a dog", user_id="alice", agent_id="pets", session_id="s1")
    memory.update_memory(m.id, user_id="alice", text="Alice has two dogs")
    memory.store_memory("Bob prefers tea", user_id="bob")


def _lines(memory: MemorySystem, *, vectors: bool = False) -> list[dict[str, object]]:
    return [
        json.loads(json.dumps(line))
        for u in ("alice", "bob")
        for line in memory.export_memories(user_id=u, vectors=vectors)
    ]


def test_memories_round_trip_with_ids_scopes_metadata_and_times() -> None:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as source:
        _fill(source)
        lines = _lines(source)
        originals = {m.id: m for u in ("alice", "bob") for m in source.list_memories(user_id=u)}
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as target:
        report = target.import_memories([parse_record(line) for line in lines])
        assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
        copies = {m.id: m for u in ("alice", "bob") for m in target.list_memories(user_id=u)}
        assert copies == originals
        edited = next(m for m in copies.values() if m.agent_id == "pets")
        assert edited.updated_at > edited.created_at  # type: ignore[operator]
        assert target.search_memory("dogs", user_id="alice", top_k=1)[0].memory == edited
        again = target.import_memories([parse_record(line) for line in lines])
        assert (again.created, again.updated, again.unchanged) == (0, 0, 3)  # twice: no duplicates
        assert target.count() == 3


def test_an_edited_memory_is_restored_and_the_history_says_so() -> None:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as memory:
        _fill(memory)
        lines = _lines(memory)
        coffee = memory.search_memory("coffee", user_id="alice", top_k=1)[0].memory
        memory.update_memory(coffee.id, user_id="alice", text="Alice quit coffee")
        report = memory.import_memories([parse_record(line) for line in lines])
        assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
        assert memory.get_memory(coffee.id, user_id="alice") == coffee
        last = memory.history(coffee.id, user_id="alice")[-1]
        assert (last.action, last.old_text, last.new_text, last.actor) == (
            "update",
            "Alice quit coffee",
            "Alice likes coffee",
            "system",
        )


def test_vectors_are_reused_for_the_same_model_and_recomputed_for_another() -> None:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as source:
        _fill(source)
        lines = _lines(source, vectors=True)
    assert all(len(line["vector"]) == 32 and line["model"] == "hash-embedder" for line in lines)  # type: ignore[arg-type]
    same, other = CountingEmbedder(), CountingEmbedder(model="another-model")
    for embedder, expected in ((same, []), (other, ["Alice likes coffee", "Alice has two dogs", "Bob prefers tea"])):
        with MemorySystem(embedder=embedder, path=":memory:") as target:
            target.import_memories([parse_record(line) for line in lines])
            assert sorted(embedder.embedded) == sorted(expected)
            hit = target.search_memory("Bob prefers tea", user_id="bob", top_k=1, mode="dense")[0]
            assert hit.similarity == pytest.approx(
                float(
                    embedder.embed_queries(["Bob prefers tea"], target.task)[0]
                    @ HashEmbedder(32).embed_documents(["Bob prefers tea"])[0]
                )
                if embedder is same
                else hit.similarity
            )


def test_an_id_owned_by_another_user_is_refused_before_anything_is_written() -> None:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as memory:
        bob = memory.store_memory("Bob prefers tea", user_id="bob")
        records = [
            parse_record({"id": "a" * 32, "text": "fine", "user_id": "alice"}),
            parse_record({"id": bob.id, "text": "hijack", "user_id": "alice"}),
        ]
        with pytest.raises(ValidationError, match="another user"):
            memory.import_memories(records)
        assert memory.count(user_id="alice") == 0
        assert memory.get_memory(bob.id, user_id="bob") == bob


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"id": "x", "text": "t", "user_id": "u", "created_at": "yesterday"}, "ISO 8601"),
        ({"id": "x", "text": "t", "user_id": "u", "created_at": "2026-01-01T00:00:00"}, "time zone"),
        ({"id": "x", "text": "t", "user_id": "u", "vector": [0.1, 0.2]}, "model"),
        ({"id": "x", "text": "t", "user_id": "u", "vector": "0.1", "model": "m"}, "vector"),
        ({"id": "", "text": "t", "user_id": "u"}, "id"),
    ],
)
def test_bad_lines_say_what_is_wrong(line: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_record(line)


def test_cli_export_import_round_trip(tmp_path: Path, minilm: str, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = (
        ["--model", minilm, "--path", str(tmp_path / "a")],
        ["--model", minilm, "--path", str(tmp_path / "b")],
    )
    assert main(["add", "Alice likes coffee", "--user", "alice", "--meta", "source=chat", *source]) == 0
    capsys.readouterr()
    assert main(["export", "--user", "alice", "--vectors", *source]) == 0
    exported = capsys.readouterr().out
    (tmp_path / "alice.jsonl").write_text(exported, encoding="utf-8")
    for _ in range(2):
        assert main(["import", str(tmp_path / "alice.jsonl"), *target]) == 0
    capsys.readouterr()
    assert main(["export", "--user", "alice", *target]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line == {k: v for k, v in json.loads(exported).items() if k not in ("vector", "model", "dimension")}


def test_an_id_twice_in_one_file_is_refused() -> None:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as memory:
        twice = [parse_record({"id": "dup", "text": t, "user_id": "alice"}) for t in ("one", "two")]
        with pytest.raises(ValidationError, match="more than once"):
            memory.import_memories(twice)
        assert memory.count() == 0
