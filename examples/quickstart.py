"""Quickstart: store memories for two users and search them.

Run it with the default Qwen3-Embedding-0.6B (downloaded once), or offline with a
local model:  AGENT_MEMORY_MODEL=/path/to/model python examples/quickstart.py
"""

from agent_memory import MemorySystem

with MemorySystem(path=":memory:") as memory:  # drop path= to keep memories on disk
    memory.store_memories(
        ["Alice likes coffee", "Alice is allergic to peanuts", "用户 Alice 喜欢喝咖啡"],
        user_id="alice",
    )
    memory.store_memory("Bob prefers green tea", user_id="bob", metadata={"source": "chat"})

    for user, question in [("alice", "What does Alice drink?"), ("bob", "What does Bob drink?")]:
        print(f"{user}: {question}")
        for hit in memory.search_memory(question, user_id=user, top_k=3):
            print(f"  {hit.score:.3f}  {hit.text}")

    # Bob's searches never see Alice's memories.
    assert all(h.memory.user_id == "bob" for h in memory.search_memory("coffee", user_id="bob"))
