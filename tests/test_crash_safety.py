"""SIGKILL in the middle of a large import into the embedded store: what was acknowledged survives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from agent_memory import MemorySystem
from agent_memory.testing import HashEmbedder

TOTAL = 3000


def test_sigkill_mid_import_loses_nothing_acknowledged(db_path: str) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from agent_memory import MemorySystem
        from agent_memory.testing import HashEmbedder
        texts = [f"fact number {{i}}" for i in range({TOTAL})]
        with MemorySystem(embedder=HashEmbedder(), path={db_path!r}) as memory:
            for start in range(0, len(texts), 50):  # each call returns only once its memories are written
                for m in memory.store_memories(texts[start : start + 50], user_id="alice"):
                    print(m.id, m.text, flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    acknowledged: dict[str, str] = {}
    for line in child.stdout:
        memory_id, text = line.rstrip("\n").split(" ", 1)
        acknowledged[memory_id] = text
        if len(acknowledged) >= 1000:
            os.kill(child.pid, signal.SIGKILL)  # mid-write: the child is still storing
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    with MemorySystem(embedder=HashEmbedder(), path=db_path) as memory:  # the store opens
        stored = {m.id: m for m in memory.iter_memories(user_id="alice")}
        for memory_id, text in acknowledged.items():  # every acknowledged memory is there, intact
            assert stored[memory_id].text == text
        assert all(m.text.startswith("fact number ") and m.created_at is not None for m in stored.values())
        assert len({m.text for m in stored.values()}) == len(stored)  # no duplicates, no half records
        rerun = memory.store_memories([f"fact number {i}" for i in range(TOTAL)], user_id="alice", progress=False)
        assert len({m.id for m in rerun}) == TOTAL and memory.count() == TOTAL  # no duplicates after a re-run
        hits = memory.search_memory("fact number 7", user_id="alice", top_k=10)  # the index answers
        assert len(hits) == 10 and {h.memory.id for h in hits} <= {m.id for m in rerun}
