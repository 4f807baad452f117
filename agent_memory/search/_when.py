"""Time named in a query ("last week", "in May 2023", "三天前", "去年五月"), as a range of time.

No LLM call and no dependency: a small parser for the expressions agents are asked
about, in English and Chinese, each tested against a fixed "now" in
``tests/test_when.py``. Calendar units follow the calendar: "last week" is the
Monday-to-Monday week before this one, "in May" the latest May that has begun,
"three days ago" that whole day. Days start at midnight in the zone of ``now``.
The first expression found wins; a query with none gives ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from agent_memory._times import check_time, epoch_ms, zone

__all__ = ["MAX_SCAN_CHARS", "TimeRange", "find_time_range", "named_time"]


@dataclass(frozen=True)
class TimeRange:
    """From ``start`` (inclusive) to ``end`` (exclusive), and the words of the query that said so."""

    start: datetime
    end: datetime
    phrase: str

    def without_phrase(self, query: str) -> str:
        """``query`` without the words that named the time (what is left to match memories' words)."""
        return " ".join(query.replace(self.phrase, " ").split())

    @property
    def start_ms(self) -> int:
        return epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return epoch_ms(self.end)


_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}  # fmt: skip
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_YEARS_BACK = {"前年": 2, "去年": 1, "今年": 0}
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]  # fmt: skip
_MONTH_WORDS = {m: i + 1 for i, m in enumerate(_MONTHS)} | {m[:3]: i + 1 for i, m in enumerate(_MONTHS)}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# Numbers are bounded and cannot start inside a longer run of digits or numerals, so that every rule
# matches in time linear in the text (an unbounded ``\d+`` tried at each place of a long run of digits is
# quadratic). No calendar expression needs more: "9999 days ago" is 27 years.
_EN_NUM = r"(\d{1,4}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_ZH_NUM = r"(?<![\d零一二两三四五六七八九十])(\d{1,4}|[零一二两三四五六七八九十]{1,3})"
MAX_SCAN_CHARS = 2000
"""How much of a query the parser reads: a time named after that is not seen (queries are short;
this bounds the work of a long one)."""


def _day(now: datetime, days_back: int = 0) -> datetime:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start - timedelta(days=days_back)


def _month_start(year: int, month: int, like: datetime) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return like.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def _days(now: datetime, back: int, length: int = 1) -> tuple[datetime, datetime]:
    start = _day(now, back)
    return start, start + timedelta(days=length)


def _week(now: datetime, back: int) -> tuple[datetime, datetime]:
    monday = _day(now, now.weekday()) - timedelta(weeks=back)
    return monday, monday + timedelta(weeks=1)


def _month(now: datetime, back: int) -> tuple[datetime, datetime]:
    start = _month_start(now.year, now.month - back, now)
    return start, _month_start(start.year, start.month + 1, now)


def _year(now: datetime, year: int) -> tuple[datetime, datetime]:
    return _month_start(year, 1, now), _month_start(year + 1, 1, now)


def _named_month(now: datetime, month: int, year: int | None) -> tuple[datetime, datetime]:
    """A month of a year, or the latest one of that name that has begun."""
    if not 1 <= month <= 12:
        raise ValueError(f"no month {month}")
    if year is None:
        year = now.year if month <= now.month else now.year - 1
    start = _month_start(year, month, now)
    return start, _month_start(year, month + 1, now)


def _en_number(word: str) -> int:
    return int(word) if word.isdigit() else _EN_NUMBERS[word]


def _zh_number(text: str) -> int:
    """Chinese numerals up to 99 (三, 十二, 二十, 两), or digits."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_ZH_DIGITS[tens] if tens else 1) * 10 + (_ZH_DIGITS[ones] if ones else 0)
    return _ZH_DIGITS[text]


def _ago(unit: str, count: int, now: datetime) -> tuple[datetime, datetime]:
    if unit in ("day", "天"):
        return _days(now, count)
    if unit in ("week", "周", "星期", "个星期", "礼拜", "个礼拜"):
        return _week(now, count)
    if unit in ("month", "个月", "月"):
        return _month(now, count)
    return _year(now, now.year - count)


def _past(unit: str, count: int, now: datetime) -> tuple[datetime, datetime]:
    """The last ``count`` days, weeks or months (of 30 days) up to the end of today."""
    days = count * {"day": 1, "week": 7, "month": 30}[unit]
    return _day(now, days), _days(now, 0)[1]


Rule = tuple[re.Pattern[str], Callable[[re.Match[str], datetime], tuple[datetime, datetime]]]

_RULES: list[Rule] = [
    # English: fixed words
    (re.compile(r"\bday before yesterday\b"), lambda m, now: _days(now, 2)),
    (re.compile(r"\byesterday\b"), lambda m, now: _days(now, 1)),
    (re.compile(r"\btoday\b"), lambda m, now: _days(now, 0)),
    (re.compile(rf"\b(?:in the )?(?:past|last) {_EN_NUM} (day|week|month)s?\b"),
     lambda m, now: _past(m.group(2), _en_number(m.group(1)), now)),
    (re.compile(rf"\b{_EN_NUM} (day|week|month|year)s? ago\b"),
     lambda m, now: _ago(m.group(2), _en_number(m.group(1)), now)),
    (re.compile(r"\blast week\b"), lambda m, now: _week(now, 1)),
    (re.compile(r"\bthis week\b"), lambda m, now: _week(now, 0)),
    (re.compile(r"\blast month\b"), lambda m, now: _month(now, 1)),
    (re.compile(r"\bthis month\b"), lambda m, now: _month(now, 0)),
    (re.compile(r"\blast year\b"), lambda m, now: _year(now, now.year - 1)),
    (re.compile(r"\bthis year\b"), lambda m, now: _year(now, now.year)),
    (re.compile(r"\blast (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"),
     lambda m, now: _days(now, (now.weekday() - _WEEKDAYS.index(m.group(1))) % 7 or 7)),
    (re.compile(r"\b(january|february|march|april|may|june|july|august|september|october|november|december|"
                r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.? (?:of )?((?:19|20)\d\d)\b"),
     lambda m, now: _named_month(now, _MONTH_WORDS[m.group(1)[:3]], int(m.group(2)))),
    (re.compile(r"\bin (january|february|march|april|may|june|july|august|september|october|november|december)\b"),
     lambda m, now: _named_month(now, _MONTH_WORDS[m.group(1)], None)),
    (re.compile(r"\b(?:in|during|of) ((?:19|20)\d\d)\b"), lambda m, now: _year(now, int(m.group(1)))),
    # Chinese
    (re.compile(r"大前天"), lambda m, now: _days(now, 3)),
    (re.compile(r"前天"), lambda m, now: _days(now, 2)),
    (re.compile(r"昨天|昨日"), lambda m, now: _days(now, 1)),
    (re.compile(r"今天|今日"), lambda m, now: _days(now, 0)),
    (re.compile(rf"{_ZH_NUM}(天|周|个星期|星期|个礼拜|礼拜|个月|年)(?:以)?前"),
     lambda m, now: _ago(m.group(2), _zh_number(m.group(1)), now)),
    (re.compile(r"上(?:个)?(?:周|星期|礼拜)"), lambda m, now: _week(now, 1)),
    (re.compile(r"(?:这|本)(?:个)?(?:周|星期|礼拜)"), lambda m, now: _week(now, 0)),
    (re.compile(r"上(?:个)?月"), lambda m, now: _month(now, 1)),
    (re.compile(r"(?:这|本)(?:个)?月"), lambda m, now: _month(now, 0)),
    (re.compile(r"((?:19|20)\d\d)年" + _ZH_NUM + r"月"),
     lambda m, now: _named_month(now, _zh_number(m.group(2)), int(m.group(1)))),
    (re.compile(r"(前年|去年|今年)" + _ZH_NUM + r"月"),
     lambda m, now: _named_month(now, _zh_number(m.group(2)), now.year - _ZH_YEARS_BACK[m.group(1)])),
    (re.compile(r"前年"), lambda m, now: _year(now, now.year - 2)),
    (re.compile(r"去年"), lambda m, now: _year(now, now.year - 1)),
    (re.compile(r"今年"), lambda m, now: _year(now, now.year)),
    (re.compile(r"((?:19|20)\d\d)年"), lambda m, now: _year(now, int(m.group(1)))),
    (re.compile(_ZH_NUM + r"月(?!份?前)"), lambda m, now: _named_month(now, _zh_number(m.group(1)), None)),
]  # fmt: skip


def find_time_range(query: str, now: datetime) -> TimeRange | None:
    """The time the query names, relative to ``now`` (an aware datetime, in the user's zone), read
    in the first :data:`MAX_SCAN_CHARS` characters; ``None`` when none is named there, or when the
    one named is not a date the calendar has ("十三月", "9999 years ago" in year 2026)."""
    text = query[:MAX_SCAN_CHARS].casefold()
    for pattern, span in _RULES:
        found = pattern.search(text)
        if found:
            try:
                start, end = span(found, now)
            except (KeyError, ValueError, OverflowError):  # not a time, or beyond the calendar
                continue
            return TimeRange(start, end, query[found.start() : found.end()])
    return None


def named_time(query: str, now: object, tz: str | tzinfo | None) -> TimeRange | None:
    """The span of time the query names, read against ``now``: a time with an offset is read in its
    own zone (the caller's clock: "yesterday" is the caller's yesterday), a naive one in ``tz``;
    by default the current time in ``tz``."""
    moment = check_time(now, "now", tz) or datetime.now(zone(tz))
    return find_time_range(query, moment)
