"""examples/langgraph_agent.py runs offline with the scripted fake chat model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "langgraph_agent.py"


def test_langgraph_agent_example(minilm: str) -> None:
    env = {**os.environ, "AGENT_MEMORY_MODEL": minilm, "HF_HUB_OFFLINE": "1"}
    env.pop("AGENT_MEMORY_CHAT_MODEL", None)
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "alice: What am I training for?\n  agent: You are training for the Lisbon marathon." in result.stdout
    assert "alice's memories: ['Alice is training for the Lisbon marathon']" in result.stdout
    assert "bob's memories: ['Bob is allergic to peanuts']" in result.stdout  # remembered by the middleware
