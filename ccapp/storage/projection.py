"""Write a batch of journal records to SQL and project them onto `calls` and `legs` (and, through
`ccapp.storage.acd_projection`, onto the ACD tables).

Idempotent by construction: events are inserted with ON CONFLICT (call_id, seq) DO NOTHING and
only the ones actually inserted are projected, so replaying a batch changes nothing. The projection
itself is also replay-safe: each column has a merge rule that a repeated value cannot change —

- *first* columns (start details, answer times) keep the earliest value: ``COALESCE(old, new)``;
- *last* columns (end details, digits) take the newest value when it has one: ``COALESCE(new, old)``;
- ``last_seq`` takes the larger of the two.

A batch's events are first folded per call and per leg with the same rules, so each row gets one
upsert per batch. Agent streams (`is_agent_stream`) are not calls: they never create a `calls` row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.calls.model import Q850, EventKind, is_agent_stream
from ccapp.kpi.definitions import Thresholds
from ccapp.storage.acd_projection import AcdProjection
from ccapp.storage.db import insert_for
from ccapp.storage.kpi_projection import KpiUpkeep
from ccapp.storage.models import Base
from ccapp.storage.outbox import Record
from ccapp.storage.values import as_int, as_text

calls_table: Table = Base.metadata.tables["calls"]
legs_table: Table = Base.metadata.tables["legs"]
events_table: Table = Base.metadata.tables["call_events"]

CALL_FIRST = (
    "direction",
    "via",
    "entry",
    "caller_number",
    "caller_name",
    "called_number",
    "started_at",
    "answered_at",
)
CALL_LAST = ("ended_at", "hangup_cause", "hangup_cause_text", "outcome", "digits")
LEG_FIRST = ("channel", "role", "endpoint", "caller_number", "created_at", "answered_at")
LEG_LAST = ("ended_at", "hangup_cause", "hangup_cause_text")


@dataclass(slots=True)
class _Fold:
    """Column values gathered for one row from a batch's events."""

    first: tuple[str, ...]
    last: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)

    def set_first(self, column: str, value: Any) -> None:
        if self.values.get(column) is None:
            self.values[column] = value

    def set_last(self, column: str, value: Any) -> None:
        if value is not None:
            self.values[column] = value

    def row(self, key: dict[str, Any]) -> dict[str, Any]:
        # executemany needs the same keys in every row; None means "no news" to the merge rules.
        return key | {c: self.values.get(c) for c in (*self.first, *self.last)}


def _cause(data: dict[str, Any]) -> tuple[int | None, str | None]:
    cause = as_int(data.get("cause"))
    text = as_text(data.get("cause_text")) or (Q850.get(cause) if cause is not None else None)
    return cause, text


class _Projection:
    """Folds records into one pending row per call and per leg."""

    def __init__(self) -> None:
        self.calls: dict[str, _Fold] = {}
        self.last_seq: dict[str, int] = {}
        self.legs: dict[str, tuple[str, _Fold]] = {}
        self.timed: set[str] = set()  # calls whose start or end changed: recompute duration

    def call(self, call_id: str) -> _Fold:
        return self.calls.setdefault(call_id, _Fold(CALL_FIRST, CALL_LAST))

    def leg(self, call_id: str, leg_id: str) -> _Fold:
        return self.legs.setdefault(leg_id, (call_id, _Fold(LEG_FIRST, LEG_LAST)))[1]

    def add(self, rec: Record) -> None:
        data = rec.data
        # Every event touches its call row, so the row exists before any leg refers to it.
        call = self.call(rec.call_id)
        self.last_seq[rec.call_id] = max(self.last_seq.get(rec.call_id, 0), rec.seq)
        leg_id = as_text(data.get("leg_id"))
        if rec.kind == EventKind.CALL_STARTED:
            for column in ("direction", "via", "entry", "caller_number", "caller_name", "called_number"):
                call.set_first(column, as_text(data.get(column)))
            call.set_first("started_at", rec.at)
            self.timed.add(rec.call_id)
        elif rec.kind == EventKind.LEG_ADDED and leg_id:
            leg = self.leg(rec.call_id, leg_id)
            for column in ("channel", "role", "endpoint", "caller_number"):
                leg.set_first(column, as_text(data.get(column)))
            leg.set_first("created_at", rec.at)
        elif rec.kind == EventKind.LEG_ANSWERED and leg_id:
            self.leg(rec.call_id, leg_id).set_first("answered_at", rec.at)
            call.set_first("answered_at", rec.at)
        elif rec.kind == EventKind.LEG_ENDED and leg_id:
            leg = self.leg(rec.call_id, leg_id)
            cause, text = _cause(data)
            leg.set_last("ended_at", rec.at)
            leg.set_last("hangup_cause", cause)
            leg.set_last("hangup_cause_text", text)
        elif rec.kind == EventKind.DIGITS:
            call.set_last("digits", as_text(data.get("digits")))
        elif rec.kind == EventKind.CALL_ENDED:
            cause, text = _cause(data)
            call.set_last("ended_at", rec.at)
            call.set_last("hangup_cause", cause)
            call.set_last("hangup_cause_text", text)
            call.set_last("outcome", as_text(data.get("outcome")))
            self.timed.add(rec.call_id)


async def _upsert(
    conn: AsyncConnection,
    table: Table,
    key: str,
    first: Iterable[str],
    last: Iterable[str],
    rows: list[dict[str, Any]],
) -> None:
    if not rows:
        return
    stmt = insert_for(conn.dialect.name)(table)
    new = stmt.excluded
    set_: dict[str, Any] = {c: func.coalesce(table.c[c], new[c]) for c in first}
    set_ |= {c: func.coalesce(new[c], table.c[c]) for c in last}
    if "last_seq" in table.c:
        set_["last_seq"] = case((new.last_seq > table.c.last_seq, new.last_seq), else_=table.c.last_seq)
    await conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=set_), rows)


async def _update_durations(conn: AsyncConnection, call_ids: set[str]) -> None:
    if not call_ids:
        return
    found = await conn.execute(
        select(calls_table.c.call_id, calls_table.c.started_at, calls_table.c.ended_at).where(
            calls_table.c.call_id.in_(sorted(call_ids)),
            calls_table.c.started_at.is_not(None),
            calls_table.c.ended_at.is_not(None),
        )
    )
    rows = [
        {"b_call_id": call_id, "b_duration": _seconds(started, ended)}
        for call_id, started, ended in found.all()
    ]
    if rows:
        stmt = (
            update(calls_table)
            .where(calls_table.c.call_id == bindparam("b_call_id"))
            .values(duration_s=bindparam("b_duration"))
        )
        await conn.execute(stmt, rows)


def _seconds(started: datetime, ended: datetime) -> float:
    return (ended - started).total_seconds()


async def write_batch(
    conn: AsyncConnection, records: Sequence[Record], *, rollups: Thresholds | None = None
) -> int:
    """Store ``records`` (in order) inside the caller's transaction; return how many were new.

    Events already stored (same call id and sequence number) are skipped and not projected again.
    ``rollups``: keep the KPI roll-up current with these thresholds (`ccapp.storage.kpi_projection`).
    """
    unique: dict[tuple[str, int], Record] = {}
    for rec in records:
        unique.setdefault((rec.call_id, rec.seq), rec)
    if not unique:
        return 0
    insert = insert_for(conn.dialect.name)(events_table)
    stmt = insert.on_conflict_do_nothing(index_elements=["call_id", "seq"]).returning(
        events_table.c.call_id, events_table.c.seq
    )
    params = [
        {"call_id": r.call_id, "seq": r.seq, "at": r.at, "kind": r.kind, "data": r.data}
        for r in unique.values()
    ]
    inserted = {(call_id, seq) for call_id, seq in (await conn.execute(stmt, params)).all()}

    projection = _Projection()
    acd = AcdProjection()
    kpi = KpiUpkeep(rollups)
    for key, rec in unique.items():
        if key not in inserted:
            continue
        if is_agent_stream(rec.call_id):
            acd.add_agent_event(rec)
        else:
            projection.add(rec)
            acd.add(rec)
            kpi.add(rec)
    call_rows = [
        fold.row({"call_id": call_id, "last_seq": projection.last_seq[call_id]})
        for call_id, fold in projection.calls.items()
    ]
    leg_rows = [
        fold.row({"leg_id": leg_id, "call_id": call_id})
        for leg_id, (call_id, fold) in projection.legs.items()
    ]
    await _upsert(conn, calls_table, "call_id", CALL_FIRST, CALL_LAST, call_rows)
    await _upsert(conn, legs_table, "leg_id", LEG_FIRST, LEG_LAST, leg_rows)
    await _update_durations(conn, projection.timed)
    await kpi.before(conn, acd.queue_calls)
    await acd.write(conn, insert_for(conn.dialect.name))
    await kpi.after(conn)
    return len(inserted)
