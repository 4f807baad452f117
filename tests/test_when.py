"""The time a query names, English and Chinese, against a fixed now (Saturday 2026-11-28, 15:30 in UTC+8)."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_memory.search import _when
from agent_memory.search._when import find_time_range

ZONE = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 15, 30, tzinfo=ZONE)


def d(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=ZONE)


TABLE = [
    ("What did I eat today?", "today", d(2026, 11, 28), d(2026, 11, 29)),
    ("what did I buy yesterday", "yesterday", d(2026, 11, 27), d(2026, 11, 28)),
    ("the day before yesterday", "day before yesterday", d(2026, 11, 26), d(2026, 11, 27)),
    ("What did I tell you last week?", "last week", d(2026, 11, 16), d(2026, 11, 23)),
    ("anything this week?", "this week", d(2026, 11, 23), d(2026, 11, 30)),
    ("What did I buy last month?", "last month", d(2026, 10, 1), d(2026, 11, 1)),
    ("plans this month", "this month", d(2026, 11, 1), d(2026, 12, 1)),
    ("Where did I travel last year?", "last year", d(2025, 1, 1), d(2026, 1, 1)),
    ("goals for this year", "this year", d(2026, 1, 1), d(2027, 1, 1)),
    ("What happened two days ago?", "two days ago", d(2026, 11, 26), d(2026, 11, 27)),
    ("What did I say 3 weeks ago?", "3 weeks ago", d(2026, 11, 2), d(2026, 11, 9)),
    ("a month ago I started yoga", "a month ago", d(2026, 10, 1), d(2026, 11, 1)),
    ("two years ago", "two years ago", d(2024, 1, 1), d(2025, 1, 1)),
    ("in the past 7 days", "in the past 7 days", d(2026, 11, 21), d(2026, 11, 29)),
    ("last 2 weeks", "last 2 weeks", d(2026, 11, 14), d(2026, 11, 29)),
    ("Where did I live in May 2023?", "may 2023", d(2023, 5, 1), d(2023, 6, 1)),
    ("what did we do in May?", "in may", d(2026, 5, 1), d(2026, 6, 1)),
    ("in December", "in december", d(2025, 12, 1), d(2026, 1, 1)),
    ("Where did I live in 2022?", "in 2022", d(2022, 1, 1), d(2023, 1, 1)),
    ("Sept 2024 trip", "sept 2024", d(2024, 9, 1), d(2024, 10, 1)),
    ("what did I do last Monday", "last monday", d(2026, 11, 23), d(2026, 11, 24)),
    ("last Saturday", "last saturday", d(2026, 11, 21), d(2026, 11, 22)),
    ("我今天吃了什么？", "今天", d(2026, 11, 28), d(2026, 11, 29)),
    ("我昨天买了什么", "昨天", d(2026, 11, 27), d(2026, 11, 28)),
    ("前天去了哪里", "前天", d(2026, 11, 26), d(2026, 11, 27)),
    ("大前天", "大前天", d(2026, 11, 25), d(2026, 11, 26)),
    ("上周我说了什么？", "上周", d(2026, 11, 16), d(2026, 11, 23)),
    ("上个星期的事", "上个星期", d(2026, 11, 16), d(2026, 11, 23)),
    ("这周的计划", "这周", d(2026, 11, 23), d(2026, 11, 30)),
    ("上个月买了什么", "上个月", d(2026, 10, 1), d(2026, 11, 1)),
    ("本月的目标", "本月", d(2026, 11, 1), d(2026, 12, 1)),
    ("两天前发生了什么", "两天前", d(2026, 11, 26), d(2026, 11, 27)),
    ("3天前", "3天前", d(2026, 11, 25), d(2026, 11, 26)),
    ("三个月前我在哪", "三个月前", d(2026, 8, 1), d(2026, 9, 1)),
    ("十二天以前", "十二天以前", d(2026, 11, 16), d(2026, 11, 17)),
    ("去年五月我住在哪里？", "去年五月", d(2025, 5, 1), d(2025, 6, 1)),
    ("今年三月", "今年三月", d(2026, 3, 1), d(2026, 4, 1)),
    ("2023年5月的旅行", "2023年5月", d(2023, 5, 1), d(2023, 6, 1)),
    ("去年我去了哪里", "去年", d(2025, 1, 1), d(2026, 1, 1)),
    ("前年", "前年", d(2024, 1, 1), d(2025, 1, 1)),
    ("2022年我住在哪里", "2022年", d(2022, 1, 1), d(2023, 1, 1)),
    ("十二月的计划", "十二月", d(2025, 12, 1), d(2026, 1, 1)),
]


@pytest.mark.parametrize(("query", "phrase", "start", "end"), TABLE, ids=[row[0] for row in TABLE])
def test_every_expression_in_the_table(query: str, phrase: str, start: datetime, end: datetime) -> None:
    found = find_time_range(query, NOW)
    assert found is not None
    assert (found.phrase.casefold(), found.start, found.end) == (phrase, start, end)


@pytest.mark.parametrize(
    "query",
    [
        "Where does Alice live now?",
        "What is Alice's job?",
        "May I ask about tea?",
        "她喜欢什么",
        "十三月",
        "Porto 2022 trip",
    ],
)
def test_a_query_that_names_no_time_gives_none(query: str) -> None:
    assert find_time_range(query, NOW) is None


@pytest.mark.parametrize(
    ("query", "now"),
    [
        ("what happened 100000000 days ago", NOW),
        ("99999999999天前", NOW),
        ("9999 years ago", NOW),
        ("yesterday", datetime(1, 1, 1, tzinfo=timezone.utc)),
        ("last month", datetime(1, 1, 1, tzinfo=timezone.utc)),
        ("this year", datetime(9999, 12, 31, 23, tzinfo=timezone.utc)),
        ("上个月", datetime(1, 1, 1, tzinfo=timezone.utc)),
    ],
)
def test_a_time_beyond_the_calendar_is_no_time_named(query: str, now: datetime) -> None:
    """Found by a hostile client: these raised OverflowError out of the parser (a plain 500)."""
    assert find_time_range(query, now) is None


def _unbounded_repeats(pattern: re.Pattern[str]) -> list[str]:
    """The repeats of a compiled pattern with no upper bound (``+``, ``*``, ``{n,}``), as text."""
    parser: Any = getattr(re, "_parser", None) or __import__("sre_parse")  # Python 3.11+: re._parser
    found: list[str] = []

    def walk(items: Any) -> None:
        for op, arg in items:
            if str(op) in ("MAX_REPEAT", "MIN_REPEAT") and arg[1] == parser.MAXREPEAT:
                found.append(f"{op} {arg[0]}..")
            for part in arg if isinstance(arg, (list, tuple)) else ():
                if isinstance(part, parser.SubPattern):
                    walk(part)
                elif isinstance(part, list):  # BRANCH: (None, [SubPattern, ...])
                    for sub in part:
                        if isinstance(sub, parser.SubPattern):
                            walk(sub)

    walk(parser.parse(pattern.pattern))
    return found


def test_no_rule_repeats_without_bound() -> None:
    """An unbounded ``\\d+`` tried at every place of a long digit run is quadratic (8,000 digits took
    0.8 s, 24,000 took 6.7 s and froze the server): every rule's repeats have an upper bound."""
    assert {rule[0].pattern: _unbounded_repeats(rule[0]) for rule in _when._RULES} == {
        rule[0].pattern: [] for rule in _when._RULES
    }


def test_the_checker_sees_an_unbounded_repeat() -> None:
    assert _unbounded_repeats(re.compile(r"(\d+|[一二]+)天前"))
    assert _unbounded_repeats(re.compile(r"a(?:b|c*)")) and not _unbounded_repeats(re.compile(r"\d{1,4}(?:b|c)"))


_PIECES = [*"0123456789零一二两三四五六七八九十 天周月年前以个", "days ago ", "last ", "in ", "yesterday "]
_HOSTILE = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=30).map("".join)


@settings(max_examples=int(os.environ.get("AGENT_MEMORY_HYPOTHESIS_EXAMPLES", "25")), deadline=None)
@given(seed=_HOSTILE, repeat=st.integers(1, 100_000))
def test_any_text_is_read_within_a_fixed_budget(seed: str, repeat: int) -> None:
    """Up to 100,000 characters of digits, numerals and time words: each rule's pattern is run once,
    over at most MAX_SCAN_CHARS characters, whatever the length (counted, not timed)."""
    query = (seed * repeat)[:100_000] or "1"
    calls: list[int] = []

    class Counting:
        def __init__(self, pattern: re.Pattern[str]) -> None:
            self.pattern = pattern

        def search(self, text: str) -> re.Match[str] | None:
            calls.append(len(text))
            return self.pattern.search(text)

    rules = [(Counting(p), span) for p, span in _when._RULES]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_when, "_RULES", rules)
        find_time_range(query, NOW)
    assert len(calls) <= len(rules) and max(calls) <= _when.MAX_SCAN_CHARS
