"""Task instructions for Qwen3-Embedding queries.

Qwen3-Embedding is trained with an instruction on the query side only:
``Instruct: {task}\\nQuery:{query}``. Documents (stored memories) are embedded
as plain text. Using the instruction for queries and never for documents is
worth a few points of retrieval accuracy over using none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from agent_memory._errors import InvalidTypeError, UnknownTaskError

__all__ = ["DEFAULT_TASK", "TASKS", "format_query", "resolve_task"]

TASKS: Mapping[str, str] = MappingProxyType(
    {
        "web_search": "Given a web search query, retrieve relevant passages that answer the query",
        "memory": "Given a user query, retrieve relevant memories",
        "documents": "Given a question, find relevant documents",
        "code": "Given a coding query, retrieve relevant code snippets",
        "qa": "Given a user question, retrieve the best answer",
        "reconcile": "Given a new fact about a user, retrieve stored memories about the same subject",
    }
)
"""Task templates by name. Any other instruction sentence works as a task too."""

DEFAULT_TASK: str = TASKS["memory"]

_WHITESPACE = re.compile(r"\s")


def resolve_task(task: str | None) -> str:
    """Return the instruction for ``task``: a key of :data:`TASKS`, a sentence, or ``None``.

    ``None`` gives :data:`DEFAULT_TASK`. A single word that is not a key of
    ``TASKS`` is almost always a typo (``"memroy"``), so it raises
    :class:`UnknownTaskError` instead of silently becoming the instruction.
    """
    if task is None:
        return DEFAULT_TASK
    if not isinstance(task, str):
        raise InvalidTypeError(f"task must be a str, got {type(task).__name__}")
    if task in TASKS:
        return TASKS[task]
    stripped = task.strip()
    if not stripped or not _WHITESPACE.search(stripped):
        known = ", ".join(sorted(TASKS))
        raise UnknownTaskError(f"unknown task {task!r}: use one of {known}, or write the instruction as a sentence")
    return task


def format_query(query: str, task: str | None = None) -> str:
    """Format ``query`` the way Qwen3-Embedding expects: ``Instruct: {task}\\nQuery:{query}``.

    ``task`` is a key of :data:`TASKS` or an instruction sentence; ``None`` means
    the default memory-retrieval task.
    """
    return f"Instruct: {resolve_task(task)}\nQuery:{query}"
