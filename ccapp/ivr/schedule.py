"""Opening hours for IVR ``condition`` nodes: days and time ranges in a named IANA time zone, with
holidays. Shared by all trees (``ivr.schedules``) or kept inside one tree."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Schedule(BaseModel):
    """Opening hours in a named IANA time zone. ``hours`` maps days (``mon``, ``mon-fri``, ``sat,sun``)
    to ranges (``"09:00-17:30"``, several allowed); ``holidays`` are closed all day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tz: str
    hours: dict[str, list[str]]
    holidays: list[date] = Field(default_factory=list)

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Europe/Berlin)") from None
        return value

    @field_validator("hours", mode="before")
    @classmethod
    def _ranges(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[str, list[str]] = {}
        for days, ranges in value.items():
            for day in expand_days(str(days)):
                if day in out:
                    raise ValueError(f"{day} is given twice")
                items = [ranges] if isinstance(ranges, str) else ranges
                if not isinstance(items, list):
                    raise ValueError(f'{days}: give a range like "09:00-17:00" or a list of them')
                for item in items:
                    parse_range(str(item))
                out[day] = [str(item) for item in items]
        return out

    def open_at(self, when_utc: Any) -> bool:
        """Whether the schedule is open at an aware datetime."""
        local = when_utc.astimezone(ZoneInfo(self.tz))
        if local.date() in self.holidays:
            return False
        now = local.time().replace(tzinfo=None)
        for text in self.hours.get(DAYS[local.weekday()], []):
            start, end = parse_range(text)
            if start <= now < end:
                return True
        return False


def expand_days(text: str) -> list[str]:
    """``mon-fri`` → mon…fri; ``sat,sun`` → sat, sun."""
    out: list[str] = []
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{text!r}: days are mon tue wed thu fri sat sun, ranges like mon-fri")
        a, b = DAYS.index(first), DAYS.index(last or first)
        if b < a:
            raise ValueError(f"{text!r}: a day range must run forward (mon-fri, not fri-mon)")
        out.extend(DAYS[a : b + 1])
    return out


def parse_range(text: str) -> tuple[time, time]:
    """``"09:00-17:30"`` → (09:00, 17:30); ``24:00`` is the end of the day."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if match is None:
        raise ValueError(f"{text!r}: write time ranges as HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"{text!r}: not a time of day")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"{text!r}: the range ends before it starts (split ranges over midnight)")
    return start, end
