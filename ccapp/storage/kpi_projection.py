"""Keep what the KPIs read current as a batch is written: ``contacts`` rows with their repeat links,
and (when enabled) the ``kpi_queue_slots`` roll-up.

`KpiUpkeep` is driven by `ccapp.storage.projection.write_batch`: `add` sees each newly stored call
event, `before` runs before the ACD rows are written, `after` once they are.

Contacts (one row per call). Every value is derived again from the stored rows of the calls a batch
touched, so arrival order and replays cannot change the result: caller number and start from
``calls``; topic, resolved and outcome from the latest disposition that gives one, else from the
latest IVR ``variable`` of that name; queue, agent and ``handled`` from the call's last connected
``queue_calls`` entry.

Repeat links: ``prev_at``/``next_at`` are the start times of the same number's previous and next
contacts on the same topic (a contact needs both to have links). When a contact appears, moves
(its topic changes) or gets its start, every contact whose neighbour may have changed is relinked:
the contacts at its old neighbours' times, at its new time, and at its new neighbours' times. Each
is found with an index seek on ``(caller_number, topic, started_at)``, batched into one statement.

Roll-up: for every ``queue_calls`` and ``contacts`` row the batch changed (relinked neighbours
included, whatever slot they are in), ``contribution(new) − contribution(old)`` is added into the
slot rows (`ccapp.kpi.rollup`, `ccapp.storage.kpi_rollup`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Table, and_, bindparam, func, literal, or_, select, text, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.calls.model import EventKind
from ccapp.kpi.definitions import Thresholds
from ccapp.kpi.rollup import QUEUE_ENTRY_COLUMNS, Contact, QueueEntry, delta
from ccapp.storage.db import insert_for
from ccapp.storage.kpi_rollup import add_to_slots, check_meta, drop_meta, lock_upkeep
from ccapp.storage.models import Base, UTCDateTime
from ccapp.storage.outbox import Record
from ccapp.storage.values import as_text

contacts_table: Table = Base.metadata.tables["contacts"]
calls_table: Table = Base.metadata.tables["calls"]
events_table: Table = Base.metadata.tables["call_events"]
dispositions_table: Table = Base.metadata.tables["dispositions"]
queue_calls_table: Table = Base.metadata.tables["queue_calls"]

#: IVR variables (``set``) a contact takes its values from
CONTACT_VARIABLES = ("topic", "resolved", "outcome")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
_KINDS = {EventKind.CALL_STARTED, EventKind.DISPOSITION, EventKind.AGENT_CONNECTED}
#: contact columns upkeep derives (the links are kept apart)
VALUES = ("caller_number", "topic", "started_at", "queue", "agent_id", "handled", "resolved", "outcome")
_CHUNK = 300

#: where a contact sits in its links: (caller number, topic, start)
Point = tuple[str, str, datetime]
#: point → start of the previous and of the next contact of its number and topic
Links = dict[Point, tuple[datetime | None, ...]]


def parse_resolved(value: Any) -> bool | None:
    """An IVR ``resolved`` variable as a truth value (None when it says neither)."""
    text = str(value).strip().lower() if value is not None else ""
    return True if text in _TRUE else False if text in _FALSE else None


def _point(row: dict[str, Any] | None) -> Point | None:
    if row is None or not (row["caller_number"] and row["topic"] and row["started_at"]):
        return None
    return (row["caller_number"], row["topic"], row["started_at"])


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class KpiUpkeep:
    """One batch's KPI upkeep. ``rollups``: the thresholds to keep the roll-up with (None: no roll-up
    upkeep; contacts are kept either way)."""

    def __init__(self, rollups: Thresholds | None = None) -> None:
        self.thresholds = rollups
        self.calls: set[str] = set()  # calls whose contact must be derived again
        self.queue_keys: list[tuple[str, int]] = []
        self.old_entries: dict[tuple[str, int], QueueEntry] = {}
        self.rolling = False

    def add(self, rec: Record) -> None:
        """A newly stored event of a call's stream."""
        if rec.kind in _KINDS or (
            rec.kind == EventKind.VARIABLE and rec.data.get("name") in CONTACT_VARIABLES
        ):
            self.calls.add(rec.call_id)

    async def before(self, conn: AsyncConnection, queue_keys: Iterable[tuple[str, int]]) -> None:
        """Before the ACD rows are written: take the upkeep lock, check the roll-up's thresholds and
        keep the old entries."""
        keys = sorted(queue_keys)
        if not self.calls and not keys:
            return
        await lock_upkeep(conn)
        if self.thresholds is None:
            await drop_meta(conn)  # these rows change without roll-up upkeep
            return
        self.rolling = await check_meta(conn, self.thresholds)
        if self.rolling:
            self.queue_keys = keys
            self.old_entries = await _entries(conn, self.queue_keys)

    async def after(self, conn: AsyncConnection) -> None:
        """After the ACD rows are written: contacts and links, then the roll-up."""
        contact_changes = await _update_contacts(conn, sorted(self.calls))
        if not self.rolling:
            return
        assert self.thresholds is not None
        new_entries = await _entries(conn, self.queue_keys)
        changes: list[tuple[QueueEntry | Contact | None, QueueEntry | Contact | None]] = [
            (self.old_entries.get(key), new_entries.get(key)) for key in self.queue_keys
        ]
        changes += contact_changes
        await add_to_slots(conn, delta(changes, self.thresholds))


async def _entries(conn: AsyncConnection, keys: list[tuple[str, int]]) -> dict[tuple[str, int], QueueEntry]:
    q = queue_calls_table
    out: dict[tuple[str, int], QueueEntry] = {}
    wanted = set(keys)
    for chunk in _chunks(sorted({call_id for call_id, _ in keys})):
        found = await conn.execute(
            select(q.c.call_id, q.c.entry, *(q.c[c] for c in QUEUE_ENTRY_COLUMNS)).where(
                q.c.call_id.in_(chunk)
            )
        )
        for row in found.mappings():
            if (row["call_id"], row["entry"]) in wanted:
                out[(row["call_id"], row["entry"])] = QueueEntry.of(row)
    return out


async def _derive(conn: AsyncConnection, call_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The contact values of ``call_ids`` (calls that have started only) from the stored rows."""
    out: dict[str, dict[str, Any]] = {}
    c, d, e, q = calls_table, dispositions_table, events_table, queue_calls_table
    for chunk in _chunks(call_ids):
        for row in await conn.execute(
            select(c.c.call_id, c.c.caller_number, c.c.started_at).where(
                c.c.call_id.in_(chunk), c.c.started_at.is_not(None)
            )
        ):
            out[row.call_id] = dict.fromkeys(VALUES) | {
                "caller_number": row.caller_number,
                "started_at": row.started_at,
                "handled": False,
            }
        ivr: dict[str, dict[str, Any]] = {}
        variables = select(e.c.call_id, e.c.data).where(
            e.c.call_id.in_(chunk), e.c.kind == EventKind.VARIABLE.value
        )
        for var in await conn.execute(variables.order_by(e.c.call_id, e.c.seq)):
            data = var.data if isinstance(var.data, dict) else {}
            name = data.get("name")
            if name in CONTACT_VARIABLES and var.call_id in out:
                value = (
                    parse_resolved(data.get("value")) if name == "resolved" else as_text(data.get("value"))
                )
                if value is not None:
                    ivr.setdefault(var.call_id, {})[name] = value
        for call_id, values in ivr.items():
            out[call_id].update(values)
        given = select(d.c.call_id, d.c.topic, d.c.resolved, d.c.outcome).where(d.c.call_id.in_(chunk))
        for disp in await conn.execute(given.order_by(d.c.call_id, d.c.seq)):
            if disp.call_id in out:
                for name in CONTACT_VARIABLES:
                    if getattr(disp, name) is not None:
                        out[disp.call_id][name] = getattr(disp, name)
        connected = select(q.c.call_id, q.c.queue, q.c.agent_id).where(
            q.c.call_id.in_(chunk), q.c.connected_at.is_not(None)
        )
        for entry in await conn.execute(connected.order_by(q.c.call_id, q.c.entry)):
            if entry.call_id in out:
                out[entry.call_id] |= {"queue": entry.queue, "agent_id": entry.agent_id, "handled": True}
    return out


async def _rows(conn: AsyncConnection, where: Any) -> dict[str, dict[str, Any]]:
    t = contacts_table
    found = await conn.execute(select(t).where(where))
    return {row["call_id"]: dict(row) for row in found.mappings()}


async def _update_contacts(
    conn: AsyncConnection, call_ids: list[str]
) -> list[tuple[QueueEntry | Contact | None, QueueEntry | Contact | None]]:
    """Derive, store and relink the contacts of ``call_ids``; return every changed contact as
    (old, new) `Contact` pairs (relinked neighbours included)."""
    if not call_ids:
        return []
    t = contacts_table
    derived = await _derive(conn, call_ids)
    old: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(list(derived)):
        old |= await _rows(conn, t.c.call_id.in_(chunk))
    new: dict[str, dict[str, Any]] = {}
    for call_id, values in derived.items():
        before = old.get(call_id)
        row = (before or {"prev_at": None, "next_at": None}) | values | {"call_id": call_id}
        if _point(row) is None:
            row |= {"prev_at": None, "next_at": None}
        if row != before:
            new[call_id] = row
    if not new:
        return []
    await _store(conn, list(new.values()))
    moved = [cid for cid in new if _point(old.get(cid)) != _point(new[cid])]
    relinked = await _relink(conn, [old.get(cid) for cid in moved], [new[cid] for cid in moved])
    changes: list[tuple[QueueEntry | Contact | None, QueueEntry | Contact | None]] = []
    for call_id, (before, after) in relinked.items():
        if call_id in new:
            continue
        changes.append((Contact.of(before), Contact.of(after)))
    for call_id, row in new.items():
        after = relinked[call_id][1] if call_id in relinked else row
        before = old.get(call_id)
        changes.append((Contact.of(before) if before else None, Contact.of(after)))
    return changes


async def _store(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    t = contacts_table
    stmt = insert_for(conn.dialect.name)(t)
    set_ = {c: stmt.excluded[c] for c in (*VALUES, "prev_at", "next_at")}
    await conn.execute(stmt.on_conflict_do_update(index_elements=["call_id"], set_=set_), rows)


async def _neighbours(conn: AsyncConnection, points: list[Point]) -> Links:
    """For each point, the start of the previous and of the next contact of its number and topic."""
    if conn.dialect.name == "postgresql":
        return await _pg_neighbours(conn, points)
    t = contacts_table
    out: Links = {}
    for chunk in _chunks(points):
        selects = []
        for i, (number, topic, start) in enumerate(chunk):
            same = (t.c.caller_number == number, t.c.topic == topic)
            prev = select(func.max(t.c.started_at)).where(*same, t.c.started_at < start).scalar_subquery()
            next_ = select(func.min(t.c.started_at)).where(*same, t.c.started_at > start).scalar_subquery()
            selects.append(select(literal(i, Integer).label("i"), prev.label("prev"), next_.label("next")))
        stmt = selects[0] if len(selects) == 1 else union_all(*selects)
        for row in await conn.execute(stmt):
            out[chunk[row.i]] = (row.prev, row.next)
    return out


#: one statement text whatever the number of points, so PostgreSQL plans it once (arrays, unnest)
_PG_NEIGHBOURS = text(
    """
    SELECT p.i,
      (SELECT max(c.started_at) FROM contacts c
        WHERE c.caller_number = p.n AND c.topic = p.tp AND c.started_at < p.t) AS prev,
      (SELECT min(c.started_at) FROM contacts c
        WHERE c.caller_number = p.n AND c.topic = p.tp AND c.started_at > p.t) AS next
    FROM unnest(CAST(:n AS varchar[]), CAST(:tp AS varchar[]), CAST(:t AS timestamptz[]))
      WITH ORDINALITY AS p(n, tp, t, i)
    """
).columns(i=Integer(), prev=UTCDateTime(), next=UTCDateTime())


async def _pg_neighbours(conn: AsyncConnection, points: list[Point]) -> Links:
    out: Links = {}
    for chunk in _chunks(points):
        params = {"n": [p[0] for p in chunk], "tp": [p[1] for p in chunk], "t": [p[2] for p in chunk]}
        for row in await conn.execute(_PG_NEIGHBOURS, params):
            out[chunk[row.i - 1]] = (row.prev, row.next)
    return out


async def _relink(
    conn: AsyncConnection, olds: list[dict[str, Any] | None], news: list[dict[str, Any]]
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Fix the links of every contact a move may concern; return {call id: (row before, row after)}
    of the contacts whose links changed."""
    points: set[Point] = set()
    for before, after in zip(olds, news, strict=True):
        if (p := _point(before)) is not None:
            points |= {(p[0], p[1], at) for at in (before["prev_at"], before["next_at"]) if at}  # type: ignore[index]
        if (p := _point(after)) is not None:
            points.add(p)
    links = await _neighbours(conn, sorted(points))
    around = {(p[0], p[1], at) for p, pair in links.items() for at in pair if at is not None} - points
    links |= await _neighbours(conn, sorted(around))
    if not links:
        return {}
    t = contacts_table
    rows: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(links)):
        at_point = [
            and_(t.c.caller_number == n, t.c.topic == tp, t.c.started_at == at) for n, tp, at in chunk
        ]
        rows |= await _rows(conn, or_(*at_point))
    changed: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for call_id, row in rows.items():
        p = _point(row)
        prev_at, next_at = links[p] if p is not None and p in links else (None, None)
        if (row["prev_at"], row["next_at"]) != (prev_at, next_at):
            changed[call_id] = (row, row | {"prev_at": prev_at, "next_at": next_at})
    if changed:
        stmt = (
            update(t)
            .where(t.c.call_id == bindparam("b_call_id"))
            .values(prev_at=bindparam("b_prev"), next_at=bindparam("b_next"))
        )
        params = [
            {"b_call_id": cid, "b_prev": after["prev_at"], "b_next": after["next_at"]}
            for cid, (_, after) in changed.items()
        ]
        await conn.execute(stmt, params)
    return changed
