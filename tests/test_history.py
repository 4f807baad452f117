"""The change history: every change recorded with texts, metadata, time and actor, in SQLite or on a Chroma server."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from agent_memory import Memory, MemorySystem, ValidationError
from agent_memory.cli._main import main
from agent_memory.store._history import HistoryLog, event
from agent_memory.testing import HashEmbedder


def test_every_change_is_recorded_in_order(tmp_path: Path) -> None:
    with MemorySystem(embedder=HashEmbedder(), path=str(tmp_path / "db")) as memory:
        m = memory.store_memory("Alice likes coffee", user_id="alice")
        memory.store_memory("Alice likes coffee", user_id="alice")  # a duplicate changes nothing
        memory.update_memory(m.id, user_id="alice", text="Alice likes tea", actor="agent:planner")
        memory.update_memory(m.id, user_id="alice", metadata={"source": "chat"}, actor="system")
        memory.delete_memory(m.id, user_id="alice")
        events = memory.history(m.id, user_id="alice")
        assert memory.history(m.id, user_id="bob") == []  # another user's id shows nothing
    assert [(e.action, e.old_text, e.new_text, e.actor) for e in events] == [
        ("create", None, "Alice likes coffee", "user"),
        ("update", "Alice likes coffee", "Alice likes tea", "agent:planner"),
        ("metadata", "Alice likes tea", "Alice likes tea", "system"),  # only the metadata changed
        ("delete", "Alice likes tea", None, "user"),
    ]
    assert [e.at for e in events] == sorted(e.at for e in events)
    with MemorySystem(embedder=HashEmbedder(), path=str(tmp_path / "db")) as reopened:  # it is on disk
        assert len(reopened.history(m.id, user_id="alice")) == 4
    db = sqlite3.connect(tmp_path / "db" / "history.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_agent_scope_is_the_default_actor_and_bad_actors_are_refused() -> None:
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory:
        m = memory.store_memory("Prefers aisle seats", user_id="alice", agent_id="travel")
        assert memory.history(m.id, user_id="alice")[0].actor == "agent:travel"
        for bad in ("admin", "agent:", "", "user via key:", "user via key:two words", "admin via key:ops"):
            with pytest.raises(ValidationError, match="actor"):
                memory.update_memory(m.id, user_id="alice", text="x", actor=bad)
        assert memory.get_memory(m.id, user_id="alice").text == "Prefers aisle seats"  # type: ignore[union-attr]
        assert not memory.delete_memory("0" * 32, user_id="alice")
        assert len(memory.history(m.id, user_id="alice")) == 1
        memory.update_memory(m.id, user_id="alice", text="Prefers window seats", actor="agent:travel via key:ci-bot")
        assert memory.history(m.id, user_id="alice")[-1].actor == "agent:travel via key:ci-bot"


def test_delete_all_records_each_deletion_or_purges_the_history() -> None:
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory:
        kept = memory.store_memories(["a fact", "another fact"], user_id="alice")
        assert memory.delete_all_memories(user_id="alice", actor="system") == 2
        assert [e.action for e in memory.history(kept[0].id, user_id="alice")] == ["create", "delete"]
        forgotten = memory.store_memory("to be forgotten", user_id="bob")
        other = memory.store_memory("stays", user_id="carol")
        assert memory.delete_all_memories(user_id="bob", purge_history=True) == 1
        assert memory.history(forgotten.id, user_id="bob") == []
        assert len(memory.history(other.id, user_id="carol")) == 1


def test_threads_writing_at_once_lose_no_event(tmp_path: Path) -> None:
    with MemorySystem(embedder=HashEmbedder(), path=str(tmp_path / "db")) as memory:

        def work(n: int) -> None:
            for i in range(20):
                m = memory.store_memory(f"fact {n}-{i}", user_id=f"user{n}")
                memory.update_memory(m.id, user_id=f"user{n}", text=f"fact {n}-{i} (edited)")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for n in range(4):
            for m in memory.list_memories(user_id=f"user{n}"):
                assert [e.action for e in memory.history(m.id, user_id=f"user{n}")] == ["create", "update"]


def test_cli_history_and_forget_with_purge(tmp_path: Path, capsys: pytest.CaptureFixture[str], minilm: str) -> None:
    options = ["--model", minilm, "--path", str(tmp_path / "db")]
    assert main(["add", "Alice likes coffee", "--user", "alice", "--json", *options]) == 0
    memory_id = capsys.readouterr().out.split('"id": "')[1].split('"')[0]
    assert main(["update", memory_id, "--user", "alice", "--meta", "source=chat", *options]) == 0
    capsys.readouterr()
    assert main(["history", memory_id, "--user", "alice", *options]) == 0
    shown = capsys.readouterr().out
    assert "create" in shown and 'metadata {} -> {"source": "chat"}' in shown
    assert main(["forget", "--user", "alice", "--yes", "--purge-history", *options]) == 0
    capsys.readouterr()
    assert main(["history", memory_id, "--user", "alice", *options]) == 0
    assert "no history" in capsys.readouterr().out


def test_collections_sharing_a_history_file_keep_to_their_own(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    with (
        MemorySystem(embedder=HashEmbedder(), path=path, collection="work") as work,
        MemorySystem(embedder=HashEmbedder(), path=path, collection="home") as home,
    ):
        at_work = work.store_memory("Alice leads the platform team", user_id="alice")
        at_home = home.store_memory("Alice has a dog", user_id="alice")
        home.delete_all_memories(user_id="alice", purge_history=True)
        assert home.history(at_home.id, user_id="alice") == []
        assert [e.action for e in work.history(at_work.id, user_id="alice")] == ["create"]
        assert work.history(at_home.id, user_id="alice") == []


def test_a_history_file_from_before_namespaces_is_upgraded_and_kept(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "history.sqlite3")
    old.executescript(
        "CREATE TABLE history (seq INTEGER PRIMARY KEY AUTOINCREMENT, memory_id TEXT NOT NULL, user_id TEXT NOT NULL,"
        " action TEXT NOT NULL, old_text TEXT, new_text TEXT, actor TEXT NOT NULL, at TEXT NOT NULL);"
        "INSERT INTO history (memory_id, user_id, action, old_text, new_text, actor, at)"
        " VALUES ('m1', 'alice', 'create', NULL, 'old fact', 'user', '2026-01-01T00:00:00+00:00');"
    )
    old.commit()
    old.close()
    log = HistoryLog(tmp_path / "history.sqlite3", namespace="db|memories")
    before = Memory("m1", "old fact", "alice", metadata={"source": "chat"})
    log.record([event("update", before, replace(before, text="new fact"), "system")])
    assert [(e.action, e.new_text, e.new_metadata) for e in log.for_memory("m1", "alice")] == [
        ("create", "old fact", None),  # written before metadata was kept
        ("update", "new fact", {"source": "chat"}),
    ]
    assert log.purge_user("alice") == 2
    log.close()


def test_a_metadata_only_change_is_recorded_as_such_and_no_change_is_not_recorded(hashed: MemorySystem) -> None:
    with hashed as memory:  # the SQLite history (embedded) and the one beside a Chroma server's collection
        m = memory.store_memory("Alice likes tea", user_id="alice", metadata={"source": "chat"})
        same = memory.update_memory(m.id, user_id="alice", text="Alice likes tea", metadata={"source": "chat"})
        assert same == m  # nothing changed: nothing written, nothing recorded
        memory.update_memory(m.id, user_id="alice", metadata={"source": "email"})
        memory.update_memory(m.id, user_id="alice", text="Alice likes green tea", metadata={"source": "chat"})
        events = memory.history(m.id, user_id="alice")
        assert [(e.action, e.old_text, e.new_text) for e in events] == [
            ("create", None, "Alice likes tea"),
            ("metadata", "Alice likes tea", "Alice likes tea"),
            ("update", "Alice likes tea", "Alice likes green tea"),
        ]
        assert memory.get_memory(m.id, user_id="alice").metadata == {"source": "chat"}  # type: ignore[union-attr]
        assert [(e.old_metadata, e.new_metadata) for e in events] == [
            (None, {"source": "chat"}),
            ({"source": "chat"}, {"source": "email"}),
            ({"source": "email"}, {"source": "chat"}),
        ]
        assert events[1].to_dict()["new_metadata"] == {"source": "email"}
        memory.delete_memory(m.id, user_id="alice")
        deleted = memory.history(m.id, user_id="alice")[-1]
        assert (deleted.action, deleted.old_metadata, deleted.new_metadata) == ("delete", {"source": "chat"}, None)
