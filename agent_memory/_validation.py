"""Checks on caller input, all raised before anything is written, and the limits they enforce."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

from agent_memory import _config
from agent_memory._errors import (
    ConfigurationError,
    InvalidFilterError,
    InvalidMetadataError,
    InvalidTypeError,
    LimitExceededError,
    ValidationError,
)
from agent_memory._times import check_time

__all__ = [
    "DEFAULT_LIMITS",
    "KEY_LABEL",
    "MAX_NAME_CHARS",
    "MAX_TEXT_CHARS",
    "MEMORY_KINDS",
    "RESERVED_KEYS",
    "RESERVED_PREFIXES",
    "VIA_KEY",
    "Limits",
    "MetadataValue",
    "check_actor",
    "check_at_most",
    "check_choice",
    "check_filters",
    "check_id",
    "check_ids",
    "check_json",
    "check_key",
    "check_key_label",
    "check_keys",
    "check_kind",
    "check_metadata",
    "check_metadatas",
    "check_min_score",
    "check_non_negative",
    "check_optional_scope",
    "check_positive",
    "check_query",
    "check_text",
    "check_texts",
    "check_times",
    "check_user_id",
    "default_limits",
]

_log = logging.getLogger("agent_memory.validation")

MetadataValue = str | int | float | bool
"""What a metadata value can be: Chroma stores flat scalars only."""

MAX_TEXT_CHARS = 100_000
"""Longest memory text accepted by default (a memory is a short fact; the model reads 8,192 tokens)."""
MAX_NAME_CHARS = 256
"""Longest id, user/agent/session id, or metadata key accepted."""


@dataclass(frozen=True)
class Limits:
    """The most one call may ask of the store, the model and the parsers, in one place.

    Every surface (the Python API, HTTP, MCP, the CLI, the LangChain and LlamaIndex stores)
    checks its input against these before anything is written or sent to Chroma, and a call
    over one raises :class:`~agent_memory.LimitExceededError` naming it. The defaults are far
    above what an agent needs and far below what breaks a dependency: Chroma's metadata
    segment fails for good at about 5,500 keys on one record, a ``where`` of 1,000 ``$or``
    clauses is refused by SQLite and one of 10,000 crashes the process, 100 levels of
    ``$and`` are refused (docs: Errors, "Limits"; ``tests/test_limits.py`` shows the headroom).

    Set them with ``MemorySystem(limits=Limits(max_texts=1_000))``, or for every process with
    ``AGENT_MEMORY_LIMITS="max_texts=1000,max_top_k=100"``.
    """

    max_texts: int = 100_000
    """Texts in one store call (``store_memories``; what one import call writes)."""
    max_text_chars: int = MAX_TEXT_CHARS
    """Characters in one memory text, or in one message of ``remember``."""
    max_query_chars: int = 16_000
    """Characters in one search query (and in a task instruction)."""
    max_messages: int = 1_000
    """Messages in one ``remember`` call."""
    max_metadata_keys: int = 64
    """Metadata keys of one memory."""
    max_metadata_bytes: int = 65_536
    """Size of one memory's metadata: its keys and values in UTF-8 (numbers count 8 bytes)."""
    max_filter_clauses: int = 100
    """Conditions in one ``filters`` expression, each value of an ``$in``/``$nin`` list counted."""
    max_filter_depth: int = 8
    """Nesting of ``$and``/``$or`` in one ``filters`` expression."""
    max_top_k: int = 1_000
    """Hits one search returns (``top_k``), and memories ``remember`` shows per fact."""
    max_limit: int = 10_000
    """Memories one list call returns (``limit``, ``page_size``)."""
    max_offset: int = 1_000_000
    """Memories one list call skips (``offset``)."""
    max_time_years: int = 1_000
    """How far before or after the current time a time given to a call may be, in years."""

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidTypeError(f"Limits.{item.name} must be a positive int, got {value!r}")

    @classmethod
    def parse(cls, text: str) -> Limits:
        """Limits from ``"max_texts=1000,max_top_k=100"`` (``AGENT_MEMORY_LIMITS``): the rest default."""
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            if name.strip() not in known or not value.strip().isdigit():
                raise ValidationError(f"{part!r}: limits are NAME=NUMBER, NAME one of {', '.join(sorted(known))}")
            values[name.strip()] = int(value)
        return cls(**values)

    def exceeded(self, name: str, what: str, value: int) -> LimitExceededError:
        """The error for ``what`` over the limit ``name``: ``what`` says what was asked, with ``{n}``
        where ``value`` goes ("metadata with {n} keys")."""
        asked = what.replace("{n}", f"{value:,}")
        limit = f"{name}={getattr(self, name):,}"
        _log.info("refused: %s: more than %s", asked, limit)
        return LimitExceededError(f"{asked}: more than {limit} (see agent_memory.Limits)", limit=name)

    def check(self, name: str, what: str, value: int) -> None:
        """Raise :meth:`exceeded` when ``value`` is over the limit ``name``."""
        if value > getattr(self, name):
            raise self.exceeded(name, what, value)


DEFAULT_LIMITS = Limits()
"""The default limits: the checks' defaults, for adapters."""


def check_json(text: str | None, name: str) -> Any:
    """A value given as JSON text (a listing's ``filters`` in a query string, the CLI's ``--filter``)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"{name} is not valid JSON: {exc}") from None


def default_limits() -> Limits:
    """``AGENT_MEMORY_LIMITS`` (``"max_texts=1000,max_top_k=100"``: the rest default), else the defaults:
    the limits of a :class:`~agent_memory.MemorySystem` made without ``limits=``."""
    setting = _config.limits_setting()
    if setting is None:
        return DEFAULT_LIMITS
    try:
        return Limits.parse(setting)
    except ValidationError as exc:
        raise ConfigurationError(f"AGENT_MEMORY_LIMITS={setting!r}: {exc}") from None


# C0 control characters other than tab and newlines, DEL, and lone UTF-16 surrogates (not encodable as UTF-8).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

RESERVED_PREFIXES = ("chroma:",)
"""Metadata key prefixes Chroma keeps for itself (``chroma:document`` holds the text for its full-text index)."""
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
        "memory_key",
        "memory_kind",
    }
)
"""Metadata keys the library stores itself; callers may filter on them but not set them."""
MEMORY_KINDS = ("event", "state")
"""What a memory can be (also ``agent_memory.options.KINDS``): an ``event`` happened at its time
("bought a kettle", "visited Kyoto"); a ``state`` holds from its time until something ends it
("lives in Porto", "likes green tea")."""


def _check_characters(value: str, name: str) -> str:
    bad = _UNSAFE.search(value)
    if bad:
        raise ValidationError(
            f"{name} contains {bad.group()!r} at position {bad.start()}: control characters and lone "
            f"surrogates (invalid UTF-8) are not stored"
        )
    return value


def check_text(text: object, name: str = "text", limits: Limits = DEFAULT_LIMITS, *, limit: str = "") -> str:
    """A memory text: a ``str`` with something besides whitespace, at most ``limits.max_text_chars``
    characters (or the limit named by ``limit``), without control characters or lone surrogates."""
    if not isinstance(text, str):
        raise InvalidTypeError(f"{name} must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValidationError(f"{name} must not be empty or whitespace")
    limits.check(limit or "max_text_chars", f"{name} has {{n}} characters", len(text))
    return _check_characters(text, name)


def check_query(query: object, limits: Limits = DEFAULT_LIMITS, name: str = "query") -> str:
    """A search query (or task instruction): a text of at most ``limits.max_query_chars`` characters."""
    return check_text(query, name, limits, limit="max_query_chars")


def check_texts(texts: object, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """A sequence of at most ``limits.max_texts`` memory texts (a lone ``str`` is refused: it would
    be split into letters)."""
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise InvalidTypeError(f"texts must be a list of str, got {type(texts).__name__}")
    limits.check("max_texts", "{n} texts", len(texts))
    return [check_text(t, f"texts[{i}]", limits) for i, t in enumerate(texts)]


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


def check_ids(ids: object, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Memory ids asked for in one call: at most ``limits.max_limit`` of them."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence):
        raise InvalidTypeError(f"ids must be a list of str, got {type(ids).__name__}")
    limits.check("max_limit", "{n} ids", len(ids))
    return [check_id(i) for i in ids]


def check_key(key: object) -> str:
    """A memory's key (:meth:`MemorySystem.put_memory`): a non-empty ``str`` of at most 256 characters."""
    return _check_scope_value(key, "key")


def check_keys(keys: object, limits: Limits = DEFAULT_LIMITS, *, texts: int | None = None) -> list[str]:
    """Memory keys asked for in one call: at most ``limits.max_limit`` of them; or, for a write of
    ``texts`` texts, one key per text, no key twice."""
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence):
        raise InvalidTypeError(f"keys must be a list of str, got {type(keys).__name__}")
    if texts is None:
        limits.check("max_limit", "{n} keys", len(keys))
    elif len(keys) != texts:
        raise ValidationError(f"got {len(keys)} keys for {texts} texts")
    checked = [check_key(k) for k in keys]
    repeated = [k for k, n in Counter(checked).items() if n > 1]
    if texts is not None and repeated:
        raise ValidationError(f"each key may be written once per call; repeated: {repeated[:5]!r}")
    return checked


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


_COUNTS = {
    **dict.fromkeys(("top_k", "k", "similarity_top_k", "candidates"), "max_top_k"),
    **dict.fromkeys(("limit", "page_size"), "max_limit"),
}


def check_at_most(value: object, name: str, limits: Limits = DEFAULT_LIMITS) -> int:
    """``top_k``, ``candidates``, ``limit`` or ``page_size`` (at least 1), or ``offset`` (at least 0),
    within its limit (``max_top_k``, ``max_limit``, ``max_offset``)."""
    if name == "offset":
        checked = check_non_negative(value, name)
        limits.check("max_offset", f"{name}={{n}}", checked)
        return checked
    checked = check_positive(value, name)
    limits.check(_COUNTS[name], f"{name}={{n}}", checked)
    return checked


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


def _check_metadata_key(key: object) -> str:
    if not isinstance(key, str) or not key or key.startswith(("$", "#")):
        raise InvalidMetadataError(f"metadata keys must be non-empty str not starting with $ or #, got {key!r}")
    if len(key) > MAX_NAME_CHARS:
        raise InvalidMetadataError(f"metadata key {key[:40]!r}... is longer than {MAX_NAME_CHARS} characters")
    _check_characters(key, "a metadata key")
    if key in RESERVED_KEYS:
        raise InvalidMetadataError(f"metadata key {key!r} is reserved; pass scopes as arguments")
    if key.startswith(RESERVED_PREFIXES):
        raise InvalidMetadataError(f"metadata key {key!r} is reserved: Chroma keeps keys starting with 'chroma:'")
    return key


def _size(value: MetadataValue) -> int:
    return len(value.encode("utf-8", "surrogatepass")) if isinstance(value, str) else 8


def check_metadata(metadata: object, limits: Limits = DEFAULT_LIMITS) -> dict[str, MetadataValue]:
    """Flat scalar metadata with caller-owned keys, within ``max_metadata_keys`` and
    ``max_metadata_bytes``; ``None`` is an empty dict."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidMetadataError(f"metadata must be a dict, got {type(metadata).__name__}")
    limits.check("max_metadata_keys", "metadata with {n} keys", len(metadata))
    checked: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        checked[_check_metadata_key(key)] = _check_metadata_value(key, value)
    size = sum(_size(key) + _size(value) for key, value in checked.items())
    limits.check("max_metadata_bytes", "metadata of {n} bytes", size)
    return checked


def check_metadatas(
    metadatas: object, count: int, metadata: object = None, limits: Limits = DEFAULT_LIMITS
) -> list[dict[str, MetadataValue]]:
    """One metadata dict per text (``None`` for none at all, or for one text's); or ``metadata``,
    one dict for every text."""
    if metadata is not None:
        if metadatas is not None:
            raise ValidationError("give metadata (one for every text) or metadatas (one per text), not both")
        checked = check_metadata(metadata, limits)
        return [dict(checked) for _ in range(count)]
    if metadatas is None:
        return [{} for _ in range(count)]
    if isinstance(metadatas, (str, bytes, Mapping)) or not isinstance(metadatas, Sequence):
        raise InvalidTypeError(f"metadatas must be a list of dicts, got {type(metadatas).__name__}")
    if len(metadatas) != count:
        raise ValidationError(f"got {len(metadatas)} metadatas for {count} texts")
    return [check_metadata(m, limits) for m in metadatas]


def _condition_count(value: object) -> int:
    """How many conditions one ``{key: value}`` of a ``where`` holds: a value, or an operator's,
    counts one; each value of an ``$in``/``$nin`` list counts one."""
    operands = value.values() if isinstance(value, Mapping) else [value]
    return sum(len(v) if isinstance(v, (list, tuple)) else 1 for v in operands)


def _check_filter_size(filters: Mapping[str, object], limits: Limits) -> None:
    """Count conditions and ``$and``/``$or`` levels without recursion, stopping at the first limit
    passed, so that no expression is too large for the check itself (or for Chroma after it)."""
    conditions, pending = 0, [(filters, 1)]
    while pending:
        where, level = pending.pop()
        limits.check("max_filter_depth", "filters nested {n} levels deep in $and/$or", level)
        if not isinstance(where, Mapping):
            continue  # Chroma's validator says what is wrong with it
        for key, value in where.items():
            if key in ("$and", "$or") and isinstance(value, (list, tuple)):
                limits.check("max_filter_clauses", f"{key} with {{n}} clauses", len(value))
                pending.extend((item, level + 1) for item in value)
            else:
                conditions += _condition_count(value)
                limits.check("max_filter_clauses", "filters with {n} conditions or more", conditions)


def check_filters(filters: object, limits: Limits = DEFAULT_LIMITS) -> dict[str, object] | None:
    """A Chroma ``where`` expression within ``max_filter_clauses`` and ``max_filter_depth``,
    checked with Chroma's own validator."""
    if filters is None:
        return None
    if not isinstance(filters, Mapping) or not filters:
        raise InvalidFilterError(f"filters must be a non-empty dict in Chroma's where syntax, got {filters!r}")
    _check_filter_size(filters, limits)
    from chromadb.api.types import validate_where

    try:
        validate_where(dict(filters))
    except ValueError as exc:
        raise InvalidFilterError(f"invalid filters {dict(filters)!r}: {exc}") from None
    _refuse_time_keys(filters)
    return dict(filters)


_YEAR_DAYS = 365.2425


def check_times(limits: Limits, tz: str | tzinfo | None = None, **times: object) -> None:
    """Each time given to a call (``since=``, ``as_of=``, ``now=`` ...: a datetime, an ISO 8601 string
    or ``None``) is a time, within ``limits.max_time_years`` of the current time."""
    current = datetime.now(timezone.utc)
    for name, value in times.items():
        moment = check_time(value, name, tz)
        if moment is not None:
            years = abs((moment - current).days) / _YEAR_DAYS
            if years > limits.max_time_years:
                raise limits.exceeded("max_time_years", f"{name}, {{n}} years from now", int(years))


_TIME_KEYS = {
    "created_at": "since=/until=",
    "updated_at": "since=/until= (on the creation time)",
    "valid_from": "as_of= (or include_expired=True)",
    "valid_until": "as_of= (or include_expired=True)",
}


def _refuse_time_keys(where: object) -> None:
    """A filter on ``created_at``/``updated_at`` would silently match nothing: say what to use instead."""
    if isinstance(where, Mapping):
        for key, value in where.items():
            if key in _TIME_KEYS:
                raise InvalidFilterError(
                    f"filters cannot use {key!r} (it is not stored on every memory); use {_TIME_KEYS[key]}"
                )
            _refuse_time_keys(value)
    elif isinstance(where, list):
        for item in where:
            _refuse_time_keys(item)
