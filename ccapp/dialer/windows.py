"""Calling windows: when a lead may be dialled, per weekday, in the lead's own IANA time zone.

A campaign gives windows as local wall-clock times per weekday::

    {"mon-fri": ["09:00-20:00"], "sat": ["10:00-14:00"]}

Keys are a day (``mon`` … ``sun``), a range (``mon-fri``, wrapping ranges like ``fri-mon`` too) or a
comma list (``sat,sun``); values are ``HH:MM-HH:MM`` half-open intervals ``[start, end)`` with ``end``
up to ``24:00``. A window across midnight (``22:00-02:00``) is refused: write it as two windows on two
days (``"fri": ["22:00-24:00"], "sat": ["00:00-02:00"]``) so each weekday says exactly what it allows.
Overlapping windows of one day are merged.

Daylight saving time. Every local window edge becomes one UTC instant (`resolve_local`):

- an edge inside a spring-forward gap (02:30 on the night New York jumps from 02:00 to 03:00) moves to
  the first valid instant after the gap (03:00 local), so a window 02:30-04:00 opens at 03:00;
- an edge inside the fall-back hour, which happens twice, uses the *first* occurrence (``fold=0``,
  daylight time), so a window 00:00-01:30 closes at the first 01:30 and does not reopen for the repeated
  hour, and a window 01:30-09:00 opens at the first 01:30 (the window is then one hour longer in real
  time). Choosing the earlier instant never lets a window close later than its wall time says.

`open_at` and `next_open` compare instants, never wall-clock readings, so the repeated hour cannot
count twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ccapp.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: `next_open` looks this many local days ahead (a full week plus the partial current day).
SCAN_DAYS = 8

_DAY_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Window:
    """One local window ``[start, end)`` in minutes after local midnight (end may be 1440)."""

    start_min: int
    end_min: int

    def __str__(self) -> str:
        return f"{_fmt(self.start_min)}-{_fmt(self.end_min)}"


@dataclass(frozen=True, slots=True)
class CallingWindows:
    """Local windows per weekday (index 0 = Monday), each day sorted and without overlaps."""

    days: tuple[tuple[Window, ...], ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("CallingWindows needs exactly 7 days (Monday first)")

    @classmethod
    def parse(cls, spec: Mapping[str, Sequence[str]], *, key: str = "calling_windows") -> CallingWindows:
        """Parse ``{"mon-fri": ["09:00-20:00"], ...}``; raise `ConfigError` naming every bad entry."""
        problems: list[str] = []
        per_day: list[list[Window]] = [[] for _ in DAYS]
        if not spec:
            problems.append(f"{key}: no calling window at all (the campaign could never dial)")
        for day_spec, ranges in spec.items():
            where = f"{key}.{day_spec}"
            try:
                day_indexes = _parse_days(day_spec)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if isinstance(ranges, str):
                problems.append(f"{where}: expected a list of 'HH:MM-HH:MM' strings, got a string")
                continue
            for text in ranges:
                try:
                    window = _parse_window(text)
                except ValueError as exc:
                    problems.append(f"{where}: {text!r}: {exc}")
                    continue
                for index in day_indexes:
                    per_day[index].append(window)
        if problems:
            raise ConfigError(problems)
        return cls(tuple(_merge(windows) for windows in per_day))

    def intervals(self, day: date, zone: tzinfo) -> list[tuple[datetime, datetime]]:
        """The UTC instants ``[start, end)`` of the windows of local date ``day``; empty ones dropped."""
        result = []
        for window in self.days[day.weekday()]:
            start = resolve_local(_at(day, window.start_min), zone)
            end = resolve_local(_at(day, window.end_min), zone)
            if start < end:
                result.append((start, end))
        return result

    def open_at(self, now_utc: datetime, zone: tzinfo) -> bool:
        """True when ``now_utc`` falls inside a window of the lead's local day in ``zone``."""
        _require_aware(now_utc)
        today = now_utc.astimezone(zone).date()
        # The local day of an instant and the day of its window can differ around DST edges
        # (a 24:00 end resolves on the next day), so look at the neighbours too.
        for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
            if any(start <= now_utc < end for start, end in self.intervals(day, zone)):
                return True
        return False

    def next_open(self, now_utc: datetime, zone: tzinfo) -> datetime | None:
        """The first instant (UTC) at or after ``now_utc`` inside a window; None if none within 8 days."""
        _require_aware(now_utc)
        for start, end in self._upcoming(now_utc, zone):
            if end > now_utc:
                return max(start, now_utc).astimezone(UTC)
        return None

    def _upcoming(self, now_utc: datetime, zone: tzinfo) -> Iterator[tuple[datetime, datetime]]:
        today = now_utc.astimezone(zone).date()
        for offset in range(-1, SCAN_DAYS):
            yield from self.intervals(today + timedelta(days=offset), zone)


def resolve_local(local: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of naive local wall time ``local`` in ``zone``.

    Ambiguous (fall-back) times take the first occurrence; times in a spring-forward gap take the
    first valid instant after the gap (the transition itself).
    """
    if local.tzinfo is not None:
        raise ValueError("resolve_local takes a naive local time")
    first = local.replace(tzinfo=zone, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == local:
        return utc
    # In a gap: fold=1 maps with the offset after the transition (an earlier instant), fold=0 with
    # the one before (a later instant); the transition lies between. Bisect on whole seconds.
    low = int(local.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    high = int(utc.timestamp()) + 1
    if low > high:
        low, high = high, low
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= local:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def local_day_bounds(now_utc: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` of the local calendar day containing ``now_utc`` (23 or 25 h around DST)."""
    _require_aware(now_utc)
    day = now_utc.astimezone(zone).date()
    start = resolve_local(datetime.combine(day, time()), zone)
    end = resolve_local(datetime.combine(day + timedelta(days=1), time()), zone)
    return start, end


def _require_aware(now_utc: datetime) -> None:
    if now_utc.tzinfo is None or now_utc.utcoffset() is None:
        raise ValueError("time must be timezone-aware (UTC)")


def _at(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time()) + timedelta(minutes=minutes)


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_days(text: str) -> list[int]:
    indexes: list[int] = []
    for part in text.lower().replace(" ", "").split(","):
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day_index(first), _day_index(last)
            indexes.extend((a + i) % 7 for i in range((b - a) % 7 + 1))
        else:
            indexes.append(_day_index(part))
    return sorted(set(indexes))


def _day_index(name: str) -> int:
    if name not in DAYS:
        raise ValueError(f"unknown day {name!r} (use {', '.join(DAYS)}, a range like mon-fri or a list)")
    return DAYS.index(name)


def _parse_window(text: str) -> Window:
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError("expected 'HH:MM-HH:MM'")
    first, _, last = text.strip().partition("-")
    start, end = _parse_clock(first), _parse_clock(last)
    if start == _DAY_MINUTES:
        raise ValueError("a window cannot start at 24:00")
    if end == start:
        raise ValueError("empty window (start equals end)")
    if end < start:
        raise ValueError("crosses midnight; split it into 'HH:MM-24:00' and '00:00-HH:MM' on the next day")
    return Window(start, end)


def _parse_clock(text: str) -> int:
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2 or len(hours) > 2:
        raise ValueError(f"bad time {text.strip()!r} (expected HH:MM)")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > _DAY_MINUTES:
        raise ValueError(f"bad time {text.strip()!r} (00:00 to 24:00)")
    return value


def _merge(windows: list[Window]) -> tuple[Window, ...]:
    merged: list[Window] = []
    for window in sorted(windows, key=lambda w: w.start_min):
        if merged and window.start_min <= merged[-1].end_min:
            last = merged[-1]
            merged[-1] = Window(last.start_min, max(last.end_min, window.end_min))
        else:
            merged.append(window)
    return tuple(merged)
