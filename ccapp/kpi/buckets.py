"""Report intervals in an IANA time zone, as whole-second arithmetic the database can do too. Pure.

A zone's UTC offset is piecewise constant: `zone_pieces` lists the pieces over a period. Within a
piece, the local 15-minute, hour or day bucket of an instant ``e`` (integer epoch seconds, floored)
is ``(e + offset) // size`` — the same integer expression on SQLite and PostgreSQL, so SQL groups by
``(bucket, offset)`` and `label` turns each group into the interval's key. Weeks (starting Monday)
and months are folded from local days in Python.

A 15-minute or hour bucket keeps its offset in its key: on the night clocks go back, the two local
01:00 hours are two rows (``01:00-04:00`` then ``01:00-05:00``). A day is one row however long it is
(23 or 25 hours on DST days), keyed by its local midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from ccapp.kpi.definitions import Interval

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DATE = date(1970, 1, 1)
#: bucket size in seconds of the intervals SQL buckets directly (weeks and months fold days)
SQL_SIZE: dict[Interval, int] = {
    Interval.MIN15: 900,
    Interval.HOUR: 3600,
    Interval.DAY: 86400,
    Interval.WEEK: 86400,
    Interval.MONTH: 86400,
}
#: how far apart offset probes are when looking for a zone's transitions (real zones change at
#: most twice a year, never twice within this step)
_PROBE_S = 6 * 3600


def epoch_s(dt: datetime) -> int:
    """Whole epoch seconds of an aware datetime, floored (what the SQL ``epoch_s`` construct gives)."""
    delta = dt - EPOCH
    return delta.days * 86400 + delta.seconds


def epoch_us(dt: datetime) -> int:
    """Epoch microseconds of an aware datetime (exact)."""
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch(seconds: int) -> datetime:
    """The UTC datetime of whole epoch seconds."""
    return EPOCH + timedelta(seconds=seconds)


def _offset(zone: ZoneInfo, e: int) -> int:
    off = from_epoch(e).astimezone(zone).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


@dataclass(frozen=True, slots=True)
class Piece:
    """From ``since`` (epoch seconds) on, the zone is ``offset`` seconds ahead of UTC."""

    since: int
    offset: int


def zone_pieces(zone: str, start: datetime, end: datetime) -> list[Piece]:
    """The constant-offset pieces of ``zone`` over ``[start, end)``; the first starts at ``start``."""
    tz = ZoneInfo(zone)
    lo, hi = epoch_s(start), max(epoch_s(start), epoch_s(end))
    pieces = [Piece(lo, _offset(tz, lo))]
    t = lo
    while t < hi:
        nxt = min(t + _PROBE_S, hi)
        if _offset(tz, nxt) != pieces[-1].offset:
            a, b = t, nxt  # offset(a) is the current one, offset(b) differs: bisect to the second
            while b - a > 1:
                mid = (a + b) // 2
                if _offset(tz, mid) == pieces[-1].offset:
                    a = mid
                else:
                    b = mid
            pieces.append(Piece(b, _offset(tz, b)))
        t = nxt
    return pieces


def offset_at(pieces: list[Piece], e: int) -> int:
    """The offset in effect at epoch second ``e`` (the last piece starting at or before it)."""
    off = pieces[0].offset
    for p in pieces[1:]:
        if p.since > e:
            break
        off = p.offset
    return off


@dataclass(frozen=True, order=True, slots=True)
class Label:
    """An interval's key: its UTC start (sorts) and its local start as ISO 8601 text with offset."""

    start_s: int
    iso: str


def _midnight(zone: str, day: date) -> Label:
    local = datetime.combine(day, time(), ZoneInfo(zone))
    return Label(epoch_s(local), local.isoformat())


def label(interval: Interval, zone: str, bucket: int, offset: int) -> Label:
    """The interval that SQL bucket ``bucket`` (of size ``SQL_SIZE[interval]``) at ``offset`` lies in."""
    size = SQL_SIZE[interval]
    if interval in (Interval.MIN15, Interval.HOUR):
        start_s = bucket * size - offset
        local = (EPOCH + timedelta(seconds=bucket * size)).replace(tzinfo=timezone(timedelta(seconds=offset)))
        return Label(start_s, local.isoformat())
    day = EPOCH_DATE + timedelta(days=bucket)
    if interval is Interval.WEEK:
        day -= timedelta(days=day.weekday())
    elif interval is Interval.MONTH:
        day = day.replace(day=1)
    return _midnight(zone, day)


def bucket_of(interval: Interval, zone: str, pieces: list[Piece], e: int) -> Label:
    """The interval of epoch second ``e`` (Python twin of the SQL bucket expression)."""
    off = offset_at(pieces, e)
    return label(interval, zone, (e + off) // SQL_SIZE[interval], off)


def edges(interval: Interval, zone: str, start: datetime, end: datetime) -> list[tuple[int, Label]]:
    """The intervals met over ``[start, end)``: (first epoch second in the period, label), in order.

    Used to split time spans (agent states) at interval edges.
    """
    pieces = zone_pieces(zone, start, end)
    hi = epoch_s(end)
    size = SQL_SIZE[interval]
    out: list[tuple[int, Label]] = []
    for i, p in enumerate(pieces):
        stop = pieces[i + 1].since if i + 1 < len(pieces) else hi
        t = p.since
        while t < stop:
            k = (t + p.offset) // size
            lab = label(interval, zone, k, p.offset)
            if not out or out[-1][1] != lab:
                out.append((t, lab))
            t = (k + 1) * size - p.offset
    if not out:
        out.append((epoch_s(start), bucket_of(interval, zone, pieces, epoch_s(start))))
    return out
