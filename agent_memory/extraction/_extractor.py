"""The ``Extractor`` protocol (facts from a conversation, one decision per fact) and an LLM-backed base.

The core depends on no LLM framework: :class:`LLMExtractor` needs only a function
from chat messages to the model's reply. The LangChain and LlamaIndex packages
subclass it to drive their frameworks' models; the MCP server drives the
client's model through sampling.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from agent_memory._errors import AgentMemoryError, ExtractionError, InvalidTypeError, ValidationError
from agent_memory._times import zone
from agent_memory._types import Memory
from agent_memory._validation import (
    DEFAULT_LIMITS,
    MAX_NAME_CHARS,
    MEMORY_KINDS,
    Limits,
    check_positive,
    check_text,
    check_times,
)
from agent_memory.extraction._prompts import (
    BATCH_SCHEMA,
    DECISION_SCHEMA,
    FACTS_SCHEMA,
    MAX_FACT_CHARS,
    MAX_FACTS,
    ChatTurn,
    batch_prompt,
    bounded,
    decision_prompt,
    extraction_prompt,
)

__all__ = [
    "ACTIONS",
    "BatchDecider",
    "Decision",
    "Extractor",
    "Fact",
    "LLMExtractor",
    "Message",
    "TokenUsage",
    "to_messages",
]

ACTIONS = ("add", "update", "supersede", "delete", "none")
"""What a decision may do with a fact: store it, refine a memory in place, replace a memory that
stopped being true (kept as past), end a memory's validity (kept as past), nothing."""


@dataclass(frozen=True)
class Message:
    """One message of a conversation. ``time`` is when it was sent (relative dates in it are
    resolved against it); :meth:`MemorySystem.remember` fills in the current time (in the default
    zone, ``AGENT_MEMORY_TZ`` or UTC) where it is missing."""

    role: str
    content: str
    time: datetime | None = None


class Fact(str):
    """A fact an extractor found: a string, that may say which message it came from.

    ``message`` is the index (from 0) of that message among those the extractor was
    given; ``time`` is when the fact began to hold, if the extractor knows better.
    :meth:`MemorySystem.remember` takes the fact's time from them (``time``, else the
    message's), and a plain string means the last message. ``kind`` is ``"event"`` or
    ``"state"`` when the extractor says (see :meth:`MemorySystem.store_memories`).
    """

    message: int | None
    time: datetime | None
    kind: str | None

    def __new__(
        cls, text: str, message: int | None = None, time: datetime | None = None, kind: str | None = None
    ) -> Fact:
        fact = super().__new__(cls, text)
        fact.message, fact.time, fact.kind = message, time, kind
        return fact

    def __repr__(self) -> str:
        return f"Fact({str(self)!r}, message={self.message!r}, time={self.time!r}, kind={self.kind!r})"


@dataclass(frozen=True)
class Decision:
    """What to do with one fact: ``action`` is one of :data:`ACTIONS`.

    ``memory_id`` names the memory acted on (required for ``update``, ``supersede`` and
    ``delete``; for ``none``, the memory that already says it). ``text`` is the text to
    store (``add``), the memory's new text (``update``) or the text of the memory that
    replaces it (``supersede``); the fact itself when ``None``.
    """

    action: str
    memory_id: str | None = None
    text: str | None = None


@runtime_checkable
class Extractor(Protocol):
    """What :meth:`MemorySystem.remember` needs from an LLM.

    ``extract`` returns the lasting facts in a conversation (in the language they
    were written in): strings, or :class:`Fact` strings that say which message each
    came from; ``decide`` says what to do with one fact given the user's
    stored memories most similar to it. Output that cannot be used raises
    :class:`ExtractionError`. An extractor may also define ``to_message(obj)``,
    turning its framework's message objects into :class:`Message` (or ``None``
    for objects it does not know).
    """

    def extract(self, messages: Sequence[Message]) -> list[str]: ...

    def decide(self, fact: str, memories: Sequence[Memory]) -> Decision: ...


@runtime_checkable
class BatchDecider(Protocol):
    """An :class:`Extractor` that can also decide for many facts in one call (``decide_all``):
    :meth:`MemorySystem.remember` then makes one decision call per conversation, not one per fact.
    ``decide_all`` returns one decision per ``(fact, memories)`` item, ``None`` for one it could not."""

    def decide_all(self, items: Sequence[tuple[str, Sequence[Memory]]]) -> list[Decision | None]: ...


@dataclass
class TokenUsage:
    """LLM calls an extractor made and the tokens they used (where the model reports them)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    fallbacks: list[str] = field(default_factory=list)
    """How the extractor stepped down, once each (``"json_schema -> json_object"``: the server
    refused schema-constrained answers, so JSON mode is asked for from then on)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, input_tokens: int = 0, output_tokens: int = 0) -> None:
        """Count one call."""
        with self._lock:
            self.calls += 1
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens


class LLMExtractor:
    """An :class:`Extractor` over any chat model: agent-memory's prompts, strict parsing of the answers.

    Give ``complete``, a function from chat messages (``[{"role", "content"}]``)
    to the model's reply text, or subclass and override :meth:`complete`, which
    also receives the JSON schema of the answer (for models with structured
    output) and may return the parsed object instead of text. ``usage`` counts
    the calls (and tokens, where :meth:`complete` records them).

    The schemas bound the answer: at most ``max_facts`` facts, ``max_fact_chars``
    characters a text. A model held to them (structured output) cannot run on until
    its reply is cut off; lower them for small models.

    Whatever the model's client raises (a rate limit, a timeout, a refused
    request) comes out as an :class:`ExtractionError` with the original chained,
    so that :meth:`MemorySystem.remember` handles a failed decision like a
    malformed one instead of stopping half-way through a conversation's facts.
    """

    def __init__(
        self,
        complete: Callable[[list[ChatTurn]], str] | None = None,
        *,
        max_facts: int = MAX_FACTS,
        max_fact_chars: int = MAX_FACT_CHARS,
    ) -> None:
        self._complete = complete
        self.max_facts = check_positive(max_facts, "max_facts")
        self.max_fact_chars = check_positive(max_fact_chars, "max_fact_chars")
        self.usage = TokenUsage()

    def complete(self, messages: list[ChatTurn], schema: Mapping[str, Any]) -> str | Mapping[str, Any]:
        """The model's answer to ``messages``: JSON text, or an object already parsed."""
        if self._complete is None:
            raise NotImplementedError("pass complete= or override LLMExtractor.complete")
        self.usage.add()
        return self._complete(messages)

    def extract(self, messages: Sequence[Message]) -> list[str]:
        """The facts in ``messages``, as the model lists them, each a :class:`Fact` with its message."""
        turns = [(m.role, m.content, m.time or datetime.now(zone(None))) for m in messages]
        return parse_facts(self._ask(extraction_prompt(turns), FACTS_SCHEMA), len(turns))

    def decide(self, fact: str, memories: Sequence[Memory]) -> Decision:
        """The model's decision for ``fact``, its handles mapped back to the memories' ids."""
        reply = self._ask(decision_prompt(fact, memories), DECISION_SCHEMA)
        return parse_decision(reply, {str(i): m.id for i, m in enumerate(memories, start=1)})

    def decide_all(self, items: Sequence[tuple[str, Sequence[Memory]]]) -> list[Decision | None]:
        """The model's decisions for several facts, each with its memories, in one call: one per
        fact, in order; ``None`` for a fact the answer left out (ask again for it alone)."""
        handles = [{f"{i}.{j}": m.id for j, m in enumerate(ms, start=1)} for i, (_, ms) in enumerate(items, start=1)]
        return parse_decisions(self._ask(batch_prompt(items), BATCH_SCHEMA), handles)

    def _ask(self, messages: list[ChatTurn], schema: Mapping[str, Any]) -> str | Mapping[str, Any]:
        try:
            return self.complete(messages, bounded(schema, self.max_facts, self.max_fact_chars))
        except AgentMemoryError:
            raise
        except Exception as exc:  # any LLM client's own errors: their types are not known here
            raise ExtractionError(f"the model failed: {type(exc).__name__}: {exc}") from exc

    def to_message(self, obj: object) -> Message | None:
        """Override to accept a framework's own message objects; ``None`` for unknown ones."""
        return None


_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_THINKING = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)  # reasoning models (Qwen3) think aloud first


def parse_json(reply: object) -> object:
    """The JSON in a model's reply: the reply itself if already parsed, else its text without a
    leading ``<think>`` block and Markdown fences, else its outermost ``{...}``.
    :class:`ExtractionError` when there is none."""
    if not isinstance(reply, str):
        return reply
    text = _FENCE.sub("", _THINKING.sub("", reply).strip())
    if text.startswith("<think>"):  # cut off while thinking: any JSON in there is a draft, not the answer
        raise ExtractionError(f"the model's answer ends inside its <think> block: {reply[:200]!r}")
    for candidate in (text, text[text.find("{") : text.rfind("}") + 1]):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ExtractionError(f"the model's answer is not JSON: {reply[:200]!r}")


def parse_facts(reply: object, messages: int | None = None) -> list[str]:
    """The facts of an extraction answer: ``{"facts": [...]}`` (or a bare list) of strings, or of
    ``{"text", "message", "kind"}`` objects (``message`` numbered from 1, as the prompt shows them; one
    outside ``1..messages`` is dropped, leaving the fact to the last message; a ``kind`` other than
    ``"event"`` or ``"state"`` is dropped, leaving it to be guessed)."""
    parsed = parse_json(reply)
    facts = parsed.get("facts") if isinstance(parsed, Mapping) else parsed
    if not isinstance(facts, list) or not all(isinstance(f, str) or _fact_object(f) for f in facts):
        raise ExtractionError(f'the model\'s answer is not {{"facts": [strings]}}: {str(parsed)[:200]!r}')
    return [f if isinstance(f, str) else _fact(f, messages) for f in facts]


def _fact_object(item: object) -> bool:
    return isinstance(item, Mapping) and isinstance(item.get("text"), str)


def _fact(item: Mapping[str, Any], messages: int | None) -> Fact:
    number = item.get("message")
    kind = item.get("kind")
    kind = kind.strip().lower() if isinstance(kind, str) and kind.strip().lower() in MEMORY_KINDS else None
    if isinstance(number, str) and number.strip().isdigit():
        number = int(number)
    if isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= (messages or number):
        return Fact(item["text"], number - 1, kind=kind)
    return Fact(item["text"], kind=kind)


def parse_decision(reply: object, handles: Mapping[str, str]) -> Decision:
    """A :class:`Decision` from ``{"action", "id", "text"}``; ``handles`` maps the ids the model
    was shown to memory ids. Unknown actions and ids pass through for the caller to refuse."""
    parsed = parse_json(reply)
    if not isinstance(parsed, Mapping) or not isinstance(parsed.get("action"), str):
        raise ExtractionError(f'the model\'s answer has no "action": {str(parsed)[:200]!r}')
    raw_id, text = parsed.get("id"), parsed.get("text")
    if (raw_id is not None and not isinstance(raw_id, str | int)) or (text is not None and not isinstance(text, str)):
        raise ExtractionError(f'the model\'s "id" or "text" is not a string: {str(parsed)[:200]!r}')
    memory_id = None if raw_id in (None, "") else handles.get(str(raw_id), str(raw_id))
    return Decision(parsed["action"].strip().lower(), memory_id, text or None)


def parse_decisions(reply: object, handles: Sequence[Mapping[str, str]]) -> list[Decision | None]:
    """Decisions from ``{"decisions": [{"fact", "action", "id", "text"}, ...]}``, one per fact
    (``handles[i]`` maps fact ``i + 1``'s memory handles to ids); ``None`` where a fact has none,
    or more than one."""
    parsed = parse_json(reply)
    entries = parsed.get("decisions") if isinstance(parsed, Mapping) else parsed
    if not isinstance(entries, list):
        raise ExtractionError(f'the model\'s answer is not {{"decisions": [...]}}: {str(parsed)[:200]!r}')
    found: dict[int, list[Decision]] = {}
    for entry in entries:
        fact = str(entry.get("fact", "")).strip() if isinstance(entry, Mapping) else ""
        if fact.isdigit() and 1 <= int(fact) <= len(handles):
            found.setdefault(int(fact), []).append(parse_decision(entry, handles[int(fact) - 1]))
    return [found[i][0] if len(found.get(i, [])) == 1 else None for i in range(1, len(handles) + 1)]


def to_messages(messages: object, extractor: object, limits: Limits = DEFAULT_LIMITS) -> list[Message]:
    """Check and convert ``remember``'s messages (at most ``limits.max_messages``): :class:`Message`,
    mappings with ``role``, ``content`` and an optional ``time`` (datetime or ISO 8601), or what
    the extractor's ``to_message`` accepts."""
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Sequence):
        raise InvalidTypeError(f"messages must be a list of messages, got {type(messages).__name__}")
    limits.check("max_messages", "{n} messages", len(messages))
    convert = getattr(extractor, "to_message", None)
    return [_to_message(m, i, convert, limits) for i, m in enumerate(messages)]


def _to_message(obj: object, index: int, convert: Callable[[object], Message | None] | None, limits: Limits) -> Message:
    message = obj if isinstance(obj, Message) else None
    if isinstance(obj, Mapping):
        message = Message(obj.get("role"), obj.get("content"), obj.get("time"))  # type: ignore[arg-type]
    elif message is None and convert is not None:
        message = convert(obj)
    if message is None:
        raise InvalidTypeError(f"messages[{index}] is a {type(obj).__name__}, not a message")
    if not isinstance(message.role, str) or not message.role.strip():
        raise ValidationError(f"messages[{index}] needs a role (user, assistant, ...)")
    if len(message.role) > MAX_NAME_CHARS:
        raise ValidationError(f"messages[{index}].role is longer than {MAX_NAME_CHARS} characters")
    if not isinstance(message.content, str):
        raise InvalidTypeError(f"messages[{index}].content must be a str, got {type(message.content).__name__}")
    if message.content.strip():
        check_text(message.content, f"messages[{index}].content", limits)
    return Message(message.role.strip(), message.content, _time(message.time, index, limits))


def _time(value: object, index: int, limits: Limits) -> datetime | None:
    """A message's time as given (naive ones stay naive: they are read in the default zone later)."""
    if value is None:
        return None
    if not isinstance(value, str | datetime):
        raise InvalidTypeError(f"messages[{index}].time must be a datetime or ISO 8601 str")
    check_times(limits, None, **{f"messages[{index}].time": value})
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
