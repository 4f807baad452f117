"""Writes ``benchmarks/data/temporal.json``: the knowledge-update set of ``benchmarks/temporal.py``.

Forty users, each with a timeline from 2019 to their "now" (2026-11-28): where they
live, where they work, who they date, what they drive and what they like to drink
change once or twice; a breakup ends a relationship with nothing to replace it for
some; a handful of facts never change; purchases, trips and outings happen on dated
days, some of them last week, last month or yesterday. Each change is a dated
conversation with the facts a good extractor would list (with the message each came
from) and the decision a good model would make (``add``, ``supersede`` a named
memory, ``delete`` one). Questions ask for the current state, a past state (with the
year it asks about), and what happened in a span named by time words only.

Each user also shops over the year before "now": eight purchases, a month or more apart,
stored without a date in their words ("Alice bought a winter coat"), so only when they
happened tells them apart. Three questions ask "What did Alice buy last month?" at
different moments (each with its own ``now``), each answered by the one purchase of the
month before. Every earlier purchase still "holds" then (nothing ends a purchase), which
is what tells events from states.

Deterministic (seeded): ``python benchmarks/make_temporal.py`` rewrites the same file.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=timezone.utc)
NAMES = ["Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Keiko",
         "Liam", "Maya", "Nikos", "Olga", "Pedro", "Quinn", "Rosa", "Samir", "Tanya", "Umar", "Vera", "Wes",
         "Ximena", "Yusuf", "Zoe", "Amara", "Bjorn", "Carmen", "Diego", "Esme", "Felix", "Gwen", "Hamid", "Ivy",
         "Jasper", "Kira", "Leon", "Mira", "Nadia"]  # fmt: skip
CITIES = ["Porto", "Berlin", "Lyon", "Toronto", "Osaka", "Denver", "Krakow", "Valencia", "Dublin", "Seoul",
          "Austin", "Milan", "Oslo", "Cape Town", "Melbourne", "Boston"]  # fmt: skip
JOBS = ["a nurse at St. Mary's Hospital", "a data analyst at Finlytics", "a history teacher at Oakridge High",
        "a chef at Bistro Lune", "a software engineer at Nimbus Labs", "an accountant at Gray & Co",
        "a graphic designer at Pixelworks", "a pharmacist at GreenCross", "a journalist at the Daily Ledger",
        "an architect at Stone & Glass"]  # fmt: skip
PARTNERS = ["Sam", "Jordan", "Priya", "Mateo", "Lena", "Omar", "Hana", "Theo", "Sofia", "Ravi"]
CARS = ["a red Toyota Corolla", "a blue Volkswagen Golf", "a grey Tesla Model 3", "a white Honda Civic",
        "a green Subaru Outback", "a black Ford Focus", "a silver Kia Niro"]  # fmt: skip
DRINKS = ["black coffee", "green tea", "oat milk lattes", "hot chocolate", "sparkling water", "chai", "espresso"]
STATIC = ["{n} is allergic to peanuts", "{n} has a sister named {s}", "{n} plays the violin",
          "{n} is vegetarian", "{n} runs half marathons", "{n} speaks Portuguese and German",
          "{n} collects vinyl records", "{n} grew up on a farm"]  # fmt: skip
SIBLINGS = ["Anna", "Marta", "Julia", "Clara", "Eva"]
ITEMS = ["a road bike", "an espresso machine", "a standing desk", "a drone", "noise-cancelling headphones",
         "a kayak", "a telescope", "a sewing machine", "a guitar amplifier", "a camping tent"]  # fmt: skip
TRIPS = ["Lisbon", "Reykjavik", "Marrakesh", "Kyoto", "Prague", "Havana", "Tallinn", "Santorini"]
GOODS = ["a winter coat", "an electric kettle", "a pair of running shoes", "a blender", "a hiking backpack",
         "a smartwatch", "a rice cooker", "a desk lamp", "an air purifier", "a board game", "a cast-iron pan",
         "a yoga mat"]  # fmt: skip
BUY_WORDS = ["What did {n} buy last month?", "What did {n} purchase last month?", "What did {n} get last month?"]
OUTINGS = ["went to a jazz concert", "ran a 10k race", "visited the science museum", "took a pottery class",
           "went bouldering", "saw a ballet", "volunteered at a food bank"]  # fmt: skip

STATE_WORDS = {
    "residence": ("{n} lives in {v}", "I moved to {v} last week.",
                  ["Where does {n} live now?", "Which city is {n} based in these days?"],
                  ["Where did {n} live in {y}?", "Which city was {n} living in in {y}?"]),
    "job": ("{n} works as {v}", "I started a new job: I now work as {v}.",
            ["What is {n}'s job now?", "Where does {n} work at the moment?"],
            ["Where did {n} work in {y}?", "What was {n}'s job in {y}?"]),
    "partner": ("{n} is dating {v}", "I have been seeing {v} for a few weeks now.",
                ["Who is {n} dating now?", "Who is {n}'s partner these days?"],
                ["Who was {n} dating in {y}?", "Who was {n}'s partner in {y}?"]),
    "car": ("{n} drives {v}", "I sold my old car and got {v}.",
            ["What car does {n} drive now?", "What is {n}'s current car?"],
            ["What car did {n} drive in {y}?", "Which car did {n} have in {y}?"]),
    "drink": ("{n}'s favourite drink is {v}", "These days my favourite drink is {v}.",
              ["What is {n}'s favourite drink these days?", "What does {n} like to drink now?"],
              ["What was {n}'s favourite drink in {y}?", "What did {n} like to drink in {y}?"]),
}  # fmt: skip
CHOICES = {"residence": CITIES, "job": JOBS, "partner": PARTNERS, "car": CARS, "drink": DRINKS}


def _at(day: date, hour: int = 19) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def _conversation(day: date, said: list[str], facts: list[dict[str, Any]]) -> dict[str, Any]:
    messages = [{"role": "user", "content": "Hi, quick update about me."}]
    messages += [{"role": "user", "content": text} for text in said]
    for i, message in enumerate(messages):
        message["time"] = (_at(day) + timedelta(minutes=i)).isoformat()
    return {"messages": messages, "facts": facts}


def _timeline(rng: random.Random, n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A user's conversations (oldest first) and questions."""
    start = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 300))
    first = [{"text": STATIC[i].format(n=n, s=rng.choice(SIBLINGS)), "message": 1, "action": "add"}
             for i in rng.sample(range(len(STATIC)), 4)]  # fmt: skip
    changes: list[tuple[date, str, str, str | None]] = []  # day, topic, new value (or "" for an end), old value
    questions: list[dict[str, Any]] = []
    for topic, values in CHOICES.items():
        picked = rng.sample(values, 3)
        text = STATE_WORDS[topic][0]
        first.append({"text": text.format(n=n, v=picked[0]), "message": 1, "action": "add"})
        moves = sorted(date(2020, 6, 1) + timedelta(days=rng.randrange(0, 2200)) for _ in range(rng.choice((1, 2))))
        if moves[-1] - moves[0] < timedelta(days=400) and len(moves) == 2:
            moves = moves[:1]
        held = [(start, picked[0])] + [(day, picked[i + 1]) for i, day in enumerate(moves)]
        ended = topic == "partner" and rng.random() < 0.3
        for i, day in enumerate(moves):
            old = held[i][1]
            changes.append((day, topic, "" if ended and i == len(moves) - 1 else held[i + 1][1], old))
        if ended:
            held[-1] = (held[-1][0], "")
        questions += _state_questions(rng, n, topic, held)
    conversations = [_conversation(start, ["Some things about me."], first)]
    for day, topic, value, old in sorted(changes):
        text, said = STATE_WORDS[topic][0], STATE_WORDS[topic][1]
        if not value:
            fact = {"text": f"{n} broke up with {old}", "message": 1, "action": "delete",
                    "target": text.format(n=n, v=old)}  # fmt: skip
            conversations.append(_conversation(day, [f"{old} and I broke up."], [fact]))
            continue
        fact = {"text": text.format(n=n, v=value), "message": 1, "action": "supersede",
                "target": text.format(n=n, v=old)}  # fmt: skip
        conversations.append(_conversation(day, [said.format(v=value)], [fact]))
    events, event_questions = _events(rng, n)
    return sorted(conversations + events, key=lambda c: c["messages"][0]["time"]), questions + event_questions


def _state_questions(rng: random.Random, n: int, topic: str, held: list[tuple[date, str]]) -> list[dict[str, Any]]:
    text, _, now_words, past_words = STATE_WORDS[topic]
    found = []
    if held[-1][1]:
        found.append({"kind": "current", "topic": topic, "query": rng.choice(now_words).format(n=n),
                      "answer": text.format(n=n, v=held[-1][1])})  # fmt: skip
    bounds = [day for day, _ in held[1:]] + [NOW.date()]
    whole_years = [(y, value) for (begin, value), end in zip(held, bounds, strict=True)
                   for y in range(begin.year + 1, end.year) if value and y < NOW.year]  # fmt: skip
    if held[-1][1] and len(held) > 1 and whole_years:
        year, value = rng.choice([p for p in whole_years if p[1] != held[-1][1]] or whole_years)
        found.append({"kind": "past", "topic": topic, "query": rng.choice(past_words).format(n=n, y=year),
                      "as_of": datetime(year, 7, 1, tzinfo=timezone.utc).isoformat(),
                      "answer": text.format(n=n, v=value)})  # fmt: skip
    return found


def _events(rng: random.Random, n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Dated purchases, trips and outings, with questions about last month, last week, yesterday and a named month."""
    today = NOW.date()
    spans = {  # the span a question names, and days well outside it for the other events of its kind
        "last month": (date(2026, 10, 3), date(2026, 10, 27)),
        "last week": (date(2026, 11, 16), date(2026, 11, 22)),
        "yesterday": (date(2026, 11, 27), date(2026, 11, 27)),
        "in March 2025": (date(2025, 3, 2), date(2025, 3, 28)),
    }
    kinds = [("buy", ITEMS, "{n} bought {v} on {d}", "I just bought {v}!", "What did {n} buy {w}?"),
             ("trip", TRIPS, "{n} travelled to {v} on {d}", "I'm back from a trip to {v}.",
              "Where did {n} travel {w}?"),
             ("outing", OUTINGS, "{n} {v} on {d}", "Today I {v}.", "What did {n} do {w}?")]  # fmt: skip
    conversations, questions = [], []
    for kind, values, text, said, ask in kinds:
        words = rng.choice([w for w in spans if not (kind == "trip" and w == "yesterday")])
        picked = rng.sample(values, 4)
        low, high = spans[words]
        inside = low + timedelta(days=rng.randrange(0, (high - low).days + 1))
        days = [inside] + [today - timedelta(days=rng.randrange(40, 1500)) for _ in range(3)]
        days = [inside] + [d for d in days[1:] if abs((d - inside).days) > 45]
        for value, day in zip(picked, days, strict=False):
            fact = {"text": text.format(n=n, v=value, d=day.isoformat()), "message": 1, "action": "add"}
            conversations.append(_conversation(day, [said.format(v=value)], [fact]))
        questions.append({"kind": "scoped", "topic": kind, "query": ask.format(n=n, w=words),
                          "answer": text.format(n=n, v=picked[0], d=inside.isoformat())})  # fmt: skip
    return conversations, questions


def _purchases(
    rng: random.Random, n: str, taken: set[tuple[int, int]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Eight purchases in eight of the ten months before the last two (which the other questions'
    spans use), none in a month ``taken`` by another purchase, and three "last month" questions,
    each asked the month after one of them."""
    months = [m for m in [(2025, 12)] + [(2026, m) for m in range(1, 10)] if m not in taken]
    days = [date(y, m, rng.randrange(1, 29)) for y, m in sorted(rng.sample(months, min(8, len(months))))]
    goods = rng.sample(GOODS, len(days))
    conversations = [
        _conversation(
            day, [f"I bought {thing} today."], [{"text": f"{n} bought {thing}", "message": 1, "action": "add"}]
        )
        for thing, day in zip(goods, days, strict=True)
    ]
    questions = []
    for thing, day in sorted(zip(goods, days, strict=True), key=lambda p: rng.random())[:3]:
        asked = _month_after(day) + timedelta(days=rng.randrange(0, 27), hours=rng.randrange(8, 22))
        questions.append({"kind": "bought", "topic": "buy", "query": rng.choice(BUY_WORDS).format(n=n),
                          "now": asked.isoformat(), "answer": f"{n} bought {thing}"})  # fmt: skip
    return conversations, questions


def _month_after(day: date) -> datetime:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return datetime(year, month, 1, tzinfo=timezone.utc)


def build(seed: int = 17) -> dict[str, Any]:
    rng = random.Random(seed)
    users = []
    for i, name in enumerate(NAMES):
        conversations, questions = _timeline(rng, name)
        taken = {(int(c["messages"][0]["time"][:4]), int(c["messages"][0]["time"][5:7]))
                 for c in conversations if " bought " in c["facts"][0]["text"]}  # fmt: skip
        bought, asked = _purchases(random.Random(f"{seed}-purchases-{i}"), name, taken)  # apart: the rest is unchanged
        conversations = sorted(conversations + bought, key=lambda c: c["messages"][0]["time"])
        users.append({"user": f"user{i:02d}", "conversations": conversations, "questions": questions + asked})
    return {"now": NOW.isoformat(), "users": users}


def main() -> None:
    path = Path(__file__).parent / "data" / "temporal.json"
    path.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n")
    data = json.loads(path.read_text())
    kinds: dict[str, int] = {}
    for user in data["users"]:
        for q in user["questions"]:
            kinds[q["kind"]] = kinds.get(q["kind"], 0) + 1
    print(f"{path}: {len(data['users'])} users, questions {kinds}")


if __name__ == "__main__":
    main()
