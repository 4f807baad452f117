"""agent-memory's own prompts for fact extraction and reconciliation, and the JSON they ask for.

Written for facts about a person that stay true (preferences, relationships,
plans with dates, health, work), in the language the person wrote in. The
answer formats are described, not written as valid JSON, so that a model that
echoes its prompt is not read as answering. Candidate memories are shown under
short handles (``"1"``, ``"2"``...), not their UUIDs: short handles are copied
back reliably, and a model cannot name a memory it was not shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agent_memory._types import Memory

__all__ = [
    "BATCH_SCHEMA",
    "DECISION_SCHEMA",
    "FACTS_SCHEMA",
    "MAX_FACTS",
    "MAX_FACT_CHARS",
    "ChatTurn",
    "batch_prompt",
    "bounded",
    "decision_prompt",
    "extraction_prompt",
]

ChatTurn = dict[str, str]
"""One message of a prompt: ``{"role": "system" | "user", "content": ...}``."""

_EXTRACTION_SYSTEM = """\
You keep the long-term memory of an AI assistant about the person it talks with (the user).
Read the conversation and list the facts about the user worth remembering in later conversations:
facts that stay true for a while, such as preferences and dislikes, family, friends and other
relationships, plans and events with their dates, health, work and studies, places lived in or
visited, possessions, habits, and important experiences.

Rules:
- One fact per item: a short sentence that makes sense on its own, without the conversation
  ("Has a daughter named Mia, born in 2019", not "She is five").
- Name the person the fact is about when the conversation gives the name; otherwise write about
  the user the way that language would ("The user ...", "用户...").
- Write each fact in the language the user wrote in. Never translate.
- Each message starts with its number and the date it was sent. Turn relative dates ("tomorrow", "next Friday",
  "last year") into absolute dates using the date of the message they appear in
  ("Flies to Rome on 2024-05-17"). Keep a date as written if it cannot be resolved.
- Take facts from what the user says. What the assistant says counts only when the user confirms it.
- Leave out greetings, small talk, questions, passing moods and anything true only for the moment.
- Say what kind of fact each is: "event" for something that happened at one time (bought, visited,
  went to, met, finished), "state" for something that holds over time until it changes (lives in,
  works as, likes, owns, is allergic to, plans to).
- If nothing is worth remembering, return an empty list.

Answer with JSON only, no other text, in this form:
{"facts": [{"text": fact, "message": the number of the message the fact comes from,
"kind": "event" or "state"}, ...]}"""

_ACTIONS = """\
- "none": the fact is already known: a memory says the same, in any words, or says more.
  Give that memory's id.
- "update": a memory is about the same thing and the new fact refines it: adds detail or corrects
  it, while what it said still holds. Give that memory's id and its new text: one sentence that
  keeps what the memory said and states the new fact.
- "supersede": a memory was true but no longer is, and the new fact replaces it (the user moved,
  changed jobs, ended a relationship, changed their mind, replaced something they own). Give that
  memory's id and the text of the new memory: the new fact, as a sentence of its own. The old
  memory is kept as the past.
- "delete": the new fact only says that a memory is no longer true and adds nothing to keep.
  Give that memory's id. The memory is kept as the past.
- "add": no memory is about the same thing; the fact is new.
"""

_DECISION_SYSTEM = f"""\
You keep the long-term memory of an AI assistant about a user. A new fact about the user was just
learned. Below it are the stored memories most similar to it, each with an id. Choose one action:

{_ACTIONS}
A fact that restates a memory is "none", never "update", "supersede" or "delete". Use only the ids shown.
Write the text in the language of the fact. Never translate.

Answer with JSON only, no other text, in this form:
{{"action": one of "add", "update", "supersede", "delete", "none", "id": the memory's id,
"text": the memory's new text}}"""

_BATCH_SYSTEM = f"""\
You keep the long-term memory of an AI assistant about a user. New facts about the user were just
learned. Each fact has an id ("1", "2"...) and, below it, the stored memories most similar to it,
each with an id of its own ("1.1", "1.2"...). For every fact choose one action:

{_ACTIONS}
Decide each fact on its own memories: use only the ids shown under that fact. A fact that restates
a memory is "none", never "update", "supersede" or "delete". Write texts in the language of the fact.
Never translate.

Answer with JSON only, no other text, one decision per fact, in this form:
{{"decisions": [{{"fact": the fact's id, "action": one of "add", "update", "supersede", "delete",
"none", "id": the memory's id, "text": the memory's new text}}, ...]}}"""

MAX_FACTS = 20
"""Facts one extraction (and decisions one batched call) may list: the schemas say so, so that a
small model constrained to them cannot run on until it hits its token limit."""
MAX_FACT_CHARS = 200
"""Characters a fact or a memory's new text may have in an answer."""

FACTS_SCHEMA: dict[str, Any] = {
    "title": "MemoryFacts",
    "description": "The lasting facts about the user found in the conversation.",
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "maxItems": MAX_FACTS,
            "items": {
                "type": "object",
                "properties": {
                    "text": {
                        "type": "string",
                        "maxLength": MAX_FACT_CHARS,
                        "description": "The fact, a short sentence of its own.",
                    },
                    "message": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 9999,
                        "description": "The number of the message it comes from.",
                    },
                    "kind": {
                        "type": "string",
                        "enum": ["event", "state"],
                        "description": "event: it happened at one time; state: it holds until it changes.",
                    },
                },
                "required": ["text", "message"],
            },
        }
    },
    "required": ["facts"],
}
"""The JSON schema of an extraction answer (for models with structured output)."""

DECISION_SCHEMA: dict[str, Any] = {
    "title": "MemoryDecision",
    "description": "What to do with a new fact, given the stored memories most similar to it.",
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["add", "update", "supersede", "delete", "none"]},
        "id": {
            "type": "string",
            "maxLength": 12,
            "description": "The id of the memory acted on (update, supersede, delete, none).",
        },
        "text": {
            "type": "string",
            "maxLength": MAX_FACT_CHARS,
            "description": "The memory's new text (update), or its successor's (supersede).",
        },
    },
    "required": ["action"],
}
"""The JSON schema of a decision answer (for models with structured output)."""

BATCH_SCHEMA: dict[str, Any] = {
    "title": "MemoryDecisions",
    "description": "What to do with each new fact, given the stored memories most similar to it.",
    "type": "object",
    "properties": {
        "decisions": {
            "type": "array",
            "maxItems": MAX_FACTS,
            "items": {
                "type": "object",
                "properties": {"fact": {"type": "string"}, **DECISION_SCHEMA["properties"]},
                "required": ["fact", "action"],
            },
        }
    },
    "required": ["decisions"],
}
"""The JSON schema of a batched decision answer."""


def bounded(schema: Mapping[str, Any], facts: int, chars: int) -> dict[str, Any]:
    """A copy of one of these schemas with other bounds: at most ``facts`` items, ``chars`` characters a text."""
    limits = {("maxItems", MAX_FACTS): facts, ("maxLength", MAX_FACT_CHARS): chars}

    def walk(node: object) -> Any:
        if isinstance(node, Mapping):
            return {k: limits.get((k, v), v) if isinstance(v, int) else walk(v) for k, v in node.items()}
        return [walk(item) for item in node] if isinstance(node, list) else node

    found: dict[str, Any] = walk(schema)
    return found


def _stamp(time: datetime) -> str:
    return time.strftime("%Y-%m-%d (%A) %H:%M")


def extraction_prompt(turns: Sequence[tuple[str, str, datetime]]) -> list[ChatTurn]:
    """The chat that asks for the facts in a conversation of ``(role, content, time)`` turns,
    numbered from 1 so that each fact can say which message it comes from."""
    lines = "\n".join(
        f"({n}) [{_stamp(time)}] {role}: {content}" for n, (role, content, time) in enumerate(turns, start=1)
    )
    return [
        {"role": "system", "content": _EXTRACTION_SYSTEM},
        {"role": "user", "content": f"Conversation:\n{lines}"},
    ]


def decision_prompt(fact: str, memories: Sequence[Memory]) -> list[ChatTurn]:
    """The chat that asks what to do with ``fact``; memory ``i`` is shown as id ``str(i + 1)``."""
    listed = "\n".join(f'- id "{i}": {m.text}' for i, m in enumerate(memories, start=1))
    return [
        {"role": "system", "content": _DECISION_SYSTEM},
        {"role": "user", "content": f"New fact: {fact}\n\nStored memories:\n{listed}"},
    ]


def batch_prompt(items: Sequence[tuple[str, Sequence[Memory]]]) -> list[ChatTurn]:
    """The chat that asks what to do with several facts at once; fact ``i`` is shown as id ``str(i)``
    and its memory ``j`` as ``f"{i}.{j}"`` (both from 1), so a model cannot cross facts' memories."""
    blocks = []
    for i, (fact, memories) in enumerate(items, start=1):
        listed = "\n".join(f'  - id "{i}.{j}": {m.text}' for j, m in enumerate(memories, start=1))
        blocks.append(f'Fact id "{i}": {fact}\n  Stored memories:\n{listed}')
    return [
        {"role": "system", "content": _BATCH_SYSTEM},
        {"role": "user", "content": "\n\n".join(blocks)},
    ]
