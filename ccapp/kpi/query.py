"""A report request from text: the options of ``ccapp kpi`` and the query of ``GET /api/v1/kpi``. Pure.

Both take the same words — ``from``, ``to``, ``tz``, ``by``, ``kpis``, ``where`` — and one mistake
gets one `QueryError` naming the word, so the CLI can say ``--from: …`` and the API ``from: …``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ccapp.config.settings import KpiSettings
from ccapp.kpi.definitions import DEFAULT_KPIS, KPI_BY_NAME, Dimension, Interval, ReportRequest, Thresholds

MAX_WHERE_VALUE = 100


class QueryError(ValueError):
    """A bad report option: ``field`` names it (``from``, ``tz`` …), the text says what is wrong
    without repeating more of the input than a short quoted value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:39] + "…")


def parse_when(field: str, text: str, zone: ZoneInfo) -> datetime:
    """A local date (``YYYY-MM-DD``: its midnight) or date-time (``YYYY-MM-DDTHH:MM[:SS]``) in ``zone``."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(field, f"{_quote(text)} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    if value.tzinfo is not None:
        raise QueryError(field, f"{_quote(text)} has a UTC offset; give a local time and the zone in tz")
    return value.replace(tzinfo=zone)


def parse_zone(text: str) -> ZoneInfo:
    """The IANA time zone ``text``."""
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError("tz", f"{_quote(text)} is not a known time zone (e.g. Europe/Paris)") from None


def parse_kpis(text: str) -> tuple[str, ...]:
    """Comma-separated KPI names, each once, in the order given."""
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        if name not in KPI_BY_NAME:
            raise QueryError("kpis", f"unknown KPI {_quote(name)} (known: {', '.join(KPI_BY_NAME)})")
        if name not in names:
            names.append(name)
    if not names:
        raise QueryError("kpis", "name at least one KPI")
    return tuple(names)


def parse_where(items: Sequence[str]) -> dict[str, str]:
    """``queue=sales`` or ``queue:sales`` items (each may hold several, comma-separated): one value
    per dimension."""
    where: dict[str, str] = {}
    dimensions = ", ".join(d.value for d in Dimension)
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            sep = min((i for i in (part.find("="), part.find(":")) if i >= 0), default=-1)
            if sep < 0:
                raise QueryError("where", f"{_quote(part)} is not DIMENSION=VALUE (e.g. queue=sales)")
            name, value = part[:sep].strip(), part[sep + 1 :].strip()
            if name not in {d.value for d in Dimension}:
                raise QueryError("where", f"unknown dimension {_quote(name)} (known: {dimensions})")
            if not value or len(value) > MAX_WHERE_VALUE or not value.isprintable():
                raise QueryError("where", f"{name}: a value of 1 to {MAX_WHERE_VALUE} printable characters")
            if name in where:
                raise QueryError("where", f"{name} given twice")
            where[name] = value
    return where


def parse_by(text: str) -> tuple[tuple[Dimension, ...], Interval | None]:
    """``queue,day`` → dimensions and interval (the engine's `parse_by`, its errors under ``by``)."""
    from ccapp.kpi.engine import parse_by as engine_parse_by

    try:
        return engine_parse_by(text)
    except ValueError as exc:
        raise QueryError("by", str(exc)) from None


def thresholds_of(settings: KpiSettings) -> Thresholds:
    """T, S and W of the configuration."""
    return Thresholds(settings.sl_threshold_s, settings.short_abandon_s, settings.repeat_window_s)


def build_request(
    settings: KpiSettings,
    *,
    start: str | None,
    end: str | None,
    tz: str | None = None,
    by: str | None = None,
    kpis: str | None = None,
    where: Sequence[str] = (),
) -> ReportRequest:
    """The request ``[start, end)`` (``end`` excluded), both local to ``tz`` (default
    ``settings.time_zone``), with the configured thresholds. Raises `QueryError`."""
    zone_name = settings.time_zone if tz is None else tz.strip()
    zone = parse_zone(zone_name)
    if not start:
        raise QueryError("from", "required: the first day (YYYY-MM-DD) or local time")
    if not end:
        raise QueryError("to", "required: the day after the last (YYYY-MM-DD) or local time, excluded")
    first, last = parse_when("from", start, zone), parse_when("to", end, zone)
    if last <= first:
        raise QueryError("to", f"must be after from ({first:%Y-%m-%d %H:%M})")
    dimensions, interval = parse_by(by) if by and by.strip() else ((), None)
    return ReportRequest(
        start=first,
        end=last,
        zone=zone_name,
        dimensions=dimensions,
        interval=interval,
        kpis=parse_kpis(kpis) if kpis is not None else DEFAULT_KPIS,
        thresholds=thresholds_of(settings),
        where=parse_where(where),
    )
