"""Memory files are their owner's alone. Found by a hostile client: ``chroma.sqlite3`` and
``history.sqlite3`` were created 0644 in a 0755 directory, readable by every local user, while the
docs gave those users as the reason keys are required on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_memory import MemorySystem
from agent_memory.testing import HashEmbedder


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022), under which files are created readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_store_is_private_whatever_the_umask(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "data" / "memdb"
    with MemorySystem(embedder=HashEmbedder(), path=str(path)) as memory:
        memory.store_memory("Alice likes tea", user_id="alice")
        memory.history(memory.list_memories(user_id="alice")[0].id, user_id="alice")
    assert _mode(path) == 0o700
    assert _mode(path / "chroma.sqlite3") == 0o600 and _mode(path / "history.sqlite3") == 0o600
    for extra in path.glob("history.sqlite3-*"):  # SQLite's -wal and -shm follow the file's own mode
        assert _mode(extra) & 0o077 == 0
    assert os.umask(0o022) == 0o022  # the process's umask is given back


def test_an_existing_store_open_to_others_is_warned_about_once(
    tmp_path: Path, open_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "memdb"
    with MemorySystem(embedder=HashEmbedder(), path=str(path)) as memory:
        memory.store_memory("Alice likes tea", user_id="alice")
    path.chmod(0o755)
    (path / "chroma.sqlite3").chmod(0o644)
    caplog.set_level(logging.WARNING, logger="agent_memory")
    for _ in range(2):
        with MemorySystem(embedder=HashEmbedder(), path=str(path)) as memory:
            assert memory.count() == 1  # used as it is
    warnings = [r for r in caplog.records if "other local users" in r.getMessage()]
    assert len(warnings) == 1 and "chmod -R go-rwx" in warnings[0].getMessage()
    assert "chroma.sqlite3 (644)" in warnings[0].getMessage()


def test_a_private_store_is_not_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "memdb"
    caplog.set_level(logging.WARNING, logger="agent_memory")
    for _ in range(2):
        with MemorySystem(embedder=HashEmbedder(), path=str(path)) as memory:
            memory.store_memory("Alice likes tea", user_id="alice")
    assert not [r for r in caplog.records if "other local users" in r.getMessage()]
