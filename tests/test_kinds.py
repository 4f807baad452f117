"""Events and states: a memory knows which it is (set by store_memory, by remember's extractor, or guessed
by a documented rule), and time-aware search asks whether an event *happened* in the span a query names."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from agent_memory import InvalidMetadataError, LLMExtractor, Memory, MemorySystem, Scope, SearchHit, ValidationError
from agent_memory._transfer import parse_record
from agent_memory.extraction._extractor import Fact, parse_facts
from agent_memory.extraction._prompts import FACTS_SCHEMA
from agent_memory.search._kinds import guess_kind, kind_of
from agent_memory.search._time_rank import EVENT_OUTSIDE, OUTSIDE_RANGE, favour_range
from agent_memory.store._validity import Window
from agent_memory.testing import ConstantEmbedder, ScriptedLLM


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Alice bought an electric kettle", "event"),
        ("The user visited Kyoto with her sister", "event"),
        ("Caroline: I went to a support group yesterday", "event"),
        ("Alice travelled to Lisbon on 2024-05-17", "event"),
        ("Alice ran a 10k race", "event"),
        ("Alice lives in Porto", "state"),
        ("Alice works as a nurse", "state"),
        ("Alice runs half marathons", "state"),
        ("Alice grew up on a farm", "state"),
        ("Alice moved to Berlin", "state"),  # begins a state
        ("Alice plans to visit Rome next month", "state"),
        ("Alice will fly to Rome on 2024-05-17", "state"),
        ("王芳上周去了云南", "event"),
        ("我买了一台咖啡机", "event"),
        ("杨洁最近刚生了二胎", "event"),
        ("王芳在上海工作", "state"),
        ("王芳对花生过敏", "state"),
        ("刘洋下个月要结婚了", "state"),
        ("王芳计划明年去日本", "state"),
    ],
)
def test_the_rule_tells_events_from_states_in_english_and_chinese(text: str, kind: str) -> None:
    assert guess_kind(text) == kind


def test_a_stored_kind_wins_over_the_guess() -> None:
    memory = Memory.create("Alice lives in Porto", Scope("u"), kind="event")
    assert kind_of(memory) == "event" and kind_of(Memory.create("Alice lives in Porto", Scope("u"))) == "state"


def test_store_memory_keeps_the_kind_and_refuses_others() -> None:
    with MemorySystem(embedder=ConstantEmbedder(16), path=":memory:") as system:
        stored = system.store_memory("Alice bought a kettle", user_id="u", kind="event")
        assert stored.kind == "event" and system.get_memory(stored.id, user_id="u").kind == "event"  # type: ignore[union-attr]
        many = system.store_memories(["Alice lives in Porto", "Alice likes tea"], user_id="u", kind="state")
        assert [m.kind for m in system.list_memories(user_id="u") if m.id in {x.id for x in many}] == ["state"] * 2
        assert system.store_memory("Alice has a cat", user_id="u").kind is None  # unknown: guessed when searching
        assert (
            stored.to_dict()["kind"] == "event"
            and system.search_memory("kettle", user_id="u")[0].memory.kind == "event"
        )
        with pytest.raises(ValidationError, match="kind"):
            system.store_memory("Alice sneezed", user_id="u", kind="happening")
        with pytest.raises(InvalidMetadataError):
            system.store_memory("Alice sneezed", user_id="u", metadata={"memory_kind": "event"})


def test_an_exported_kind_imports_back() -> None:
    memory = Memory.create("Alice bought a kettle", Scope("u"), kind="event")
    assert parse_record(json.loads(json.dumps(memory.to_dict()))).memory.kind == "event"
    with pytest.raises(ValidationError):
        parse_record({**memory.to_dict(), "kind": "sometimes"})


def _hit(text: str, began: datetime, kind: str | None = None, score: float = 0.5) -> SearchHit:
    return SearchHit(Memory.create(text, Scope("u"), valid=(began, None), kind=kind), score)


def test_an_event_before_the_span_is_not_what_happened_in_it() -> None:
    start, end = (int(datetime(2024, m, 1, tzinfo=timezone.utc).timestamp() * 1000) for m in (6, 7))
    june = Window(start, end, as_stored=True)
    coat = _hit("The user bought a winter coat", datetime(2023, 12, 1, tzinfo=timezone.utc), score=0.9)
    kettle = _hit("The user bought an electric kettle", datetime(2024, 6, 20, tzinfo=timezone.utc), score=0.6)
    home = _hit("The user lives in Porto", datetime(2020, 1, 1, tzinfo=timezone.utc), score=0.7)
    ranked = favour_range([coat, kettle, home], june, kind_of)
    assert [h.text for h in ranked] == [kettle.text, home.text, coat.text]
    scores = {h.text: h.score for h in ranked}
    assert scores[coat.text] == pytest.approx(0.9 * EVENT_OUTSIDE) and scores[kettle.text] == 0.6
    assert scores[home.text] == pytest.approx(0.7 * OUTSIDE_RANGE)  # a state that held through it
    before = [h.text for h in favour_range([coat, kettle, home], june)]  # without kinds: every memory a state
    assert before[0] == coat.text


def test_time_aware_search_finds_what_was_bought_last_month(minilm: str) -> None:
    """The issue's example: asked on 2024-07-05, the kettle (June) beats the coat (December)."""
    with MemorySystem(minilm, path=":memory:") as system:
        system.store_memory("The user bought a winter coat", user_id="u", valid_from="2023-12-01T12:00:00+00:00")
        system.store_memory("The user bought an electric kettle", user_id="u", valid_from="2024-06-20T12:00:00+00:00")
        system.store_memory("The user lives in Porto", user_id="u", valid_from="2020-01-01T12:00:00+00:00")
        hits = system.search_memory(
            "What did I buy last month?", user_id="u", now="2024-07-05T10:00:00+00:00", tz="UTC"
        )
        assert hits[0].text == "The user bought an electric kettle" and hits[0].time_range is not None


def test_the_extractor_says_the_kind_and_remember_stores_it() -> None:
    assert FACTS_SCHEMA["properties"]["facts"]["items"]["properties"]["kind"]["enum"] == ["event", "state"]
    listed = [
        {"text": "Alice bought a kettle", "message": 1, "kind": "Event"},
        {"text": "Alice lives in Porto", "message": 1, "kind": "sometimes"},
    ]
    facts = parse_facts({"facts": listed}, 1)
    kinds = [(f, f.kind) for f in facts if isinstance(f, Fact)]
    assert kinds == [("Alice bought a kettle", "event"), ("Alice lives in Porto", None)]
    reply = {"facts": [{"text": "Alice bought a kettle", "message": 1, "kind": "event"}]}
    with MemorySystem(embedder=ConstantEmbedder(16), path=":memory:") as system:
        [change] = system.remember(
            [{"role": "user", "content": "I just bought a kettle!"}],
            user_id="u",
            extractor=LLMExtractor(ScriptedLLM([reply])),
        )
        assert change.event == "added" and change.memory is not None and change.memory.kind == "event"
        assert system.get_memory(change.memory.id, user_id="u").kind == "event"  # type: ignore[union-attr]


def test_the_span_ranks_every_candidate_not_only_the_words_best() -> None:
    """With top_k=1, the purchase of the span must win even when five older purchases match the
    words better: the span's ranking sees every candidate, not only the words' best three."""
    with MemorySystem(embedder=ConstantEmbedder(16), path=":memory:") as system:
        for month in range(1, 6):
            text = f"The user bought and bought and bought item {month}"
            system.store_memory(text, user_id="u", valid_from=f"2024-0{month}-10T12:00:00+00:00")
        system.store_memory("The user bought a lamp", user_id="u", valid_from="2024-06-20T12:00:00+00:00")
        [hit] = system.search_memory("What did I buy last month?", user_id="u", top_k=1, now="2024-07-05T10:00:00Z")
        assert hit.text == "The user bought a lamp" and hit.time_range is not None
