"""Memory from conversations: an LLM extracts the lasting facts and reconciles them with what is remembered.

With a real LLM configured (any OpenAI-compatible chat server: OpenAI, ``vllm serve``,
Ollama...), it does the extracting and deciding::

    AGENT_MEMORY_LLM_MODEL=Qwen/Qwen3-8B AGENT_MEMORY_LLM_BASE_URL=http://127.0.0.1:8001/v1 \\
        python examples/remember_conversation.py

Without one it runs offline: ``ScriptedLLM`` answers what a good model would, so the
whole flow (add, a refinement that updates, a contradiction that replaces, a repeat
that changes nothing, and the history that keeps the old text) can be seen working.
"""

from __future__ import annotations

import os

from agent_memory import LLMExtractor, MemorySystem, OpenAIExtractor
from agent_memory.testing import ScriptedLLM

FIRST = [
    {"role": "user", "content": "Hi! I'm Alice. I live in Paris and I have a dog.", "time": "2024-05-06T09:00:00"},
    {"role": "assistant", "content": "Nice to meet you, Alice!"},
]
SECOND = [
    {"role": "user", "content": "My dog is called Rex, by the way.", "time": "2024-05-08T18:30:00"},
    {"role": "user", "content": "And big news: I moved to Berlin last week!", "time": "2024-05-08T18:31:00"},
]
THIRD = [{"role": "user", "content": "我下周五要去罗马。", "time": "2024-05-09T12:00:00"}]  # Rome, next Friday

SCRIPT = [
    {"facts": ["Alice lives in Paris", "Alice has a dog"]},  # nothing stored yet: both added, no decision asked
    {"facts": ["Alice's dog is called Rex", "Alice moved to Berlin around 2024-05-01", "Alice has a dog"]},
    {"decisions": [  # one call for the conversation; "Alice has a dog" is restated, so it is not asked about
        {"fact": "1", "action": "update", "id": "1.1", "text": "Alice has a dog called Rex"},  # a refinement
        {"fact": "2", "action": "update", "id": "2.1",
         "text": "Alice lives in Berlin (moved from Paris around 2024-05-01)"},
    ]},
    {"facts": ["爱丽丝将于2024-05-17去罗马"]},
    {"decisions": [{"fact": "1", "action": "add"}]},
]  # fmt: skip


def extractor() -> LLMExtractor:
    """The configured LLM, or the scripted stand-in offline."""
    model = os.environ.get("AGENT_MEMORY_LLM_MODEL")
    if model:
        url = os.environ["AGENT_MEMORY_LLM_BASE_URL"]
        return OpenAIExtractor(model, base_url=url, api_key=os.environ.get("AGENT_MEMORY_LLM_API_KEY"))
    return LLMExtractor(ScriptedLLM(SCRIPT))


def main() -> None:
    llm = extractor()
    with MemorySystem(path=":memory:") as memory:
        for number, conversation in enumerate([FIRST, SECOND, THIRD], start=1):
            print(f"conversation {number}:")
            for change in memory.remember(conversation, user_id="alice", extractor=llm):
                detail = f"{change.old_text!r} -> {change.new_text!r}" if change.event == "updated" else change.fact
                print(f"  {change.event:<9} {detail}" + (f"  (problem: {change.problem})" if change.problem else ""))
        print("alice's memories:")
        for m in memory.list_memories(user_id="alice"):
            print(f"  {m.text}")
            for event in memory.history(m.id, user_id="alice")[1:]:
                print(f"    was {event.old_text!r} ({event.action} by {event.actor})")
        print(f"LLM calls: {llm.usage.calls}")


if __name__ == "__main__":
    main()
