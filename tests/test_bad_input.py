"""Every kind of bad input gets a typed error before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agent_memory import (
    InvalidFilterError,
    InvalidMetadataError,
    InvalidTypeError,
    MemorySystem,
    UnknownTaskError,
    ValidationError,
)

Call = Callable[[MemorySystem], Any]

BAD_CALLS: dict[str, tuple[Call, type[Exception]]] = {
    "empty text": (lambda m: m.store_memory("", user_id="alice"), ValidationError),
    "whitespace text": (lambda m: m.store_memory(" \n\t ", user_id="alice"), ValidationError),
    "non-string text": (lambda m: m.store_memory(42, user_id="alice"), InvalidTypeError),
    "bytes text": (lambda m: m.store_memory(b"coffee", user_id="alice"), InvalidTypeError),
    "None text": (lambda m: m.store_memory(None, user_id="alice"), InvalidTypeError),
    "a str as texts": (lambda m: m.store_memories("coffee", user_id="alice"), InvalidTypeError),
    "one bad text in a batch": (lambda m: m.store_memories(["good text", ""], user_id="alice"), ValidationError),
    "empty user_id": (lambda m: m.store_memory("coffee", user_id=""), ValidationError),
    "blank user_id": (lambda m: m.store_memory("coffee", user_id="  "), ValidationError),
    "non-string user_id": (lambda m: m.store_memory("coffee", user_id=7), InvalidTypeError),
    "None user_id": (lambda m: m.store_memory("coffee", user_id=None), InvalidTypeError),
    "empty agent_id": (lambda m: m.store_memory("coffee", user_id="alice", agent_id=""), ValidationError),
    "non-string session_id": (lambda m: m.store_memory("coffee", user_id="alice", session_id=3), InvalidTypeError),
    "nested metadata": (
        lambda m: m.store_memory("coffee", user_id="alice", metadata={"a": {"b": 1}}),
        InvalidMetadataError,
    ),
    "list metadata": (
        lambda m: m.store_memory("coffee", user_id="alice", metadata={"a": [1, 2]}),
        InvalidMetadataError,
    ),
    "None metadata value": (
        lambda m: m.store_memory("coffee", user_id="alice", metadata={"a": None}),
        InvalidMetadataError,
    ),
    "NaN metadata value": (
        lambda m: m.store_memory("coffee", user_id="alice", metadata={"a": float("nan")}),
        InvalidMetadataError,
    ),
    "non-string metadata key": (
        lambda m: m.store_memory("coffee", user_id="alice", metadata={1: "x"}),
        InvalidMetadataError,
    ),
    "reserved metadata key": (
        lambda m: m.store_memory("coffee", user_id="alice", metadata={"user_id": "bob"}),
        InvalidMetadataError,
    ),
    "operator metadata key": (
        lambda m: m.store_memory("coffee", user_id="alice", metadata={"$and": "x"}),
        InvalidMetadataError,
    ),
    "metadata not a dict": (lambda m: m.store_memory("coffee", user_id="alice", metadata=["a"]), InvalidMetadataError),
    "metadatas of wrong length": (
        lambda m: m.store_memories(["a b", "c d"], user_id="alice", metadatas=[{}]),
        ValidationError,
    ),
    "metadata and metadatas both": (
        lambda m: m.store_memories(["a b", "c d"], user_id="alice", metadata={}, metadatas=[{}, {}]),
        ValidationError,
    ),
    "one bad metadata for every text": (
        lambda m: m.store_memories(["a b", "c d"], user_id="alice", metadata={"x": None}),
        InvalidMetadataError,
    ),
    "one bad metadata in a batch": (
        lambda m: m.store_memories(["a b", "c d"], user_id="alice", metadatas=[{}, {"x": None}]),
        InvalidMetadataError,
    ),
    "top_k zero": (lambda m: m.search_memory("coffee", user_id="alice", top_k=0), ValidationError),
    "top_k negative": (lambda m: m.search_memory("coffee", user_id="alice", top_k=-3), ValidationError),
    "top_k float": (lambda m: m.search_memory("coffee", user_id="alice", top_k=2.5), InvalidTypeError),
    "empty query": (lambda m: m.search_memory("  ", user_id="alice"), ValidationError),
    "unknown task": (lambda m: m.search_memory("coffee", user_id="alice", task="memroy"), UnknownTaskError),
    "unknown filter operator": (
        lambda m: m.search_memory("coffee", user_id="alice", filters={"a": {"$foo": 1}}),
        InvalidFilterError,
    ),
    "filter not a dict": (lambda m: m.list_memories(user_id="alice", filters="source=chat"), InvalidFilterError),
    "NaN min_score": (lambda m: m.search_memory("coffee", user_id="alice", min_score=float("nan")), ValidationError),
    "text min_score": (lambda m: m.search_memory("coffee", user_id="alice", min_score="high"), InvalidTypeError),
    "update with empty text": (lambda m: m.update_memory(_first_id(m), user_id="alice", text=""), ValidationError),
    "update with bad metadata": (
        lambda m: m.update_memory(_first_id(m), user_id="alice", metadata={"a": {"b": 2}}),
        InvalidMetadataError,
    ),
    "update without user_id": (lambda m: m.update_memory(_first_id(m), user_id="", text="new text"), ValidationError),
    "empty memory id": (lambda m: m.delete_memory("", user_id="alice"), ValidationError),
    "delete_all without user_id": (lambda m: m.delete_all_memories(user_id=""), ValidationError),
    "list with zero limit": (lambda m: m.list_memories(user_id="alice", limit=0), ValidationError),
    "list with negative offset": (lambda m: m.list_memories(user_id="alice", offset=-1), ValidationError),
    "count with empty user": (lambda m: m.count(user_id=""), ValidationError),
}


def _first_id(memory: MemorySystem) -> str:
    return memory.list_memories(user_id="alice")[0].id


def _snapshot(memory: MemorySystem) -> list[object]:
    return sorted(
        (m.id, m.text, m.updated_at, tuple(sorted(m.metadata.items()))) for m in memory.list_memories(user_id="alice")
    )  # type: ignore[misc]


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_input_raises_a_typed_error_and_writes_nothing(hashed: MemorySystem, case: str) -> None:
    hashed.store_memory("Alice likes coffee", user_id="alice", metadata={"source": "chat"})
    before = _snapshot(hashed)
    call, error = BAD_CALLS[case]
    with pytest.raises(error):
        call(hashed)
    assert _snapshot(hashed) == before
    assert hashed.count() == 1


def test_validation_errors_are_value_errors(hashed: MemorySystem) -> None:
    with pytest.raises(ValueError):
        hashed.store_memory("", user_id="alice")
    with pytest.raises(TypeError):
        hashed.store_memory(1, user_id="alice")  # type: ignore[arg-type]


def test_scope_arguments_are_keyword_only(hashed: MemorySystem) -> None:
    with pytest.raises(TypeError):
        hashed.store_memory("coffee", "alice")  # type: ignore[misc]
    with pytest.raises(TypeError):
        hashed.search_memory("coffee", "alice")  # type: ignore[misc]
