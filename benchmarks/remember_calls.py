"""LLM calls and tokens that ``remember`` costs per conversation, deciding fact by fact or in one batch.

Each LoCoMo session (``--data``; CC BY-NC 4.0, not shipped) is one ``remember`` call
for its conversation's user. A scripted model stands in for the LLM: it lists every
sentence of six words or more that a speaker says as a fact, and decides ``add``
(the decisions do not change what is asked: every fact that has similar memories
needs one). What is measured is the bookkeeping: calls per ``remember``, their
prompt and answer sizes (tokens estimated as characters / 4), and how often a
batched decision had to be made again. ``HashEmbedder`` keeps the model out.

    python benchmarks/remember_calls.py --data ../shared/data/locomo --conversations 2
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from locomo_recall import load_conversations

from agent_memory import LLMExtractor, MemorySystem
from agent_memory.testing import HashEmbedder

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class ScriptedModel(LLMExtractor):
    """Answers extraction and decision prompts deterministically, counting estimated tokens."""

    def complete(self, messages: list[dict[str, str]], schema: Mapping[str, Any]) -> str:
        prompt = "".join(m["content"] for m in messages)
        answer = json.dumps(self._answer(messages[-1]["content"], str(schema.get("title"))))
        self.usage.add(input_tokens=len(prompt) // 4, output_tokens=len(answer) // 4)
        return answer

    @staticmethod
    def _answer(content: str, kind: str) -> object:
        if kind == "MemoryFacts":
            said = [line.split(": ", 2)[-1] for line in content.splitlines()[1:]]
            facts = [s for line in said for s in _SENTENCE.split(line) if len(s.split()) >= 6]
            return {"facts": facts}
        if kind == "MemoryDecisions":
            count = len(re.findall(r'^Fact id "\d+"', content, flags=re.MULTILINE))
            return {"decisions": [{"fact": str(i), "action": "add"} for i in range(1, count + 1)]}
        return {"action": "add"}


def run(conversations: list[Any], batch: bool) -> dict[str, float]:
    model = ScriptedModel()
    calls, facts, rechecked = [], 0, 0
    with MemorySystem(embedder=HashEmbedder(64), path=":memory:") as memory:
        for conversation in conversations:
            for session in dict.fromkeys(t.session for t in conversation.turns):
                said = [{"role": "user", "content": t.text} for t in conversation.turns if t.session == session]
                before = model.usage.calls
                changes = memory.remember(said, user_id=conversation.name, extractor=model, batch_decisions=batch)
                calls.append(model.usage.calls - before)
                facts += len(changes)
                rechecked += sum(c.rechecked for c in changes)
    return {
        "remember_calls": len(calls),
        "facts": facts,
        "llm_calls": sum(calls),
        "llm_calls_per_remember_mean": statistics.fmean(calls),
        "llm_calls_per_remember_max": max(calls),
        "input_tokens_est": model.usage.input_tokens,
        "output_tokens_est": model.usage.output_tokens,
        "rechecks": rechecked,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the LoCoMo directory")
    parser.add_argument("--conversations", type=int, default=None)
    args = parser.parse_args(argv)
    conversations = load_conversations(args.data, args.conversations)
    modes = {"per_fact": run(conversations, batch=False), "batched": run(conversations, batch=True)}
    for mode, row in modes.items():
        print(f"{mode:9} " + "  ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()),
              file=sys.stderr)  # fmt: skip
    print(json.dumps({"benchmark": "remember_calls", "conversations": len(conversations), "modes": modes}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
