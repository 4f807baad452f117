"""The input checks ``MemorySystem`` applies, for adapters that accept the same input.

Each returns the checked value or raises a :class:`~agent_memory.ValidationError`
subclass, before anything is written.
"""

from agent_memory._times import CREATED_MS, check_time, epoch_ms
from agent_memory._validation import (
    RESERVED_KEYS,
    check_choice,
    check_filters,
    check_id,
    check_metadata,
    check_min_score,
    check_non_negative,
    check_optional_scope,
    check_positive,
    check_text,
    check_texts,
    check_user_id,
)

__all__ = [
    "CREATED_MS",
    "RESERVED_KEYS",
    "check_choice",
    "check_filters",
    "check_id",
    "check_metadata",
    "check_min_score",
    "check_non_negative",
    "check_optional_scope",
    "check_positive",
    "check_text",
    "check_texts",
    "check_time",
    "check_user_id",
    "epoch_ms",
]
