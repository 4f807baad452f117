"""Item values as agent-memory keeps them: the whole value as JSON in the memory's metadata, the
text the index fields name as the memory's text, and LangGraph's filters applied to values."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.store.base import get_text_at_path, tokenize_path

from agent_memory import StoreError, ValidationError

__all__ = [
    "INDEXED",
    "MAX_METADATA_BYTES",
    "TTL",
    "VALUE",
    "check_filter",
    "decode",
    "encode",
    "index_text",
    "matches",
]

VALUE = "langgraph_value"
"""Metadata key of the item's value, as JSON."""
INDEXED = "langgraph_indexed"
"""Metadata key: ``True`` when the item's text is searched by meaning, ``False`` for ``index=False``
(or no text at the index fields). Every item has it, so it also tells the store's items apart."""
TTL = "langgraph_ttl"
"""Metadata key of an item's time to live, in minutes (only on items put with a ``ttl``)."""
MAX_METADATA_BYTES = 64 * 1024
"""What a memory's metadata may take, as ASCII JSON (agent-memory's limit on metadata)."""
_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")


def encode(value: object, metadata: Mapping[str, object]) -> str:
    """The value as JSON, checked: a dict of JSON values whose metadata stays within the limit."""
    if not isinstance(value, dict):
        raise ValidationError(f"an item's value is a dict, got {type(value).__name__}")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"an item's value must be JSON (dicts, lists, str, finite numbers, bool, None): {exc}"
        ) from None
    if any(not isinstance(key, str) for key in value):
        raise ValidationError("an item's value has str keys only")
    size = len(json.dumps({**metadata, VALUE: text}))
    if size > MAX_METADATA_BYTES:
        raise ValidationError(
            f"an item's value takes {size:,} bytes as stored, more than {MAX_METADATA_BYTES:,}: store less in one item"
        )
    return text


def decode(text: object) -> dict[str, Any]:
    """The value back, exactly as it was put."""
    value = json.loads(str(text))
    if not isinstance(value, dict):
        raise StoreError(f"a stored item's value is not a JSON object but {type(value).__name__}")
    return value


def index_text(value: Mapping[str, Any], fields: Sequence[str] | None) -> str | None:
    """The text to embed and search: the texts at ``fields`` (LangGraph's paths, ``"$"`` for the
    whole value), one a line; by default the value's ``content`` (a LangMem memory's inner
    ``content``), else the whole value.
    ``None`` when the fields name no text."""
    if fields is None:  # LangMem's values: {"content": "..."}, or {"kind": ..., "content": {"content": "..."}}
        content = value.get("content")
        inner = content.get("content") if isinstance(content, dict) else None
        fields = ["content.content"] if isinstance(inner, str) else ["content"] if content is not None else ["$"]
    texts = [t for path in fields for t in get_text_at_path(value, path if path == "$" else tokenize_path(path))]
    text = "\n".join(t for t in texts if t.strip())
    return text or None


def check_filter(where: object) -> dict[str, Any] | None:
    """A search filter: value fields mapped to a value (equal to it) or to operators
    (``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``), all of which must hold."""
    if where is None:
        return None
    if not isinstance(where, dict):
        raise ValidationError(f"a filter is a dict of value fields, got {type(where).__name__}")
    for field, wanted in where.items():
        if isinstance(wanted, dict) and any(str(k).startswith("$") for k in wanted):
            unknown = [k for k in wanted if k not in _OPERATORS]
            if unknown:
                raise ValidationError(f"filter on {field!r}: unknown operators {unknown}; use {', '.join(_OPERATORS)}")
            for op, bound in wanted.items():
                if op in _OPERATORS[2:] and not _number(bound, finite=False):
                    raise ValidationError(f"filter on {field!r}: {op} compares numbers, got {bound!r}")
    return where


def matches(value: Mapping[str, Any], where: Mapping[str, Any] | None) -> bool:
    """Whether a value passes a checked filter (as LangGraph's own stores compare: nested dicts
    field by field, lists element by element, order operators on numbers)."""
    return where is None or all(_compare(value.get(field), wanted) for field, wanted in where.items())


def _compare(found: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        if any(str(k).startswith("$") for k in wanted):
            return all(_apply(found, op, bound) for op, bound in wanted.items())
        return isinstance(found, dict) and all(_compare(found.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list | tuple):
        return (
            isinstance(found, list | tuple)
            and len(found) == len(wanted)
            and all(_compare(f, w) for f, w in zip(found, wanted, strict=True))
        )
    return bool(found == wanted)


def _apply(found: Any, op: str, bound: Any) -> bool:
    if op == "$eq":
        return bool(found == bound)
    if op == "$ne":
        return bool(found != bound)
    if not _number(found):  # a missing or non-numeric field is not in any range
        return False
    if op == "$gt":
        return bool(found > bound)
    if op == "$gte":
        return bool(found >= bound)
    if op == "$lt":
        return bool(found < bound)
    return bool(found <= bound)


def _number(value: object, *, finite: bool = True) -> bool:
    """An int or float (not a bool); a bound may be infinite, a stored value is finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and (not finite or math.isfinite(value))
