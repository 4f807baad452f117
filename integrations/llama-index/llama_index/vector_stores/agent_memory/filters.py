"""LlamaIndex ``MetadataFilters`` as Chroma ``where`` expressions.

Every operator and condition LlamaIndex defines is translated, or refused with
an :class:`UnsupportedFilterError` when Chroma's ``where`` cannot express it.
``NOT`` means "none of the filters match", as in LlamaIndex's own stores.
A filter on ``created_at`` (``>``, ``>=``, ``<``, ``<=``; an ISO 8601 string or a
datetime, naive in UTC) is translated to the creation time every record carries.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilter, MetadataFilters

from agent_memory import InvalidFilterError
from agent_memory.validation import CREATED_MS, check_time, epoch_ms

__all__ = ["UnsupportedFilterError", "to_chroma_where"]


class UnsupportedFilterError(InvalidFilterError):
    """A LlamaIndex filter that Chroma's ``where`` syntax cannot express."""


_SIMPLE = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
    FilterOperator.CONTAINS: "$contains",
}
_NEGATED = {
    "$eq": "$ne",
    "$ne": "$eq",
    "$gt": "$lte",
    "$gte": "$lt",
    "$lt": "$gte",
    "$lte": "$gt",
    "$in": "$nin",
    "$nin": "$in",
    "$contains": "$not_contains",
}


def _combine(operator: str, clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {operator: clauses}


def _leaf(f: MetadataFilter, negate: bool) -> dict[str, Any]:
    if f.operator in (FilterOperator.ANY, FilterOperator.ALL):
        values = f.value if isinstance(f.value, list) else [f.value]
        if not values:
            raise UnsupportedFilterError(f"{f.operator.value} on {f.key!r} needs at least one value")
        wanted = MetadataFilters(
            filters=[MetadataFilter(key=f.key, value=v, operator=FilterOperator.CONTAINS) for v in values],
            condition=FilterCondition.OR if f.operator == FilterOperator.ANY else FilterCondition.AND,
        )
        return _filters(wanted, negate)
    if f.key == "created_at":
        return _created(f, negate)
    if f.operator not in _SIMPLE:
        raise UnsupportedFilterError(
            f"the {f.operator.value!r} filter on {f.key!r} cannot be expressed in Chroma's where syntax"
        )
    operator = _SIMPLE[f.operator]
    value = list(f.value) if isinstance(f.value, (list, tuple)) else f.value
    return {f.key: {_NEGATED[operator] if negate else operator: value}}


def _created(f: MetadataFilter, negate: bool) -> dict[str, Any]:
    """``created_at`` compared with a time, as the number every record carries (``created_ms``)."""
    if f.operator not in (FilterOperator.GT, FilterOperator.GTE, FilterOperator.LT, FilterOperator.LTE):
        raise UnsupportedFilterError(f"created_at takes >, >=, < or <=, not {f.operator.value!r}")
    moment = check_time(f.value, "created_at", "UTC")
    if moment is None:
        raise UnsupportedFilterError("created_at is compared with a time, not with None")
    operator = _SIMPLE[f.operator]
    return {CREATED_MS: {_NEGATED[operator] if negate else operator: epoch_ms(moment)}}


def _filters(filters: MetadataFilters, negate: bool) -> dict[str, Any]:
    if not filters.filters:
        raise UnsupportedFilterError("empty MetadataFilters")
    condition = filters.condition or FilterCondition.AND
    if condition == FilterCondition.NOT:  # none matches: AND of the negations
        negate, condition = not negate, FilterCondition.OR
    parts = [_filters(f, negate) if isinstance(f, MetadataFilters) else _leaf(f, negate) for f in filters.filters]
    is_and = (condition == FilterCondition.AND) != negate  # De Morgan: a negated OR is an AND of negations
    return _combine("$and" if is_and else "$or", parts)


def to_chroma_where(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """The Chroma ``where`` expression for ``filters`` (``None`` for none)."""
    return None if filters is None else _filters(filters, negate=False)
