"""Checks on caller input, all raised before anything is written."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from agent_memory._errors import InvalidFilterError, InvalidMetadataError, InvalidTypeError, ValidationError

__all__ = [
    "KEY_LABEL",
    "MAX_NAME_CHARS",
    "MAX_TEXT_CHARS",
    "MEMORY_KINDS",
    "RESERVED_KEYS",
    "VIA_KEY",
    "MetadataValue",
    "check_actor",
    "check_choice",
    "check_filters",
    "check_id",
    "check_key_label",
    "check_kind",
    "check_metadata",
    "check_metadatas",
    "check_min_score",
    "check_non_negative",
    "check_optional_scope",
    "check_positive",
    "check_text",
    "check_texts",
    "check_user_id",
]

MetadataValue = str | int | float | bool
"""What a metadata value can be: Chroma stores flat scalars only."""

MAX_TEXT_CHARS = 100_000
"""Longest memory text or query accepted (a memory is a short fact; the model reads 8,192 tokens)."""
MAX_NAME_CHARS = 256
"""Longest id, user/agent/session id, or metadata key accepted."""

# C0 control characters other than tab and newlines, DEL, and lone UTF-16 surrogates (not encodable as UTF-8).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

RESERVED_KEYS = frozenset(
    {
        "user_id",
        "agent_id",
        "session_id",
        "created_at",
        "updated_at",
        "text_sha",
        "created_ms",
        "valid_from",
        "valid_until",
        "valid_from_ms",
        "valid_until_ms",
        "supersedes",
        "memory_kind",
    }
)
MEMORY_KINDS = ("event", "state")
"""What a memory can be: an ``event`` happened at its time ("bought a kettle", "visited Kyoto"); a
``state`` holds from its time until something ends it ("lives in Porto", "likes green tea")."""
"""Metadata keys the library stores itself; callers may filter on them but not set them."""


def _check_characters(value: str, name: str) -> str:
    bad = _UNSAFE.search(value)
    if bad:
        raise ValidationError(
            f"{name} contains {bad.group()!r} at position {bad.start()}: control characters and lone "
            f"surrogates (invalid UTF-8) are not stored"
        )
    return value


def check_text(text: object, name: str = "text") -> str:
    """A memory text or query: a ``str`` with something besides whitespace, at most 100,000
    characters, without control characters or lone surrogates."""
    if not isinstance(text, str):
        raise InvalidTypeError(f"{name} must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValidationError(f"{name} must not be empty or whitespace")
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError(
            f"{name} has {len(text):,} characters, more than {MAX_TEXT_CHARS:,}: store a summary or split it"
        )
    return _check_characters(text, name)


def check_texts(texts: object) -> list[str]:
    """A sequence of memory texts (a lone ``str`` is refused: it would be split into letters)."""
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise InvalidTypeError(f"texts must be a list of str, got {type(texts).__name__}")
    return [check_text(t, f"texts[{i}]") for i, t in enumerate(texts)]


def _check_scope_value(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValidationError(f"{name} must not be empty")
    if len(value) > MAX_NAME_CHARS:
        raise ValidationError(f"{name} has {len(value)} characters, more than {MAX_NAME_CHARS}")
    return _check_characters(value, name)


def check_user_id(user_id: object) -> str:
    """``user_id`` is required on every call: a non-empty ``str``."""
    return _check_scope_value(user_id, "user_id")


def check_optional_scope(value: object, name: str) -> str | None:
    """``agent_id`` / ``session_id``: ``None`` or a non-empty ``str``."""
    return None if value is None else _check_scope_value(value, name)


def check_id(memory_id: object) -> str:
    """A memory id: a non-empty ``str``."""
    return _check_scope_value(memory_id, "memory_id")


def check_positive(value: object, name: str) -> int:
    """An int of at least 1 (``top_k``, ``limit``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValidationError(f"{name} must be at least 1, got {value}")
    return value


def check_non_negative(value: object, name: str) -> int:
    """An int of at least 0 (``offset``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValidationError(f"{name} must be at least 0, got {value}")
    return value


def check_kind(value: object) -> str | None:
    """A memory's ``kind``: one of :data:`MEMORY_KINDS`, or ``None`` (unknown: search guesses it)."""
    return None if value is None else check_choice(value, MEMORY_KINDS, "kind")


def check_choice(value: object, choices: Sequence[str], name: str) -> str:
    """One of ``choices`` (a search ``mode``, say)."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{name} must be a str, got {type(value).__name__}")
    if value not in choices:
        raise ValidationError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


KEY_LABEL = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""What an API key's label may be: it ends the actor of the changes made with the key."""
VIA_KEY = " via key:"


def check_actor(actor: object, agent_id: str | None = None) -> str:
    """Who made a change, for the history: ``user``, ``system`` or ``agent:<id>``, optionally
    followed by `` via key:<label>`` (the API key it came through: the service adds it).

    ``None`` means ``agent:<agent_id>`` when the change is made in an agent's scope, else ``user``.
    """
    if actor is None:
        return f"agent:{agent_id}" if agent_id else "user"
    if not isinstance(actor, str):
        raise InvalidTypeError(f"actor must be a str, got {type(actor).__name__}")
    who, via, label = actor.rpartition(VIA_KEY) if VIA_KEY in actor else (actor, "", "")
    if (via and not KEY_LABEL.fullmatch(label)) or (
        who not in ("user", "system") and not (who.startswith("agent:") and len(who) > len("agent:"))
    ):
        raise ValidationError(
            f"actor must be 'user', 'system' or 'agent:<id>' (then ' via key:<label>', optionally), got {actor!r}"
        )
    check_text(actor, "actor")
    return actor


def check_key_label(label: object) -> str:
    """An API key's label: 1 to 64 letters, digits, ``.``, ``_`` or ``-``."""
    if not isinstance(label, str):
        raise InvalidTypeError(f"label must be a str, got {type(label).__name__}")
    if not KEY_LABEL.fullmatch(label):
        raise ValidationError(f"a key's label is 1 to 64 letters, digits, '.', '_' or '-', got {label!r}")
    return label


def check_min_score(min_score: object) -> float | None:
    """``None``, or a finite number to drop weaker search hits."""
    if min_score is None:
        return None
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)):
        raise InvalidTypeError(f"min_score must be a number, got {type(min_score).__name__}")
    if not math.isfinite(min_score):
        raise ValidationError(f"min_score must be finite, got {min_score}")
    return float(min_score)


def _check_metadata_value(key: str, value: object) -> MetadataValue:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidMetadataError(f"metadata[{key!r}] must be a finite number, got {value}")
    if isinstance(value, str):
        return _check_characters(value, f"metadata[{key!r}]")
    if isinstance(value, (int, float, bool)):
        return value
    kind = "None" if value is None else type(value).__name__
    raise InvalidMetadataError(f"metadata[{key!r}] must be a str, int, float or bool, got {kind}")


def check_metadata(metadata: object) -> dict[str, MetadataValue]:
    """Flat scalar metadata with caller-owned keys; ``None`` is an empty dict."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidMetadataError(f"metadata must be a dict, got {type(metadata).__name__}")
    checked: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or key.startswith(("$", "#")):
            raise InvalidMetadataError(f"metadata keys must be non-empty str not starting with $ or #, got {key!r}")
        if len(key) > MAX_NAME_CHARS:
            raise InvalidMetadataError(f"metadata key {key[:40]!r}... is longer than {MAX_NAME_CHARS} characters")
        _check_characters(key, "a metadata key")
        if key in RESERVED_KEYS:
            raise InvalidMetadataError(f"metadata key {key!r} is reserved; pass scopes as arguments")
        checked[key] = _check_metadata_value(key, value)
    return checked


def check_metadatas(metadatas: object, count: int, metadata: object = None) -> list[dict[str, MetadataValue]]:
    """One metadata dict per text (``None`` for none at all, or for one text's); or ``metadata``,
    one dict for every text."""
    if metadata is not None:
        if metadatas is not None:
            raise ValidationError("give metadata (one for every text) or metadatas (one per text), not both")
        return [check_metadata(metadata) for _ in range(count)]
    if metadatas is None:
        return [{} for _ in range(count)]
    if isinstance(metadatas, (str, bytes, Mapping)) or not isinstance(metadatas, Sequence):
        raise InvalidTypeError(f"metadatas must be a list of dicts, got {type(metadatas).__name__}")
    if len(metadatas) != count:
        raise ValidationError(f"got {len(metadatas)} metadatas for {count} texts")
    return [check_metadata(m) for m in metadatas]


def check_filters(filters: object) -> dict[str, object] | None:
    """A Chroma ``where`` expression, checked with Chroma's own validator."""
    if filters is None:
        return None
    if not isinstance(filters, Mapping) or not filters:
        raise InvalidFilterError(f"filters must be a non-empty dict in Chroma's where syntax, got {filters!r}")
    from chromadb.api.types import validate_where

    try:
        validate_where(dict(filters))
    except ValueError as exc:
        raise InvalidFilterError(f"invalid filters {dict(filters)!r}: {exc}") from None
    from agent_memory._times import refuse_time_keys

    refuse_time_keys(filters)
    return dict(filters)
