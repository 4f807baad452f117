"""Events and states: what a memory is, when nobody said (the rule time-aware search uses).

An **event** happened at its time ("Alice bought an electric kettle", "王芳上周去了云南");
a **state** holds from its time until something ends it ("Alice lives in Porto",
"王芳在上海工作"). A question about a span ("What did I buy last month?") asks for events
that *happened* in it; a state that held through it answers "Where did I live in 2022?".

``remember()``'s extractor says which a fact is, and ``store_memory(kind=...)`` takes it.
For a memory with no ``kind``, :func:`guess_kind` reads the text, in English and Chinese:

* a plan or a future ("plans to", "will", "next month", "打算", "明年", "要去") makes a state;
* else a completed action makes an event: an English past-tense verb of doing (bought,
  visited, went, travelled, took, saw, met, attended, ran, finished, celebrated, joined, ...;
  not "moved", "grew up" or "was", which begin or describe states), or a Chinese verb with
  了 or 过 (买了, 去过, 参加了, 做了...), or a day named as past ("yesterday", "last week",
  "on 2024-06-20", "昨天", "上周", "去年");
* anything else is a state.

A query asks for events when it asks what someone did ("What did Alice buy last month?",
"Where did she travel in May?", "上个月买了什么"): :func:`asked_kind` finds a verb of doing
(do, buy, get, go, visit, travel, see, meet, attend, ...; 做, 买, 去, 干, 参加...) and no verb
of being or having (live, work, like, drive, have, date...; 住, 喜欢, 工作, 是). Then a state
that merely held through the span is not what it asks for either.

The rules are deliberately small: they decide only between ranking rules (see
:func:`agent_memory.search._time_rank.favour_range`), never what is stored.
"""

from __future__ import annotations

import re

from agent_memory._types import Memory

__all__ = ["asked_kind", "guess_kind", "kind_of"]

_PLAN = re.compile(
    r"\b(?:plans?|planning|intends?|wants?|hopes?) to\b|\bwill\b|\bgoing to\b|\bnext (?:week|month|year|\w+day)\b"
    r"|打算|计划|准备|想要|将要|要去|即将|快要|下周|下个月|明年|下次",
    re.IGNORECASE,
)
_EVENT = re.compile(
    r"\b(?:bought|purchased|ordered|visited|went|travel+ed|flew|took|saw|watched|met|attended|ran|hiked|climbed|"
    r"swam|celebrated|won|finished|completed|graduated|married|adopted|volunteered|cooked|baked|painted|wrote|"
    r"played|competed|signed up|joined|returned|came back|was born|gave birth|died|passed away|broke up|spent|"
    r"received|sold|injured|broke|fixed|repaired|launched|opened|had (?:a|an) (?:baby|party|surgery|accident))\b"
    r"|\b(?:yesterday|last (?:week|month|year|night|weekend|\w+day))\b|\bon \d{4}-\d\d-\d\d\b"
    r"|(?:买|购|去|到|看|参加|参观|游览|旅行|旅游|拍|办|跑|爬|吃|见|遇到|生|结婚|离婚|做|完成|毕业|获得|赢|输|学会|卖)[了过](?!敏)"
    r"|昨天|前天|上周|上个月|上个星期|去年|刚刚|那天",
    re.IGNORECASE,
)


_DOING = re.compile(
    r"\b(?:do|does|doing|buy|buys|purchase|get|go|goes|visit|travel|see|watch|attend|meet|make|cook|bake|try|"
    r"win|finish|order|take|happen|happened)\b"
    r"|(?:做|买|去|干|参加|参观|玩|看|吃|见|发生)了?(?:什么|哪|啥|谁)",
    re.IGNORECASE,
)
_BEING = re.compile(
    r"\b(?:live|lives|living|work|works|working|like|likes|love|loves|prefer|drive|drives|own|owns|have|has|"
    r"date|dating|study|know|want)\b|住|喜欢|工作|是",
    re.IGNORECASE,
)


def asked_kind(query: str) -> str:
    """``"event"`` when the query asks what someone did, else ``"state"`` (see the module's docstring)."""
    return "event" if _DOING.search(query) and not _BEING.search(query) else "state"


def guess_kind(text: str) -> str:
    """``"event"`` or ``"state"`` for a memory's text, by the module's rule."""
    if _PLAN.search(text):
        return "state"
    return "event" if _EVENT.search(text) else "state"


def kind_of(memory: Memory) -> str:
    """The memory's kind: the one it was stored with, else the guess from its text."""
    return memory.kind or guess_kind(memory.text)
