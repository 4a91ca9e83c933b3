"""KPI reports: measures from SQL (raw tables or the queue roll-ups), summed per group and interval,
then the formulas of `ccapp.kpi.definitions`.

A measure *family* (queue entries, contacts, transfers, IVR calls, agent time, outbound) contributes
to a report only when it has every dimension the report groups or filters by (by=queue: no agent time
or outbound rows), and only when one of the requested KPIs needs one of its measures. Without a
dimension every needed family contributes. IVR measures have no dimension: ``ivr_calls`` are calls
started in the period that entered an IVR tree (an ``ivr.node`` event); ``ivr_contained`` those of
them that were never queued (no ``queue_calls`` row), never transferred (no ``transfers`` row) and
did not leave the tree to a queue or a transfer (``ivr.exit`` outcome ``queue``/``transfer``).

The roll-up path (``kpi_queue_slots``) serves a report when it groups and filters by queue only,
needs only `ROLLUP_MEASURES`, the roll-ups were built with the request's thresholds, the period starts
and ends on 15-minute UTC boundaries and every UTC offset of the zone over the period is a whole
number of 15 minutes; otherwise the raw tables are read.

Groups whose measures are all zero (only unhandled contacts, say) make no row. Rows are sorted by
dimension values (None last), then interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.errors import StorageError
from ccapp.kpi import agent_time
from ccapp.kpi.buckets import SQL_SIZE, Label, edges, epoch_us, label, zone_pieces
from ccapp.kpi.definitions import (
    OUTBOUND_MEASURES,
    ROLLUP_MEASURES,
    Dimension,
    Interval,
    Report,
    ReportRequest,
    ReportRow,
    add,
    compute,
)
from ccapp.kpi.families import Family, families_for, needed_measures
from ccapp.storage import kpi_queries as kq
from ccapp.storage.db import Database, sqlite_path
from ccapp.storage.kpi_sql import prefer_hash_aggregation

Key = tuple[tuple[str | None, ...], Label | None]
Progress = Callable[[float], None]


def parse_by(text: str) -> tuple[tuple[Dimension, ...], Interval | None]:
    """``"queue,hour"`` → ``((Dimension.QUEUE,), Interval.HOUR)``; ValueError naming bad words, a
    repeated dimension or more than one interval."""
    dims: list[Dimension] = []
    intervals: list[Interval] = []
    bad: list[str] = []
    for word in (w.strip().lower() for w in text.split(",")):
        if not word:
            continue
        if word in Dimension.__members__.values():
            dim = Dimension(word)
            if dim in dims:
                raise ValueError(f"dimension {word!r} given twice in {text!r}")
            dims.append(dim)
        elif word in Interval.__members__.values():
            intervals.append(Interval(word))
        else:
            bad.append(word)
    if bad:
        allowed = ", ".join([*(d.value for d in Dimension), *(i.value for i in Interval)])
        raise ValueError(f"unknown grouping {', '.join(map(repr, bad))} (use {allowed})")
    if len(intervals) > 1:
        raise ValueError(f"at most one interval, got {', '.join(i.value for i in intervals)}")
    return tuple(dims), intervals[0] if intervals else None


@asynccontextmanager
async def _connect(db: Database | AsyncConnection) -> AsyncIterator[AsyncConnection]:
    try:
        if isinstance(db, AsyncConnection):
            yield db
        else:
            async with db.engine.connect() as conn:
                await prefer_hash_aggregation(conn)
                yield conn
    except (SQLAlchemyError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise StorageError(f"KPI report query failed: {reason}") from exc


def _checked(request: ReportRequest) -> ReportRequest:
    """``request`` with naive times taken as UTC; ValueError on an unknown zone, KPI or filter."""
    try:
        ZoneInfo(request.zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {request.zone!r}") from exc
    needed_measures(request.kpis)
    for d in request.where:
        if d not in Dimension.__members__.values():
            raise ValueError(f"unknown filter {d!r} (use {', '.join(x.value for x in Dimension)})")
    if request.start.tzinfo is None or request.end.tzinfo is None:
        return replace(
            request,
            start=request.start if request.start.tzinfo else request.start.replace(tzinfo=UTC),
            end=request.end if request.end.tzinfo else request.end.replace(tzinfo=UTC),
        )
    return request


def _scope(request: ReportRequest) -> kq.Scope:
    size = SQL_SIZE[request.interval] if request.interval else None
    pieces = tuple(zone_pieces(request.zone, request.start, request.end)) if size else ()
    return kq.Scope(
        request.start,
        request.end,
        tuple(str(d) for d in request.dimensions),
        dict(request.where),
        request.thresholds,
        size,
        pieces,
    )


def _rollup_shape_ok(request: ReportRequest, needed: set[str]) -> bool:
    slot_us = 900 * 1_000_000
    return (
        set(map(str, request.dimensions)) <= {"queue"}
        and set(request.where) <= {"queue"}
        and needed <= set(ROLLUP_MEASURES)
        and epoch_us(request.start) % slot_us == 0
        and epoch_us(request.end) % slot_us == 0
        and all(p.offset % 900 == 0 for p in zone_pieces(request.zone, request.start, request.end))
    )


class _Sums:
    """Measures summed per key."""

    def __init__(self, request: ReportRequest) -> None:
        self.request = request
        self.rows: dict[Key, dict[str, float]] = {}
        self._labels: dict[tuple[int, int], Label] = {}

    def _label(self, bucket: tuple[int, int]) -> Label:
        lab = self._labels.get(bucket)
        if lab is None:
            assert self.request.interval is not None
            lab = self._labels[bucket] = label(self.request.interval, self.request.zone, *bucket)
        return lab

    def add_groups(self, groups: Sequence[kq.Group], names: Sequence[str]) -> None:
        timed = self.request.interval is not None
        for g in groups:
            measures = {n: v for n in names if (v := g.measures.get(n, 0.0))}
            if not measures:
                continue  # e.g. only unhandled contacts, or a roll-up slot of the other family
            lab = self._label(g.bucket) if timed and g.bucket else None
            self.add((g.dims, lab), measures)

    def add(self, key: Key, measures: Mapping[str, float]) -> None:
        into = self.rows.get(key)
        if into is None:
            self.rows[key] = dict(measures)
        else:
            add(into, measures)


async def build_report(
    db: Database | AsyncConnection,
    request: ReportRequest,
    *,
    progress: Progress | None = None,
    use_rollups: bool = True,
    now: datetime | None = None,
) -> Report:
    """The report ``request`` asks for (see the module docstring for which rows contribute).

    ``progress`` is called with 0..1 as families are computed; ``now`` (default: the wall clock)
    ends the last agent-state span. Raises ValueError on an unknown KPI or filter, `StorageError`
    when the database fails.
    """
    began = time.perf_counter()
    request = _checked(request)
    report_progress = progress or (lambda _f: None)
    report_progress(0.0)
    needed = needed_measures(request.kpis)
    families = families_for(request)
    scope = _scope(request)
    sums = _Sums(request)
    source: Literal["rollup", "raw"] = "raw"
    async with _connect(db) as conn:
        if (
            use_rollups
            and families
            and _rollup_shape_ok(request, needed)
            and await kq.rollup_thresholds(conn) == request.thresholds
        ):
            source = "rollup"
            names = [m for f in families for m in f.measures]
            sums.add_groups(await kq.rollup_measures(conn, scope, names), names)
    if source == "raw":
        jobs = _jobs(request, scope, families, now or datetime.now(UTC))
        for apply in await _run(db, jobs, report_progress):
            apply(sums)
    report_progress(1.0)
    return _assemble(request, families, sums, source, time.perf_counter() - began)


Apply = Callable[[_Sums], None]
Job = Callable[[AsyncConnection], Awaitable[Apply]]
_QUERIES = {
    "queue": kq.queue_measures,
    "contact": kq.contact_measures,
    "transfer": kq.transfer_measures,
    "ivr": kq.ivr_measures,
    "outbound": kq.outbound_measures,
}


def _jobs(request: ReportRequest, scope: kq.Scope, families: list[Family], now: datetime) -> list[Job]:
    """One job per query of the raw path; agent time (its own family, and campaign_logged_in_s of
    the outbound one) is folded once."""
    jobs = [_groups_job(_QUERIES[f.name], scope, f.measures) for f in families if f.name in _QUERIES]
    if any(f.name == "outbound" for f in families):
        jobs.append(_groups_job(kq.lead_measures, scope, OUTBOUND_MEASURES))
    timed = {m for f in families if f.name in ("agent", "outbound") for m in f.measures}
    if timed:
        jobs.append(_agent_time_job(request, scope, timed, now))
    return jobs


def _groups_job(
    query: Callable[[AsyncConnection, kq.Scope], Awaitable[list[kq.Group]]],
    scope: kq.Scope,
    names: Sequence[str],
) -> Job:
    async def run(conn: AsyncConnection) -> Apply:
        groups = await query(conn, scope)
        return lambda sums: sums.add_groups(groups, names)

    return run


def _agent_time_job(request: ReportRequest, scope: kq.Scope, keep: set[str], now: datetime) -> Job:
    async def run(conn: AsyncConnection) -> Apply:
        rows = await kq.agent_state_rows(conn, request.start, request.end, scope.where.get("agent"))
        spans = agent_time.spans(rows, request.start, request.end, now)
        cuts = edges(request.interval, request.zone, request.start, request.end) if request.interval else None
        found = agent_time.measures(spans, scope.dimensions, scope.where, cuts)

        def apply(sums: _Sums) -> None:
            for key, measures in found.items():
                kept = {n: v for n, v in measures.items() if n in keep and v}
                if kept:
                    sums.add(key, kept)

        return apply

    return run


async def _run(db: Database | AsyncConnection, jobs: list[Job], progress: Progress) -> list[Apply]:
    """Run ``jobs``: one after the other on a given connection; at once, each on its own connection,
    on a database that serves concurrent readers (PostgreSQL, an SQLite file). Their results come
    back in job order, so sums add up in the same order whatever finishes first."""
    results: list[Apply | None] = [None] * len(jobs)
    done = 0

    async def run(i: int, conn: AsyncConnection) -> None:
        nonlocal done
        results[i] = await jobs[i](conn)
        done += 1
        progress(done / (len(jobs) + 1))

    async def own(i: int) -> None:
        async with _connect(db) as conn:
            await run(i, conn)

    if isinstance(db, AsyncConnection) or not _concurrent_readers(db):
        async with _connect(db) as conn:
            for i in range(len(jobs)):
                await run(i, conn)
    else:
        try:
            async with asyncio.TaskGroup() as group:
                for i in range(len(jobs)):
                    group.create_task(own(i))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
    return [r for r in results if r is not None]


def _concurrent_readers(db: Database) -> bool:
    return db.dialect == "postgresql" or sqlite_path(db.url) is not None


def _sort_key(key: Key) -> tuple[object, ...]:
    dims, lab = key
    return (*((v is None, v or "") for v in dims), lab.start_s if lab else 0)


def _assemble(
    request: ReportRequest,
    families: list[Family],
    sums: _Sums,
    source: Literal["rollup", "raw"],
    elapsed: float,
) -> Report:
    names = [m for f in families for m in f.measures]
    rows: list[ReportRow] = []
    totals = dict.fromkeys(names, 0.0)
    for key in sorted(sums.rows, key=_sort_key):
        dims, lab = key
        summed = sums.rows[key]
        measures = {n: round(summed.get(n, 0.0), 6) for n in names}
        for n, v in measures.items():
            totals[n] += v
        rows.append(ReportRow(_key(request, dims, lab), measures, compute(measures, request.kpis)))
    total_measures = {n: round(v, 6) for n, v in totals.items()}
    total = ReportRow(_key(request, (None,) * len(request.dimensions), None), total_measures, {})
    total.kpis = compute(total_measures, request.kpis)
    return Report(request, rows, total, source, elapsed)


def _key(request: ReportRequest, dims: tuple[str | None, ...], lab: Label | None) -> dict[str, str | None]:
    key: dict[str, str | None] = {str(d): v for d, v in zip(request.dimensions, dims, strict=True)}
    if request.interval:
        key["interval"] = lab.iso if lab else None
    return key


async def handle_time_histogram(
    db: Database | AsyncConnection, request: ReportRequest, edges: Sequence[float]
) -> list[tuple[float, float | None, int]]:
    """Handled queue entries of the period (``request.where`` applies) by talk + hold + wrap-up:
    ``(low, high, count)`` per bin ``[edges[i], edges[i+1])``, the last bin open-ended (high None)."""
    if not edges or any(b <= a for a, b in pairwise(edges)):
        raise ValueError(f"histogram edges must be increasing and not empty, got {list(edges)}")
    scope = _scope(_checked(request))
    async with _connect(db) as conn:
        counts = await kq.handle_time_counts(conn, scope, edges)
    highs: list[float | None] = [*edges[1:], None]
    return [
        (float(lo), None if hi is None else float(hi), n)
        for lo, hi, n in zip(edges, highs, counts, strict=True)
    ]
