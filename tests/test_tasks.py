from __future__ import annotations

import pytest

from agent_memory import DEFAULT_TASK, TASKS, UnknownTaskError, ValidationError, format_query
from agent_memory._tasks import resolve_task


def test_task_templates_are_exact() -> None:
    assert dict(TASKS) == {
        "web_search": "Given a web search query, retrieve relevant passages that answer the query",
        "memory": "Given a user query, retrieve relevant memories",
        "documents": "Given a question, find relevant documents",
        "code": "Given a coding query, retrieve relevant code snippets",
        "qa": "Given a user question, retrieve the best answer",
        "reconcile": "Given a new fact about a user, retrieve stored memories about the same subject",
    }
    assert DEFAULT_TASK == "Given a user query, retrieve relevant memories"


def test_format_query_is_the_model_card_format() -> None:
    assert format_query("What does Alice drink?") == (
        "Instruct: Given a user query, retrieve relevant memories\nQuery:What does Alice drink?"
    )
    assert format_query("q", "qa") == "Instruct: Given a user question, retrieve the best answer\nQuery:q"
    assert format_query("q", TASKS["code"]) == f"Instruct: {TASKS['code']}\nQuery:q"
    assert format_query("q", "Find the recipe for a dish") == "Instruct: Find the recipe for a dish\nQuery:q"


@pytest.mark.parametrize("task", ["memroy", "", "   ", "web-search"])
def test_unknown_task_names_are_errors(task: str) -> None:
    with pytest.raises(UnknownTaskError, match="unknown task"):
        resolve_task(task)
    with pytest.raises(ValueError):
        format_query("q", task)


def test_non_string_task() -> None:
    with pytest.raises(ValidationError):
        resolve_task(3)  # type: ignore[arg-type]
