"""Moving memories between stores as JSON lines: ids, scopes, metadata, timestamps, and vectors if wanted.

An exported line is :meth:`Memory.to_dict` (plus ``vector``, ``model`` and
``dimension`` with vectors). Importing a line with an ``id`` writes exactly that
memory: the same file imported twice changes nothing the second time, and a
memory edited since is brought back to the file's version (recorded as an
update in the history). A vector in the file is used only when it was made by
the same model at the same size as this store's; otherwise the text is
embedded again. Every line is checked before anything is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import astuple, dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agent_memory._batches import chunks
from agent_memory._errors import StoreError, ValidationError
from agent_memory._ids import key_id, now_ms
from agent_memory._types import Memory, Scope
from agent_memory._validation import (
    DEFAULT_LIMITS,
    Limits,
    check_id,
    check_key,
    check_kind,
    check_metadata,
    check_optional_scope,
    check_text,
    check_user_id,
)
from agent_memory._writer import Upserted, Writer
from agent_memory.embeddings import Fingerprint
from agent_memory.store._chroma_store import ChromaStore
from agent_memory.store._validity import check_validity

__all__ = ["ImportReport", "Record", "export_lines", "import_lines", "parse_record"]


@dataclass(frozen=True)
class Record:
    """One checked import line: the memory, and its vector with the model that made it (if any)."""

    memory: Memory
    vector: tuple[float, ...] | None = None
    model: str | None = None
    timed: bool = True
    """Whether the line gave ``created_at``; if not, an existing memory keeps its times."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did: memories created, changed back to the file's version, already equal,
    and left out because their scope holds the same text under another id."""

    created: int
    updated: int
    unchanged: int
    duplicates: int = 0


def _timestamp(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{name} {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ValidationError(f"{name} {value!r} has no time zone")
    return parsed


def _vector(record: Mapping[str, Any]) -> tuple[float, ...] | None:
    vector = record.get("vector")
    if vector is None:
        return None
    if not isinstance(vector, list) or not vector or not all(isinstance(x, (int, float)) for x in vector):
        raise ValidationError("vector must be a non-empty list of numbers")
    if not isinstance(record.get("model"), str):
        raise ValidationError("a vector needs the model that made it ('model')")
    return tuple(float(x) for x in vector)


def parse_record(record: object, default_user: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Record:
    """One import line, checked; a :class:`ValidationError` says what is wrong with it."""
    if not isinstance(record, dict):
        raise ValidationError("expected a JSON object")
    user = default_user if default_user is not None else record.get("user_id")
    if user is None:
        raise ValidationError("no user_id (add one, or pass --user)")
    created = _timestamp(record.get("created_at"), "created_at") or now_ms()
    memory = Memory(
        id=check_id(record["id"]) if record.get("id") is not None else "",
        text=check_text(record.get("text"), limits=limits),
        user_id=check_user_id(user),
        agent_id=check_optional_scope(record.get("agent_id"), "agent_id"),
        session_id=check_optional_scope(record.get("session_id"), "session_id"),
        metadata=check_metadata(record.get("metadata"), limits),
        created_at=created,
        updated_at=_timestamp(record.get("updated_at"), "updated_at") or created,
        valid_from=_timestamp(record.get("valid_from"), "valid_from"),
        valid_until=_timestamp(record.get("valid_until"), "valid_until"),
        supersedes=check_optional_scope(record.get("supersedes"), "supersedes"),
        key=None if record.get("key") is None else check_key(record["key"]),
        kind=check_kind(record.get("kind")),
    )
    check_validity(memory.valid_from, memory.valid_until)
    if memory.key is not None:  # a keyed memory's id is its scope's and key's, for whichever user it goes to
        memory = replace(memory, id=key_id(memory.user_id, memory.agent_id, memory.session_id, memory.key))
    vector = _vector(record)
    model = str(record["model"]) if vector is not None else None
    return Record(memory, vector, model, timed=record.get("created_at") is not None)


def export_lines(store: ChromaStore, user_id: str, *, vectors: bool = False) -> Iterator[dict[str, object]]:
    """The user's memories as export lines, a page at a time (:meth:`MemorySystem.export_memories`)."""
    fingerprint = store.fingerprint
    model = fingerprint.model if vectors and fingerprint else None
    for page in store._pages(Scope.of(user_id)):
        yield from _lines(store, page, model)


def _lines(store: ChromaStore, page: list[Memory], model: str | None) -> Iterator[dict[str, object]]:
    if model is None:
        yield from (m.to_dict() for m in page)
        return
    stored = store.vectors([m.id for m in page], Scope.of(page[0].user_id))
    if len(stored) != len(page):
        raise StoreError("memories were deleted while they were exported; export again")
    for m, vector in zip(page, stored, strict=True):
        yield {**m.to_dict(), "model": model, "dimension": len(vector), "vector": [float(x) for x in vector]}


def import_lines(
    writer: Writer, fingerprint: Fingerprint, records: Sequence[Record], *, actor: str, progress: bool | None
) -> ImportReport:
    """Write records that carry ids, as they are (:meth:`MemorySystem.import_memories`)."""
    repeated = sorted(i for i, n in Counter(r.memory.id for r in records).items() if n > 1)
    if repeated:
        raise ValidationError(f"ids appear more than once: {repeated[:5]!r}")
    owners = writer.store._owners([r.memory.id for r in records])
    foreign = sorted({r.memory.id for r in records if owners.get(r.memory.id, r.memory.user_id) != r.memory.user_id})
    if foreign:
        raise ValidationError(f"ids already used by another user in this collection: {foreign[:5]!r}")
    writer.store._check_fingerprint(fingerprint)
    by_id = {r.memory.id: r for r in records}
    totals = Upserted()
    for chunk in chunks(len(records), progress, "importing memories"):
        done = writer.upsert(
            [records[i].memory for i in chunk],
            lambda changed: _vectors(writer, fingerprint, [by_id[m.id] for m in changed]),
            actor,
            lambda new, old: _keeping_times(by_id[new.id], old).memory,
        )
        totals = Upserted(*(a + b for a, b in zip(astuple(totals), astuple(done), strict=True)))
    return ImportReport(totals.created, totals.updated, totals.unchanged, totals.duplicates)


def _keeping_times(record: Record, existing: Memory | None) -> Record:
    """A line without times takes the existing memory's, so importing it again changes nothing."""
    if record.timed or existing is None:
        return record
    kept = replace(record.memory, created_at=existing.created_at, updated_at=existing.updated_at)
    return replace(record, memory=kept)


def _vectors(writer: Writer, fingerprint: Fingerprint, records: list[Record]) -> NDArray[np.float32]:
    """The file's vectors where this store's model made them at this size; new ones for the rest."""
    reusable = [r.model == fingerprint.model and len(r.vector or ()) == fingerprint.dimension for r in records]
    out = np.empty((len(records), fingerprint.dimension), dtype=np.float32)
    fresh = [i for i, ok in enumerate(reusable) if not ok]
    if fresh:
        out[fresh] = writer.embed([records[i].memory.text for i in fresh])
    for i, ok in enumerate(reusable):
        if ok:
            vector = np.asarray(records[i].vector, dtype=np.float32)
            out[i] = vector / max(float(np.linalg.norm(vector)), np.finfo(np.float32).tiny)
    return out
