"""``MemorySystem.remember``: facts from a conversation, reconciled with the user's memories.

The LLM is the only thing faked (``ScriptedLLM`` answers from a script and records
the prompts); the store, the embedder (the real MiniLM) and the history are real.
The LangChain and LlamaIndex suites drive the same paths with their frameworks'
own fake models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone

import pytest

from agent_memory import (
    Decision,
    ExtractionError,
    InvalidTypeError,
    LLMExtractor,
    Memory,
    MemoryChange,
    MemorySystem,
    Message,
    ValidationError,
)
from agent_memory.extraction._extractor import parse_decision, parse_json
from agent_memory.testing import ScriptedLLM

SAID = [{"role": "user", "content": "Some conversation."}]


def facts(*texts: str) -> dict[str, list[str]]:
    return {"facts": list(texts)}


def remember(memory: MemorySystem, script: ScriptedLLM, user: str = "alice", **kwargs: object) -> list[MemoryChange]:
    """Fact by fact (``batch_decisions=False``): these tests script one decision call per fact;
    tests/test_remember_batch.py covers the batched default."""
    kwargs.setdefault("batch_decisions", False)
    return memory.remember(SAID, user_id=user, extractor=LLMExtractor(script), **kwargs)  # type: ignore[arg-type]


def texts(memory: MemorySystem, user: str = "alice") -> list[str]:
    return sorted(m.text for m in memory.list_memories(user_id=user))


def test_new_facts_are_added_with_their_scope_and_history(memory: MemorySystem) -> None:
    script = ScriptedLLM([facts("Alice likes coffee", "Alice has a dog named Rex"), {"action": "add"}])
    changes = remember(memory, script, agent_id="helper", session_id="s1")
    assert [(c.event, c.new_text, c.problem) for c in changes] == [
        ("added", "Alice likes coffee", None),
        ("added", "Alice has a dog named Rex", None),
    ]
    assert changes[0].memory is not None and changes[0].memory.session_id == "s1"
    assert changes[0].memory.agent_id == "helper"
    assert [e.action for e in memory.history(changes[0].id or "", user_id="alice")] == ["create"]
    assert memory.history(changes[0].id or "", user_id="alice")[0].actor == "agent:helper"
    # The first fact needed no decision (nothing to compare with); the second was compared with it.
    assert len(script.prompts) == 2 and 'id "1": Alice likes coffee' in script.prompts[1][-1]["content"]


def test_a_repeated_fact_changes_nothing_and_costs_no_decision(memory: MemorySystem) -> None:
    kept = memory.store_memory("Alice likes coffee", user_id="alice", session_id="old")
    script = ScriptedLLM([facts("alice likes  coffee.")])
    [change] = remember(memory, script, session_id="new")
    assert (change.event, change.id, change.problem) == ("unchanged", kept.id, None)
    assert len(script.prompts) == 1  # the extraction only
    assert texts(memory) == ["Alice likes coffee"]
    assert [e.action for e in memory.history(kept.id, user_id="alice")] == ["create"]


def test_a_refined_fact_updates_the_memory_instead_of_adding_a_near_duplicate(memory: MemorySystem) -> None:
    old = memory.store_memory("Alice has a dog", user_id="alice")
    memory.store_memory("Alice works as a nurse", user_id="alice")
    decision = {"action": "update", "id": "1", "text": "Alice has a dog named Rex"}
    script = ScriptedLLM([facts("Alice's dog is called Rex"), decision])
    [change] = remember(memory, script)
    assert (change.event, change.id, change.old_text, change.new_text) == (
        "updated",
        old.id,
        "Alice has a dog",
        "Alice has a dog named Rex",
    )
    assert texts(memory) == ["Alice has a dog named Rex", "Alice works as a nurse"]
    # The model was shown handles, not UUIDs, with the closest memory first.
    shown = script.prompts[1][-1]["content"]
    assert 'id "1": Alice has a dog' in shown and old.id not in shown
    assert "New fact: Alice's dog is called Rex" in shown


def test_a_contradicted_fact_replaces_the_memory_and_the_history_keeps_the_old_text(memory: MemorySystem) -> None:
    old = memory.store_memory("Alice lives in Paris", user_id="alice")
    script = ScriptedLLM(
        [facts("Alice moved to Berlin"), {"action": "update", "id": "1", "text": "Alice lives in Berlin"}]
    )
    [change] = remember(memory, script)
    assert change.event == "updated" and change.id == old.id
    [created, updated] = memory.history(old.id, user_id="alice")
    assert created.action == "create"
    assert (updated.action, updated.old_text, updated.new_text) == (
        "update",
        "Alice lives in Paris",
        "Alice lives in Berlin",
    )
    assert updated.actor == "agent:remember"
    assert memory.search_memory("Where does Alice live?", user_id="alice", top_k=1)[0].text == "Alice lives in Berlin"


def test_a_retracted_fact_expires_the_memory_instead_of_erasing_it(memory: MemorySystem) -> None:
    old = memory.store_memory("Alice has a cat", user_id="alice")
    said = [{"role": "user", "content": "The cat is gone.", "time": "2025-03-01T12:00:00+00:00"}]
    script = ScriptedLLM([facts("Alice no longer has a cat"), {"action": "delete", "id": "1"}])
    [change] = memory.remember(said, user_id="alice", extractor=LLMExtractor(script), batch_decisions=False)
    assert (change.event, change.id, change.old_text, change.new_text) == ("expired", old.id, "Alice has a cat", None)
    assert change.memory is not None and change.memory.valid_until == datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
    assert texts(memory) == [] and memory.search_memory("cat", user_id="alice") == []
    assert [m.text for m in memory.list_memories(user_id="alice", include_expired=True)] == ["Alice has a cat"]
    assert [h.text for h in memory.search_memory("cat", user_id="alice", as_of="2025-01-01T00:00:00Z")] == [
        "Alice has a cat"
    ]
    assert [e.action for e in memory.history(old.id, user_id="alice")] == ["create", "expire"]
    assert memory.restore_memory(old.id, user_id="alice").valid_until is None  # the decision is reversible
    assert texts(memory) == ["Alice has a cat"]
    assert memory.delete_memory(old.id, user_id="alice")  # erasing stays possible, and is recorded too
    assert [e.action for e in memory.history(old.id, user_id="alice")] == ["create", "expire", "restore", "delete"]


def test_a_changed_fact_supersedes_the_memory_which_stays_as_the_past(memory: MemorySystem) -> None:
    old = memory.store_memory("Alice lives in Porto", user_id="alice", valid_from="2019-05-01T00:00:00+00:00")
    said = [
        {"role": "user", "content": "Hi!", "time": "2023-02-27T09:00:00+00:00"},
        {"role": "user", "content": "I moved to Berlin this week.", "time": "2023-03-01T09:00:00+00:00"},
        {"role": "user", "content": "Bye!", "time": "2023-03-02T09:00:00+00:00"},
    ]
    reply = {"facts": [{"text": "Alice lives in Berlin", "message": 2}]}
    script = ScriptedLLM([reply, {"action": "supersede", "id": "1", "text": "Alice lives in Berlin"}])
    [change] = memory.remember(said, user_id="alice", extractor=LLMExtractor(script), batch_decisions=False)
    moved = datetime(2023, 3, 1, 9, tzinfo=timezone.utc)  # the time of the message the fact came from
    assert (change.event, change.old_text, change.new_text) == (
        "superseded",
        "Alice lives in Porto",
        "Alice lives in Berlin",
    )
    new = change.memory
    assert new is not None and (new.supersedes, new.valid_from, new.valid_until) == (old.id, moved, None)
    kept = memory.get_memory(old.id, user_id="alice")
    assert kept is not None and kept.text == "Alice lives in Porto" and kept.valid_until == moved
    assert memory.search_memory("Where does Alice live?", user_id="alice")[0].text == "Alice lives in Berlin"
    past = memory.search_memory("Where does Alice live?", user_id="alice", as_of="2022-06-01T00:00:00Z")
    assert [h.text for h in past] == ["Alice lives in Porto"]
    assert [e.action for e in memory.history(old.id, user_id="alice")] == ["create", "expire"]
    assert [e.action for e in memory.history(new.id, user_id="alice")] == ["create"]
    assert memory.get_memory(new.id, user_id="alice") == new  # supersedes and validity read back as fields


def test_a_paraphrase_the_model_calls_known_changes_nothing(memory: MemorySystem) -> None:
    old = memory.store_memory("Alice loves coffee", user_id="alice")
    [change] = remember(memory, ScriptedLLM([facts("Alice is a coffee lover"), {"action": "NONE", "id": "1"}]))
    assert (change.event, change.id) == ("unchanged", old.id)
    assert texts(memory) == ["Alice loves coffee"]


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("Sure! I would update the first memory.", "not JSON"),
        ({"action": "merge", "id": "1"}, "unknown action 'merge'"),
        ({"action": "update", "id": "7", "text": "x"}, "unknown memory id '7'"),
        ({"action": "delete"}, "without the id"),
        ({"action": "update", "id": "1", "text": "  "}, "must not be empty"),
        ({"action": ["add"]}, 'no "action"'),
    ],
)
def test_a_decision_that_cannot_be_followed_adds_the_fact_and_says_why(
    memory: MemorySystem, reply: object, problem: str
) -> None:
    old = memory.store_memory("Alice lives in Paris", user_id="alice")
    [change] = remember(memory, ScriptedLLM([facts("Alice moved to Berlin"), reply]))
    assert change.event == "added" and change.new_text == "Alice moved to Berlin"
    assert change.problem is not None and problem in change.problem
    assert texts(memory) == ["Alice lives in Paris", "Alice moved to Berlin"]
    assert [e.action for e in memory.history(old.id, user_id="alice")] == ["create"]


def test_with_on_invalid_skip_a_bad_decision_stores_nothing_and_says_why(memory: MemorySystem) -> None:
    memory.store_memory("Alice lives in Paris", user_id="alice")
    script = ScriptedLLM([facts("Alice moved to Berlin"), "{not json"])
    [change] = remember(memory, script, on_invalid="skip")
    assert (change.event, change.id, change.fact) == ("skipped", None, "Alice moved to Berlin")
    assert change.problem is not None and "not JSON" in change.problem
    assert texts(memory) == ["Alice lives in Paris"]


def test_the_model_cannot_touch_another_users_memory(memory: MemorySystem) -> None:
    bob = memory.store_memory("Bob lives in Paris", user_id="bob")
    memory.store_memory("Alice lives in Paris", user_id="alice")
    for action in ("update", "delete", "none"):
        decision = {"action": action, "id": bob.id, "text": "Bob lives in Rome"}
        script = ScriptedLLM([facts(f"Alice moved to Rome ({action})"), decision])
        [change] = remember(memory, script)
        assert change.event == "added" and change.problem is not None and bob.id in change.problem
        assert "Bob" not in script.prompts[1][-1]["content"]  # nothing of bob's is ever shown
    assert memory.get_memory(bob.id, user_id="bob") == bob
    assert [e.action for e in memory.history(bob.id, user_id="bob")] == ["create"]


def test_candidates_come_from_the_users_own_memories_only(memory: MemorySystem) -> None:
    memory.store_memory("Bob lives in Paris", user_id="bob")
    memory.store_memory("Alice plays chess", user_id="alice")
    script = ScriptedLLM([facts("Alice lives in Paris"), {"action": "add"}])
    [change] = remember(memory, script)
    assert change.event == "added"
    assert "Bob" not in script.prompts[1][-1]["content"] and "Alice plays chess" in script.prompts[1][-1]["content"]


def test_an_extraction_that_cannot_be_read_raises_before_anything_is_written(memory: MemorySystem) -> None:
    for reply in ("I found these facts: coffee", {"facts": "coffee"}, {"facts": [1, 2]}, {"memories": []}):
        with pytest.raises(ExtractionError):
            remember(memory, ScriptedLLM([reply]))
    assert memory.count(user_id="alice") == 0


def test_fenced_or_chatty_json_and_integer_ids_are_read() -> None:
    assert parse_json('```json\n{"facts": ["a"]}\n```') == {"facts": ["a"]}
    assert parse_json('Here you go: {"action": "add"} Hope that helps.') == {"action": "add"}
    assert parse_decision({"action": "Update", "id": 2, "text": "t"}, {"2": "uuid-2"}) == Decision(
        "update", "uuid-2", "t"
    )
    assert parse_decision({"action": "none", "id": ""}, {}) == Decision("none")


def test_bad_messages_are_refused_before_the_model_is_called(memory: MemorySystem) -> None:
    script = ScriptedLLM([])
    extractor = LLMExtractor(script)
    bad: list[tuple[object, type[Exception]]] = [
        ("just a string", InvalidTypeError),
        ([{"content": "no role"}], ValidationError),
        ([{"role": "user", "content": 3}], InvalidTypeError),
        ([{"role": "user", "content": "x", "time": "next friday"}], ValidationError),
        ([object()], InvalidTypeError),
    ]
    for messages, error in bad:
        with pytest.raises(error):
            memory.remember(messages, user_id="alice", extractor=extractor)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        memory.remember(SAID, user_id="alice", extractor=extractor, on_invalid="ignore")
    with pytest.raises(InvalidTypeError):
        memory.remember(SAID, user_id="alice", extractor=object())  # type: ignore[arg-type]
    assert (
        script.prompts == []
        and memory.remember([{"role": "user", "content": " "}], user_id="a", extractor=extractor) == []
    )


def test_the_prompt_dates_each_message_and_keeps_the_users_language(memory: MemorySystem) -> None:
    sent = datetime(2024, 5, 8, 13, 56, tzinfo=timezone.utc)
    script = ScriptedLLM([facts("爱丽丝于2024-05-17飞往罗马")])
    messages = [
        {"role": "user", "content": "我下周五要飞去罗马。", "time": sent.isoformat()},
        Message("assistant", "祝你旅途愉快！", sent),
    ]
    [change] = memory.remember(messages, user_id="alice", extractor=LLMExtractor(script))
    conversation = script.prompts[0][-1]["content"]
    assert "[2024-05-08 (Wednesday) 13:56] user: 我下周五要飞去罗马。" in conversation
    assert "relative dates" in script.prompts[0][0]["content"] and "Never translate" in script.prompts[0][0]["content"]
    assert change.new_text == "爱丽丝于2024-05-17飞往罗马"
    assert memory.search_memory("罗马", user_id="alice")[0].text == "爱丽丝于2024-05-17飞往罗马"


def test_messages_without_a_time_are_dated_now_in_local_time(memory: MemorySystem) -> None:
    script = ScriptedLLM([facts()])
    before = datetime.now().astimezone()
    assert memory.remember(SAID, user_id="alice", extractor=LLMExtractor(script)) == []
    after = datetime.now().astimezone()
    stamp = script.prompts[0][-1]["content"].split("\n")[1]
    assert stamp.startswith((f"(1) [{before:%Y-%m-%d (%A) %H:%M}]", f"(1) [{after:%Y-%m-%d (%A) %H:%M}]")), stamp


def test_the_models_own_failures_during_a_decision_are_reported_not_raised(memory: MemorySystem) -> None:
    memory.store_memory("Alice lives in Paris", user_id="alice")
    replies = iter(['{"facts": ["Alice lives in Berlin", "Alice likes tea"]}'])

    def complete(messages: list[dict[str, str]]) -> str:
        try:
            return next(replies)
        except StopIteration:
            raise TimeoutError("the LLM server timed out") from None

    changes = memory.remember(SAID, user_id="alice", extractor=LLMExtractor(complete))
    assert [c.event for c in changes] == ["added", "added"]
    assert all(c.problem and "TimeoutError: the LLM server timed out" in c.problem for c in changes)
    with pytest.raises(ExtractionError, match="TimeoutError"):  # during extraction: nothing to fall back on
        memory.remember(SAID, user_id="bob", extractor=LLMExtractor(complete))
    assert memory.count(user_id="bob") == 0


def test_an_answer_cut_off_while_thinking_is_not_read_as_a_decision(memory: MemorySystem) -> None:
    old = memory.store_memory("Alice lives in Paris", user_id="alice")
    draft = '<think>Maybe {"action": "delete", "id": "1"}? No wait, the user only'
    [change] = remember(memory, ScriptedLLM([facts("Alice lives in Berlin"), draft]), on_invalid="skip")
    assert change.event == "skipped" and change.problem is not None and "<think>" in change.problem
    assert memory.get_memory(old.id, user_id="alice") == old
    assert parse_json('<think>{"action": "none"}</think>\n{"action": "add"}') == {"action": "add"}


def test_candidates_bounds_what_the_model_sees_and_texts_default_to_the_fact(memory: MemorySystem) -> None:
    first = memory.store_memory("Alice has a dog", user_id="alice")
    memory.store_memory("Alice has a cat", user_id="alice")
    script = ScriptedLLM(
        [
            facts("Alice has a dog named Rex", "Alice owns a parrot"),
            {"action": "update", "id": "1"},
            {"action": "add", "text": "Alice has a parrot"},
        ]
    )
    updated, added = remember(memory, script, candidates=1)
    assert [p[-1]["content"].count('- id "') for p in script.prompts[1:]] == [1, 1]
    assert (updated.event, updated.id, updated.new_text) == ("updated", first.id, "Alice has a dog named Rex")
    assert (added.event, added.fact, added.new_text) == ("added", "Alice owns a parrot", "Alice has a parrot")


class _DeletingExtractor:
    """Decides to update a memory that another writer deletes while the model is thinking."""

    def __init__(self, memory: MemorySystem) -> None:
        self.memory = memory

    def extract(self, messages: Sequence[Message]) -> list[str]:
        return ["Alice lives in Berlin", "", "Alice lives in Berlin", "x\x00"]

    def decide(self, fact: str, memories: Sequence[Memory]) -> Decision:
        self.memory.delete_memory(memories[0].id, user_id="alice")
        return Decision("update", memories[0].id, "Alice lives in Berlin")


def test_a_memory_deleted_meanwhile_is_reported_and_repeats_and_bad_facts_are_handled(memory: MemorySystem) -> None:
    memory.store_memory("Alice lives in Paris", user_id="alice")
    first, bad = memory.remember(SAID, user_id="alice", extractor=_DeletingExtractor(memory))
    assert first.event == "added" and first.problem is not None and "deleted while" in first.problem
    assert (bad.event, bad.fact) == ("skipped", "x\x00") and bad.problem is not None
    assert texts(memory) == ["Alice lives in Berlin"]


def test_changes_serialise_to_json(memory: MemorySystem) -> None:
    [change] = remember(memory, ScriptedLLM([facts("Alice likes tea")]))
    assert json.loads(json.dumps(change.to_dict()))["event"] == "added"


class _RacingExtractor:
    """Decides to add a text that another writer stores while the model is thinking."""

    def __init__(self, memory: MemorySystem) -> None:
        self.memory = memory

    def extract(self, messages: Sequence[Message]) -> list[str]:
        return ["Alice lives in Berlin"]

    def decide(self, fact: str, memories: Sequence[Memory]) -> Decision:
        self.memory.store_memory("Alice lives in Berlin now", user_id="alice")
        return Decision("add", text="Alice lives in Berlin now")


def test_a_text_another_writer_stored_meanwhile_is_reported_unchanged(memory: MemorySystem) -> None:
    memory.store_memory("Alice lives in Paris", user_id="alice")
    [change] = memory.remember(SAID, user_id="alice", extractor=_RacingExtractor(memory))
    assert (change.event, change.problem) == ("unchanged", None)
    assert texts(memory) == ["Alice lives in Berlin now", "Alice lives in Paris"]
    assert [e.action for e in memory.history(change.id or "", user_id="alice")] == ["create"]
