"""Project the ACD's journal events onto `queue_calls`, `agent_states`, `transfers`, `recordings`
and `dispositions`.

`ccapp.storage.projection.write_batch` hands over only the events it has just inserted, so every rule
here is replay-safe in the same way as the CDR projection:

- facts that happen once (a transfer, a disposition, an agent state change) are plain inserts with
  ``ON CONFLICT DO NOTHING`` on the event's own key;
- `queue_calls` and `recordings` rows are upserts: *first* columns keep the stored value
  (``COALESCE(old, new)``), *last* columns take the new one when it has one (``COALESCE(new, old)``),
  *counts* add the batch's count, *sums* add the batch's total (NULL until a value arrives: talk,
  hold and wrap-up (``agent.wrapped``) times of every agent who had the entry, e.g. before and after
  an attended transfer), and ``callback`` is ``old OR new``.

Agent streams (``agent:<agent_id>:<session>``) are not calls: their ``agent.state`` events become
`agent_states` rows and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Float, String, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.calls.model import AGENT_STREAM_PREFIX, EventKind
from ccapp.storage.models import Base
from ccapp.storage.outbox import Record
from ccapp.storage.values import as_int, as_text

#: The dialect's ``insert`` construct (it has ``on_conflict_do_*``), chosen by `write_batch`.
InsertFor = Callable[[Table], Any]

queue_calls_table: Table = Base.metadata.tables["queue_calls"]
agent_states_table: Table = Base.metadata.tables["agent_states"]
transfers_table: Table = Base.metadata.tables["transfers"]
recordings_table: Table = Base.metadata.tables["recordings"]
dispositions_table: Table = Base.metadata.tables["dispositions"]
calls_table: Table = Base.metadata.tables["calls"]

QUEUE_FIRST = ("queue", "priority", "entered_at", "agent_id", "connected_at", "skill")
QUEUE_LAST = ("left_at", "outcome", "target", "wait_s", "disconnected_at", "ring_s")
QUEUE_COUNTS = ("offered_count", "no_answer_count")
QUEUE_SUMS = ("talk_s", "hold_s", "wrap_s")
RECORDING_FIRST = ("call_id", "queue", "agent_id", "name", "policy", "started_at")
RECORDING_LAST = ("ended_at", "duration_s", "paused_s", "paused_spans", "path", "size_bytes")


@dataclass(frozen=True, slots=True)
class Merge:
    """The merge rule of each column an upsert writes (see the module docstring)."""

    first: tuple[str, ...]
    last: tuple[str, ...]
    counts: tuple[str, ...] = ()
    sums: tuple[str, ...] = ()


QUEUE_MERGE = Merge(QUEUE_FIRST, QUEUE_LAST, QUEUE_COUNTS, QUEUE_SUMS)
RECORDING_MERGE = Merge(RECORDING_FIRST, RECORDING_LAST)

#: Queue entry assumed when an event does not number it (a call's first entry).
DEFAULT_ENTRY = 1


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _spans(value: Any) -> list[list[float]] | None:
    if not isinstance(value, list):
        return None
    spans: list[list[float]] = []
    for span in value:
        if isinstance(span, list | tuple) and len(span) == 2:
            start, end = _float(span[0]), _float(span[1])
            if start is not None and end is not None:
                spans.append([start, end])
    return spans


def agent_of_stream(stream_id: str) -> str:
    """The agent id in ``agent:<agent_id>:<session>`` (agent ids may themselves contain colons)."""
    rest = stream_id.removeprefix(AGENT_STREAM_PREFIX)
    return rest.rsplit(":", 1)[0] if ":" in rest else rest


def _transfer_correct(
    data: dict[str, Any], target_type: str | None, target: str | None, expected: str | None
) -> bool | None:
    """The ACD's verdict when the event has one (it knows skill rules); older events by string match.
    No escalation rule for the call: the transfer is neither right nor wrong (None)."""
    if "correct" in data:
        return _bool(data["correct"])
    return None if expected is None else expected in (target, f"{target_type}:{target}")


@dataclass(slots=True)
class _Row:
    """One upserted row's values gathered from a batch with its table's `Merge` rules."""

    merge: Merge
    values: dict[str, Any] = field(default_factory=dict)

    def set_first(self, column: str, value: Any) -> None:
        if self.values.get(column) is None:
            self.values[column] = value

    def set_last(self, column: str, value: Any) -> None:
        if value is not None:
            self.values[column] = value

    def bump(self, column: str) -> None:
        self.values[column] = self.values.get(column, 0) + 1

    def add_to(self, column: str, value: float | None) -> None:
        if value is not None:
            self.values[column] = (self.values.get(column) or 0.0) + value

    def row(self, key: dict[str, Any], **extra: Any) -> dict[str, Any]:
        # executemany needs the same keys in every row; None means "no news" to the merge rules.
        m = self.merge
        row = key | {c: self.values.get(c) for c in (*m.first, *m.last, *m.sums)}
        return row | {c: self.values.get(c, 0) for c in m.counts} | extra


class AcdProjection:
    """Folds a batch's newly stored events into ACD rows, then writes them."""

    def __init__(self) -> None:
        self.queue_calls: dict[tuple[str, int], _Row] = {}
        self.callbacks: set[tuple[str, int]] = set()
        self.recordings: dict[str, _Row] = {}
        self.agent_states: list[dict[str, Any]] = []
        self.transfers: list[dict[str, Any]] = []
        self.dispositions: list[dict[str, Any]] = []

    def _entry(self, rec: Record) -> _Row:
        entry = as_int(rec.data.get("entry")) or DEFAULT_ENTRY
        row = self.queue_calls.setdefault((rec.call_id, entry), _Row(QUEUE_MERGE))
        row.set_first("queue", as_text(rec.data.get("queue")))
        return row

    def _recording(self, rec: Record) -> _Row | None:
        recording_id = as_text(rec.data.get("recording_id"))
        if not recording_id:
            return None
        row = self.recordings.setdefault(recording_id, _Row(RECORDING_MERGE))
        row.set_first("call_id", rec.call_id)
        return row

    def add_agent_event(self, rec: Record) -> None:
        """An event of an agent stream: only ``agent.state`` is kept."""
        if rec.kind != EventKind.AGENT_STATE:
            return
        data = rec.data
        self.agent_states.append(
            {
                "stream_id": rec.call_id,
                "seq": rec.seq,
                "agent_id": as_text(data.get("agent_id")) or agent_of_stream(rec.call_id),
                "at": rec.at,
                "from_state": as_text(data.get("from")),
                "to_state": as_text(data.get("to")),
                "reason": as_text(data.get("reason")),
                "call_id": as_text(data.get("call_id")),
                "queue": as_text(data.get("queue")),
                "campaign": as_text(data.get("campaign")),
            }
        )

    def add(self, rec: Record) -> None:
        """An event of a call's stream; kinds the ACD tables do not hold are ignored."""
        data = rec.data
        kind = rec.kind
        if kind == EventKind.QUEUE_ENTERED:
            row = self._entry(rec)
            row.set_first("priority", as_int(data.get("priority")))
            row.set_first("entered_at", rec.at)
            row.set_first("skill", as_text(data.get("skill")))
        elif kind == EventKind.QUEUE_LEFT:
            row = self._entry(rec)
            row.set_last("left_at", rec.at)
            row.set_last("outcome", as_text(data.get("reason")))
            row.set_last("target", as_text(data.get("target")))
            row.set_last("wait_s", _float(data.get("wait_s")))
        elif kind == EventKind.AGENT_OFFERED:
            self._entry(rec).bump("offered_count")
        elif kind == EventKind.AGENT_NO_ANSWER:
            self._entry(rec).bump("no_answer_count")
        elif kind == EventKind.AGENT_CONNECTED:
            row = self._entry(rec)
            row.set_first("agent_id", as_text(data.get("agent_id")))
            row.set_first("connected_at", rec.at)
            # The wait is queue.left's: a callback connects long after its entry left the queue.
            row.set_last("ring_s", _float(data.get("ring_s")))
        elif kind == EventKind.AGENT_DISCONNECTED:
            row = self._entry(rec)
            row.set_last("disconnected_at", rec.at)
            row.add_to("talk_s", _float(data.get("talk_s")))
            row.add_to("hold_s", _float(data.get("hold_s")))
        elif kind == EventKind.AGENT_WRAPPED:
            self._entry(rec).add_to("wrap_s", _float(data.get("wrap_s")))
        elif kind == EventKind.CALLBACK_REQUESTED:
            self._entry(rec)
            self.callbacks.add((rec.call_id, as_int(data.get("entry")) or DEFAULT_ENTRY))
        elif kind == EventKind.TRANSFER:
            self._add_transfer(rec)
        elif kind == EventKind.RECORDING_STARTED:
            self._add_recording_start(rec)
        elif kind == EventKind.RECORDING_STOPPED and (recording := self._recording(rec)):
            recording.set_last("ended_at", rec.at)
            recording.set_last("duration_s", _float(data.get("duration_s")))
            recording.set_last("paused_s", _float(data.get("paused_s")))
            recording.set_last("paused_spans", _spans(data.get("paused_spans")))
        elif kind == EventKind.RECORDING_STORED and (recording := self._recording(rec)):
            recording.set_last("path", as_text(data.get("path")))
            recording.set_last("size_bytes", as_int(data.get("size_bytes")))
        elif kind == EventKind.DISPOSITION:
            self.dispositions.append(
                {
                    "call_id": rec.call_id,
                    "seq": rec.seq,
                    "at": rec.at,
                    "agent_id": as_text(data.get("agent_id")),
                    "outcome": as_text(data.get("outcome")),
                    "resolved": _bool(data.get("resolved")),
                    "topic": as_text(data.get("topic")),
                    "notes": as_text(data.get("notes")),
                    "right_party": _bool(data.get("right_party")),
                }
            )

    def _add_transfer(self, rec: Record) -> None:
        data = rec.data
        target, expected = as_text(data.get("target")), as_text(data.get("expected"))
        target_type = as_text(data.get("target_type"))
        self.transfers.append(
            {
                "call_id": rec.call_id,
                "seq": rec.seq,
                "at": rec.at,
                "kind": as_text(data.get("kind")),
                "by_agent": as_text(data.get("by_agent")),
                "target_type": target_type,
                "target": target,
                "topic": as_text(data.get("topic")),
                "expected": expected,
                "outcome": as_text(data.get("outcome")),
                "correct": _transfer_correct(data, target_type, target, expected),
            }
        )

    def _add_recording_start(self, rec: Record) -> None:
        recording = self._recording(rec)
        if recording is None:
            return
        for column in ("queue", "agent_id", "name", "policy"):
            recording.set_first(column, as_text(rec.data.get(column)))
        recording.set_first("started_at", rec.at)

    async def write(self, conn: AsyncConnection, insert_for: InsertFor) -> None:
        """Store the folded rows inside the caller's transaction (after `calls` is written)."""
        queue_rows = [
            fold.row({"call_id": call_id, "entry": entry}, callback=(call_id, entry) in self.callbacks)
            for (call_id, entry), fold in self.queue_calls.items()
        ]
        await _upsert(conn, insert_for, queue_calls_table, ("call_id", "entry"), QUEUE_MERGE, queue_rows)
        await _complete_queue_calls(conn, sorted({call_id for call_id, _ in self.queue_calls}))
        recording_rows = [fold.row({"recording_id": rid}) for rid, fold in self.recordings.items()]
        await _upsert(conn, insert_for, recordings_table, ("recording_id",), RECORDING_MERGE, recording_rows)
        for table, keys, rows in (
            (agent_states_table, ("stream_id", "seq"), self.agent_states),
            (transfers_table, ("call_id", "seq"), self.transfers),
            (dispositions_table, ("call_id", "seq"), self.dispositions),
        ):
            if rows:
                stmt = insert_for(table).on_conflict_do_nothing(index_elements=list(keys))
                await conn.execute(stmt, rows)


async def _upsert(
    conn: AsyncConnection,
    insert_for: InsertFor,
    table: Table,
    keys: Sequence[str],
    merge: Merge,
    rows: list[dict[str, Any]],
) -> None:
    if not rows:
        return
    stmt = insert_for(table)
    new = stmt.excluded
    set_: dict[str, Any] = {c: func.coalesce(table.c[c], new[c]) for c in merge.first}
    set_ |= {c: func.coalesce(new[c], table.c[c]) for c in merge.last}
    set_ |= {c: table.c[c] + new[c] for c in merge.counts}
    # old + new is NULL when either is: then whichever one is known
    set_ |= {c: func.coalesce(table.c[c] + new[c], new[c], table.c[c]) for c in merge.sums}
    if "callback" in table.c:
        set_["callback"] = or_(table.c.callback, new.callback)
    await conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=set_), rows)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


async def _complete_queue_calls(conn: AsyncConnection, call_ids: list[str]) -> None:
    """Fill what the events left out: waits and talk times from timestamps, the caller's number."""
    if not call_ids:
        return
    q = queue_calls_table
    found = await conn.execute(
        select(
            q.c.call_id,
            q.c.entry,
            q.c.entered_at,
            q.c.left_at,
            q.c.connected_at,
            q.c.disconnected_at,
            q.c.hold_s,
            calls_table.c.caller_number,
        )
        .select_from(q.outerjoin(calls_table, calls_table.c.call_id == q.c.call_id))
        .where(
            q.c.call_id.in_(call_ids),
            or_(
                and_(q.c.wait_s.is_(None), q.c.entered_at.is_not(None), q.c.left_at.is_not(None)),
                and_(q.c.talk_s.is_(None), q.c.connected_at.is_not(None), q.c.disconnected_at.is_not(None)),
                and_(q.c.caller_number.is_(None), calls_table.c.caller_number.is_not(None)),
            ),
        )
    )
    rows = []
    for row in found.all():
        talk = _seconds(row.connected_at, row.disconnected_at)
        rows.append(
            {
                "b_call_id": row.call_id,
                "b_entry": row.entry,
                "b_wait": _seconds(row.entered_at, row.left_at),
                "b_talk": None if talk is None else max(0.0, talk - (row.hold_s or 0.0)),
                "b_caller": row.caller_number,
            }
        )
    if rows:
        stmt = (
            update(q)
            .where(q.c.call_id == bindparam("b_call_id"), q.c.entry == bindparam("b_entry"))
            .values(
                wait_s=func.coalesce(q.c.wait_s, bindparam("b_wait", type_=Float())),
                talk_s=func.coalesce(q.c.talk_s, bindparam("b_talk", type_=Float())),
                caller_number=func.coalesce(q.c.caller_number, bindparam("b_caller", type_=String())),
            )
        )
        await conn.execute(stmt, rows)
