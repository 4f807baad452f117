"""The input checks ``MemorySystem`` applies, for adapters that accept the same input.

Each returns the checked value or raises a :class:`~agent_memory.ValidationError`
subclass, before anything is written. The list is ``agent_memory._validation``'s own,
plus the time checks.
"""

from agent_memory import _validation
from agent_memory._times import check_time, epoch_ms
from agent_memory._validation import *  # noqa: F403 - exactly what _validation exports
from agent_memory.store._time_keys import CREATED_MS

__all__ = [*_validation.__all__, "CREATED_MS", "check_time", "epoch_ms"]
