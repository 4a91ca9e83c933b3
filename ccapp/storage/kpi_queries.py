"""KPI measures per group and time bucket in SQL, identical on SQLite and PostgreSQL.

Every query takes a `Scope` (period, grouping, filters, thresholds, bucketing) and returns `Group`s:
the dimension values, the SQL time bucket ``(bucket, offset)`` of `ccapp.kpi.buckets` (None without
an interval) and the summed measures of `ccapp.kpi.definitions`. Rows are filtered on their raw
timestamp columns (indexed) and bucketed on whole epoch seconds (`ccapp.storage.kpi_sql.epoch_s`,
the one dialect construct), so bucket edges are exact integers on both backends; durations between
two timestamps use `seconds_between` (exact to the microsecond on both). Float sums are rounded to
microseconds so both backends give the same numbers whatever order they add in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, case, exists, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.calls.model import EventKind
from ccapp.kpi.buckets import Piece
from ccapp.kpi.definitions import Thresholds
from ccapp.storage.kpi_sql import epoch_s, int_literal, offset_expr, seconds_between
from ccapp.storage.models import Base

queue_calls: Table = Base.metadata.tables["queue_calls"]
contacts: Table = Base.metadata.tables["contacts"]
transfers: Table = Base.metadata.tables["transfers"]
calls: Table = Base.metadata.tables["calls"]
events: Table = Base.metadata.tables["call_events"]
agent_states: Table = Base.metadata.tables["agent_states"]
dial_attempts: Table = Base.metadata.tables["dial_attempts"]
slots: Table = Base.metadata.tables["kpi_queue_slots"]
rollup_meta: Table = Base.metadata.tables["kpi_rollup_meta"]

#: A queue entry is *handled* when an agent was connected and its talk is over (talk time known).
HANDLED = and_(queue_calls.c.connected_at.is_not(None), queue_calls.c.talk_s.is_not(None))
#: A handled entry's handle time: talk + hold + wrap-up, a missing hold or wrap-up counting as 0.
HANDLE_S = (
    queue_calls.c.talk_s + func.coalesce(queue_calls.c.hold_s, 0.0) + func.coalesce(queue_calls.c.wrap_s, 0.0)
)

#: ``ivr.exit`` outcomes that hand the call on to a person (not contained)
IVR_HANDOFF_OUTCOMES = ("queue", "transfer")


@dataclass(frozen=True, slots=True)
class Scope:
    """What to measure: ``[start, end)``, the dimensions to group by, filters (dimension → value),
    thresholds and bucketing.

    ``size`` is the SQL bucket size in seconds (None: no time grouping); ``pieces`` are the zone's
    constant-offset pieces over the period.
    """

    start: datetime
    end: datetime
    dimensions: tuple[str, ...] = ()
    where: Mapping[str, str] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    size: int | None = None
    pieces: tuple[Piece, ...] = ()


@dataclass(slots=True)
class Group:
    """One group's measures: dimension values in `Scope.dimensions` order and the SQL bucket."""

    dims: tuple[str | None, ...]
    bucket: tuple[int, int] | None
    measures: dict[str, float]


def _time_cols(
    scope: Scope, ts: ColumnElement[Any]
) -> tuple[list[ColumnElement[Any]], list[ColumnElement[Any]]]:
    """The bucket and offset columns, and those of them to group by (a constant offset is not
    grouped by: ``GROUP BY 3600`` would mean the 3600th column)."""
    if scope.size is None:
        return [], []
    e = epoch_s(ts)
    off = offset_expr(scope.pieces, e)
    bucket = ((e + off) // int_literal(scope.size)).label("k_bucket")
    offset = off.label("k_offset")
    return [bucket, offset], [bucket] if len(scope.pieces) <= 1 else [bucket, offset]


def _count(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((cond, 1), else_=0))


def _sum(cond: ColumnElement[bool], value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.sum(case((cond, value), else_=0.0))


async def _groups(
    conn: AsyncConnection,
    scope: Scope,
    dim_cols: Mapping[str, ColumnElement[Any]],
    ts: ColumnElement[Any],
    measures: Mapping[str, ColumnElement[Any]],
    from_: Any,
    conditions: Sequence[ColumnElement[bool]],
) -> list[Group]:
    dims = [dim_cols[d].label(f"d_{i}") for i, d in enumerate(scope.dimensions)]
    tcols, tkeys = _time_cols(scope, ts)
    cols = [*dims, *tcols, *(m.label(f"m_{name}") for name, m in measures.items())]
    where = [ts >= scope.start, ts < scope.end, *conditions]
    where += [dim_cols[d] == v for d, v in scope.where.items()]
    keys = [*dims, *tkeys]
    stmt: Select[Any] = select(*cols).select_from(from_).where(and_(*where))
    if keys:
        stmt = stmt.group_by(*keys)
    out = []
    n = len(dims)
    for row in (await conn.execute(stmt)).all():
        bucket = (int(row[n]), int(row[n + 1])) if tcols else None
        values = row[n + len(tcols) :]
        ms = {name: _num(v) for name, v in zip(measures, values, strict=True)}
        if not keys and not any(ms.values()):
            continue  # an aggregate over no rows
        out.append(Group(tuple(None if v is None else str(v) for v in row[:n]), bucket, ms))
    return out


def _num(value: Any) -> float:
    return round(float(value or 0), 6)


async def queue_measures(conn: AsyncConnection, scope: Scope) -> list[Group]:
    """Measures of the queue entries entered in the period (dims: queue, agent, skill, topic)."""
    t = scope.thresholds
    q = queue_calls.c
    answered = q.outcome == "answered"
    abandoned = q.outcome == "abandoned"
    timed = and_(answered, q.wait_s.is_not(None))
    measures = {
        "entries": func.count(),
        "short_abandons": _count(and_(abandoned, q.wait_s < t.short_abandon_s)),
        "answered": _count(answered),
        "answered_within_t": _count(and_(answered, q.wait_s <= t.sl_threshold_s)),
        "all_abandoned": _count(abandoned),
        "abandoned_within_t": _count(and_(abandoned, q.wait_s <= t.sl_threshold_s)),
        "answered_timed": _count(timed),
        "answered_wait_s": _sum(timed, q.wait_s),
        "handled": _count(HANDLED),
        "handle_s": _sum(HANDLED, HANDLE_S),
        "callbacks": _count(q.callback == true()),
    }
    dim_cols = {"queue": q.queue, "agent": q.agent_id, "skill": q.skill, "topic": contacts.c.topic}
    uses_topic = "topic" in scope.dimensions or "topic" in scope.where
    from_ = queue_calls.outerjoin(contacts, contacts.c.call_id == q.call_id) if uses_topic else queue_calls
    return await _groups(conn, scope, dim_cols, q.entered_at, measures, from_, [])


async def contact_measures(conn: AsyncConnection, scope: Scope) -> list[Group]:
    """Measures of the contacts started in the period (dims: queue, agent, topic)."""
    w = scope.thresholds.repeat_window_s
    c = contacts.c
    handled = c.handled == true()
    resolved = c.resolved == true()
    repeated = and_(c.next_at.is_not(None), seconds_between(c.next_at, c.started_at) <= w)
    first = or_(c.prev_at.is_(None), seconds_between(c.started_at, c.prev_at) > w)
    measures = {
        "contacts_handled": _count(handled),
        "contacts_resolved": _count(and_(handled, resolved, not_(repeated))),
        "first_contacts": _count(and_(handled, first)),
        "first_contacts_resolved": _count(and_(handled, first, resolved, not_(repeated))),
    }
    dim_cols = {"queue": c.queue, "agent": c.agent_id, "topic": c.topic}
    return await _groups(conn, scope, dim_cols, c.started_at, measures, contacts, [])


async def transfer_measures(conn: AsyncConnection, scope: Scope) -> list[Group]:
    """Measures of the transfers made in the period (dims: agent, topic, queue of the call's latest
    queue entry entered at or before the transfer)."""
    qc = queue_calls.alias("qc")
    latest_queue = (
        select(qc.c.queue)
        .where(qc.c.call_id == transfers.c.call_id, qc.c.entered_at <= transfers.c.at)
        .order_by(qc.c.entered_at.desc(), qc.c.entry.desc())
        .limit(1)
        .scalar_subquery()
    )
    inner = select(
        transfers.c.at,
        transfers.c.correct,
        transfers.c.by_agent,
        transfers.c.topic,
        latest_queue.label("queue"),
    ).subquery("t")
    t = inner.c
    measures = {
        "transfers": func.count(),
        "transfers_correct": _count(t.correct == true()),
        "transfers_judged": _count(t.correct.is_not(None)),
    }
    dim_cols = {"agent": t.by_agent, "topic": t.topic, "queue": t.queue}
    return await _groups(conn, scope, dim_cols, t.at, measures, inner, [])


async def ivr_measures(conn: AsyncConnection, scope: Scope) -> list[Group]:
    """Calls started in the period that ran an IVR tree (an ``ivr.node`` event), and of those the
    contained ones: no queue entry, no transfer, and no ``ivr.exit`` to a queue or a transfer."""
    c = calls.c
    ran_tree = exists().where(events.c.call_id == c.call_id, events.c.kind == str(EventKind.IVR_NODE))
    handed_off = exists().where(
        events.c.call_id == c.call_id,
        events.c.kind == str(EventKind.IVR_EXIT),
        events.c.data["outcome"].as_string().in_(IVR_HANDOFF_OUTCOMES),
    )
    queued = exists().where(queue_calls.c.call_id == c.call_id)
    transferred = exists().where(transfers.c.call_id == c.call_id)
    measures = {
        "ivr_calls": func.count(),
        "ivr_contained": _count(and_(not_(handed_off), not_(queued), not_(transferred))),
    }
    return await _groups(conn, scope, {}, c.started_at, measures, calls, [ran_tree])


async def outbound_measures(conn: AsyncConnection, scope: Scope) -> list[Group]:
    """Measures of the dial attempts started in the period (dims: campaign, agent); leads apart."""
    a = dial_attempts.c
    measures = {
        "dial_attempts": func.count(),
        "rpc_contacts": _count(a.right_party == true()),
        "agent_contacts": _count(a.connected_at.is_not(None)),
        "live_answers": _count(a.result == "human"),
        "live_abandoned": _count(a.abandoned == true()),
    }
    dim_cols = {"campaign": a.campaign_id, "agent": a.agent_id}
    return await _groups(conn, scope, dim_cols, a.started_at, measures, dial_attempts, [])


async def lead_measures(conn: AsyncConnection, scope: Scope) -> list[Group]:
    """Leads dialled in the period, each counted once, in the group and bucket of its first attempt
    in the period (matching the filters); ``rpc_leads``: the right party was reached on one of them."""
    a = dial_attempts.c
    dim_cols = {"campaign": a.campaign_id, "agent": a.agent_id}
    conds = [a.started_at >= scope.start, a.started_at < scope.end]
    conds += [dim_cols[d] == v for d, v in scope.where.items()]
    ranked = (
        select(
            a.campaign_id,
            a.agent_id,
            a.started_at,
            func.row_number().over(partition_by=a.lead_id, order_by=(a.started_at, a.attempt_id)).label("rn"),
            func.max(case((a.right_party == true(), 1), else_=0)).over(partition_by=a.lead_id).label("rpc"),
        )
        .where(and_(*conds))
        .subquery("l")
    )
    r = ranked.c
    inner_scope = Scope(
        scope.start, scope.end, scope.dimensions, {}, scope.thresholds, scope.size, scope.pieces
    )
    measures = {"leads": func.count(), "rpc_leads": func.sum(r.rpc)}
    dims = {"campaign": r.campaign_id, "agent": r.agent_id}
    return await _groups(conn, inner_scope, dims, r.started_at, measures, ranked, [r.rn == 1])


async def agent_state_rows(
    conn: AsyncConnection, start: datetime, end: datetime, agent: str | None
) -> list[tuple[str, datetime, str | None, str | None]]:
    """``(agent_id, at, to_state, campaign)`` of every agent-state row in ``[start, end)`` and of each
    agent's last row before ``start`` (the state it was in when the period began), by agent and time."""
    s = agent_states.c
    only = [s.agent_id == agent] if agent is not None else []
    before = (
        select(s.agent_id, func.max(s.at).label("at"))
        .where(s.at < start, *only)
        .group_by(s.agent_id)
        .subquery("b")
    )
    cols = (s.agent_id, s.at, s.to_state, s.campaign, s.id)
    in_period = select(*cols).where(s.at >= start, s.at < end, *only)
    last_before = select(*cols).join(before, and_(before.c.agent_id == s.agent_id, before.c.at == s.at))
    union = in_period.union_all(last_before).subquery("u")
    stmt = select(union.c.agent_id, union.c.at, union.c.to_state, union.c.campaign).order_by(
        union.c.agent_id, union.c.at, union.c.id
    )
    return [(r[0], r[1], r[2], r[3]) for r in (await conn.execute(stmt)).all()]


async def rollup_thresholds(conn: AsyncConnection) -> Thresholds | None:
    """The thresholds the queue roll-ups were built with, None when they were never built."""
    m = rollup_meta.c
    row = (
        await conn.execute(select(m.sl_threshold_s, m.short_abandon_s, m.repeat_window_s).where(m.id == 1))
    ).first()
    return None if row is None else Thresholds(float(row[0]), float(row[1]), float(row[2]))


async def rollup_measures(conn: AsyncConnection, scope: Scope, names: Sequence[str]) -> list[Group]:
    """Sums of roll-up slots (slot start in the period) per queue and bucket."""
    measures = {n: func.sum(slots.c[n]) for n in names}
    return await _groups(conn, scope, {"queue": slots.c.queue}, slots.c.slot, measures, slots, [])


async def handle_time_counts(conn: AsyncConnection, scope: Scope, edges: Sequence[float]) -> list[int]:
    """How many handled entries of the period have talk + hold + wrap-up in each bin of ``edges``."""
    q = queue_calls.c
    whens = [(float(edges[i + 1]) > HANDLE_S, int_literal(i)) for i in range(len(edges) - 1)]
    bin_ = case(*whens, else_=int_literal(len(edges) - 1)) if whens else int_literal(0)
    dim_cols: dict[str, ColumnElement[Any]] = {
        "queue": q.queue,
        "agent": q.agent_id,
        "skill": q.skill,
        "topic": contacts.c.topic,
    }
    if not set(scope.where) <= set(dim_cols):
        raise ValueError(
            f"queue entries cannot be filtered by {', '.join(sorted(set(scope.where) - set(dim_cols)))}"
        )
    conds = [
        q.entered_at >= scope.start,
        q.entered_at < scope.end,
        HANDLED,
        float(edges[0]) <= HANDLE_S,
        *(dim_cols[d] == v for d, v in scope.where.items()),
    ]
    joined = queue_calls.outerjoin(contacts, contacts.c.call_id == q.call_id)
    inner = select(bin_.label("b")).select_from(joined if "topic" in scope.where else queue_calls)
    binned = inner.where(and_(*conds)).subquery("h")
    stmt = select(binned.c.b, func.count()).group_by(binned.c.b)
    counts = [0] * len(edges)
    for b, n in (await conn.execute(stmt)).all():
        counts[int(b)] = int(n)
    return counts
