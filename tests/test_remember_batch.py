"""remember(batch_decisions=True): one decision call per conversation, the per-fact guarantees kept."""

from __future__ import annotations

from agent_memory import TASKS, LLMExtractor, MemoryChange, MemorySystem
from agent_memory.extraction import _remember as remember_module
from agent_memory.testing import ScriptedLLM


def facts(*texts: str) -> dict[str, list[str]]:
    return {"facts": list(texts)}


def run(memory: MemorySystem, script: ScriptedLLM, **kwargs: object) -> list[MemoryChange]:
    extractor = LLMExtractor(script)
    changes = memory.remember(
        [{"role": "user", "content": "Some conversation."}],
        user_id="alice",
        extractor=extractor,
        batch_decisions=True,
        **kwargs,  # type: ignore[arg-type]
    )
    assert extractor.usage.calls == len(script.prompts)
    return changes


def handle(memory: MemorySystem, fact_number: int, fact: str, text: str) -> str:
    """The handle remember() will show ``text`` under, among ``fact``'s candidates."""
    shown = memory.search_memory(fact, user_id="alice", top_k=5, task=TASKS["reconcile"])
    return f"{fact_number}.{[h.text for h in shown].index(text) + 1}"


def test_every_fact_is_decided_in_one_call(memory: MemorySystem) -> None:
    memory.store_memories(["Alice lives in Porto", "Alice works as a nurse", "Alice has a cat"], user_id="alice")
    porto = handle(memory, 1, "Alice moved to Lisbon", "Alice lives in Porto")
    nurse = handle(memory, 2, "Alice works nights as a nurse", "Alice works as a nurse")
    script = ScriptedLLM(
        [
            facts("Alice moved to Lisbon", "Alice works nights as a nurse", "Alice likes jazz", "Alice has a cat"),
            {"decisions": [
                {"fact": "1", "action": "update", "id": porto, "text": "Alice lives in Lisbon"},
                {"fact": "2", "action": "update", "id": nurse, "text": "Alice works nights as a nurse"},
                {"fact": "3", "action": "add"},
            ]},
        ]
    )  # fmt: skip
    changes = run(memory, script)
    assert len(script.prompts) == 2  # extraction, then one call for every fact that needed a decision
    assert [c.event for c in changes] == ["updated", "updated", "added", "unchanged"]  # a restatement costs no call
    batch = script.prompts[1][-1]["content"]
    assert 'Fact id "1": Alice moved to Lisbon' in batch and f'id "{porto}": Alice lives in Porto' in batch
    assert 'Fact id "4"' not in batch  # the restated fact was never sent
    assert sorted(m.text for m in memory.list_memories(user_id="alice")) == [
        "Alice has a cat", "Alice likes jazz", "Alice lives in Lisbon", "Alice works nights as a nurse",
    ]  # fmt: skip
    assert not any(c.rechecked for c in changes)


def test_a_handle_from_another_facts_memories_is_refused(memory: MemorySystem) -> None:
    memory.store_memories(["Alice lives in Porto", "Bob is Alice's brother"], user_id="alice")
    script = ScriptedLLM(
        [
            facts("Alice moved to Lisbon", "Alice's brother Bob is a pilot"),
            {"decisions": [
                {"fact": "1", "action": "delete", "id": "2.1"},  # fact 2's handle, invented for fact 1
                {"fact": "2", "action": "update", "id": "2.1", "text": "Bob, Alice's brother, is a pilot"},
            ]},
        ]
    )  # fmt: skip
    first, second = run(memory, script)
    assert first.event == "added" and "unknown memory id" in (first.problem or "")
    assert (
        second.event == "updated" and second.previous is not None and second.previous.text == "Bob is Alice's brother"
    )
    assert memory.count(user_id="alice") == 3  # nothing was deleted on the invented handle


def test_a_fact_shown_a_memory_an_earlier_decision_changed_is_decided_again(memory: MemorySystem) -> None:
    memory.store_memory("Alice lives in Porto", user_id="alice")
    script = ScriptedLLM(
        [
            facts("Alice moved to Lisbon", "Alice's flat in Porto was sold"),
            {"decisions": [
                {"fact": "1", "action": "update", "id": "1.1", "text": "Alice lives in Lisbon"},
                {"fact": "2", "action": "delete", "id": "2.1"},  # decided on the Porto memory, now changed
            ]},
            {"action": "none", "id": "1"},  # asked again, alone, it sees "Alice lives in Lisbon"
        ]
    )  # fmt: skip
    changes = run(memory, script)
    assert len(script.prompts) == 3 and "Alice lives in Lisbon" in script.prompts[2][-1]["content"]
    assert [c.event for c in changes] == ["updated", "unchanged"] and [c.rechecked for c in changes] == [False, True]
    assert [m.text for m in memory.list_memories(user_id="alice")] == ["Alice lives in Lisbon"]


def test_a_fact_the_answer_leaves_out_is_asked_alone_and_a_failed_call_falls_back(memory: MemorySystem) -> None:
    memory.store_memories(["Alice lives in Porto", "Alice likes tea"], user_id="alice")
    script = ScriptedLLM(
        [
            facts("Alice moved to Lisbon", "Alice prefers green tea"),
            {"decisions": [{"fact": "1", "action": "update", "id": "1.1", "text": "Alice lives in Lisbon"}]},
            {"action": "update", "id": "1", "text": "Alice prefers green tea"},
        ]
    )  # fmt: skip
    changes = run(memory, script)
    assert [c.event for c in changes] == ["updated", "updated"] and changes[1].rechecked
    broken = ScriptedLLM([facts("Alice adopted a dog named Rex"), "not json at all"])
    memory.store_memory("Alice has a cat", user_id="alice")
    (change,) = run(memory, broken)
    assert change.event == "added" and "not JSON" in (change.problem or "")


def test_large_conversations_are_split_to_fit_a_small_context(memory: MemorySystem, monkeypatch: object) -> None:
    memory.store_memories([f"Alice visited city number {i}" for i in range(6)], user_id="alice")
    monkeypatch.setattr(remember_module, "BATCH_FACTS", 2)  # type: ignore[attr-defined]
    new = [f"Alice plans to visit city number {i} again" for i in range(5)]
    answers = [{"decisions": [{"fact": str(i), "action": "add"} for i in range(1, n + 1)]} for n in (2, 2, 1)]
    script = ScriptedLLM([facts(*new), *answers])
    changes = run(memory, script)
    assert len(script.prompts) == 4 and [c.event for c in changes] == ["added"] * 5
