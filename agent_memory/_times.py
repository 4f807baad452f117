"""Times as callers give them: checked, in a zone, as epoch milliseconds.

``since``/``until`` take a ``datetime`` or an ISO 8601 string; a value without a
zone is read in ``tz`` (an IANA name or a ``tzinfo``), by default the zone
``AGENT_MEMORY_TZ`` names, else UTC: the same on every surface. The CLI also takes
relative forms: ``7d``, ``2w``, ``12h``, ``30m``.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent_memory import _config
from agent_memory._errors import InvalidTypeError, ValidationError

__all__ = ["check_time", "epoch_ms", "now_epoch_ms", "relative_time", "zone"]

_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return int(moment.timestamp() * 1000)


def now_epoch_ms() -> int:
    """This process's clock, in milliseconds since the epoch (what claims and the change feed stamp)."""
    return time.time_ns() // 1_000_000


def zone(tz: str | tzinfo | None) -> tzinfo:
    """The zone a naive time is read in: ``tz``, else ``AGENT_MEMORY_TZ``'s, else UTC."""
    if tz is None:
        tz = _config.default_zone()
    if isinstance(tz, tzinfo):
        return tz
    if not isinstance(tz, str):
        raise InvalidTypeError(f"tz must be an IANA zone name or a tzinfo, got {type(tz).__name__}")
    try:
        if len(tz) > _MAX_TIME_TEXT:  # IANA names are short; a long one is a file name too long to look up
            raise ValueError(tz)
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {tz[:80]!r} (an IANA name such as 'Europe/Lisbon')") from None


_EARLIEST = datetime(2, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(9998, 12, 31, tzinfo=timezone.utc)
_MAX_TIME_TEXT = 64  # the longest ISO 8601 time with microseconds and an offset is 32 characters


def check_time(value: object, name: str, tz: str | tzinfo | None = None) -> datetime | None:
    """``value`` (a datetime or an ISO 8601 string) as an aware datetime; naive ones are in ``tz``.

    Years 2 to 9998 (UTC) only, so that no reading of it ("the day before", "last year") can
    leave the calendar; :class:`~agent_memory.Limits` ``max_time_years`` narrows this at the gate.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > _MAX_TIME_TEXT:
            raise ValidationError(f"{name} has {len(value):,} characters: not an ISO 8601 date or time")
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{name}={value!r} is not an ISO 8601 date or time") from None
    if not isinstance(value, datetime):
        raise InvalidTypeError(f"{name} must be a datetime or an ISO 8601 string, got {type(value).__name__}")
    moment = value if value.tzinfo is not None else value.replace(tzinfo=zone(tz))
    try:
        inside = _EARLIEST <= moment.astimezone(timezone.utc) <= _LATEST
    except (OverflowError, ValueError):
        inside = False
    if not inside:
        raise ValidationError(f"{name}={moment.isoformat()} is outside the years 2 to 9998 that times may name")
    return moment


def relative_time(text: str, now: datetime, tz: str | tzinfo | None = None) -> datetime:
    """``7d``/``2w``/``12h``/``30m`` before ``now``, or an ISO 8601 date or time (the CLI's form)."""
    match = _RELATIVE.match(text)
    if match:
        try:
            return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        except OverflowError:
            raise ValidationError(f"{text.strip()!r} reaches beyond the calendar") from None
    found = check_time(text, "time", tz)
    if found is None:  # only None itself reads as no time, and text is a str
        raise ValidationError(f"{text!r} is not a time")
    return found
