"""Where a :class:`~agent_memory.MemorySystem` keeps its memories and history, and whom it shares a lock with."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from agent_memory import _config
from agent_memory._errors import ConfigurationError
from agent_memory.store._chroma_store import ChromaStore
from agent_memory.store._history import History, HistoryLog

__all__ = ["history_of", "open_store", "shared_key"]


def open_store(
    path: str | None,
    chroma_url: str | None,
    collection: str,
    headers: Mapping[str, str] | None,
    tenant: str | None,
    database: str | None,
) -> tuple[ChromaStore, str]:
    """An embedded Chroma at ``path``, else a Chroma server at ``chroma_url`` (explicit or from the
    environment), else an embedded Chroma in the user data directory; and where that is."""
    url = None if path is not None else chroma_url or _config.default_chroma_url()
    if path is not None and chroma_url is not None:
        raise ConfigurationError("pass either path= or chroma_url=, not both")
    if url is None:
        where = str(path or _config.default_path())
        return ChromaStore._open(where, collection), where
    return ChromaStore._open_server(url, collection, headers=headers, tenant=tenant, database=database), url


def shared_key(store: ChromaStore, path: str, collection: str, custom_store: bool) -> tuple[object, str]:
    """What systems of this process share a write lock and a hybrid index by, and the default
    history file. A private store (``":memory:"``, custom) shares with nobody and keeps its
    history in memory; a server's collection is keyed by URL, its history in the user data
    directory; a directory, however it is spelled, holds its own history."""
    if custom_store or path == ":memory:":
        return id(store), ":memory:"
    if path.startswith(("http://", "https://")):
        return (path, collection), str(Path(_config.default_path()) / "history.sqlite3")
    directory = Path(path).resolve()
    return (str(directory), collection), str(directory / "history.sqlite3")


def history_of(store: ChromaStore, history_path: str | None, default_history: str, namespace: str) -> History:
    """The SQLite file named, else the history beside a Chroma server's collection, else the default file."""
    beside = store._history() if history_path is None else None
    if beside is not None:
        return beside
    return HistoryLog(history_path or default_history, namespace=namespace)
