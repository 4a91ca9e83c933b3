"""The ``kpi_queue_slots`` roll-up: adding contributions, the thresholds it was built with, rebuilding.

The roll-up is only as good as its ``kpi_rollup_meta`` row: the report engine uses it only when the
row's thresholds equal the report's. So:

- upkeep (`ccapp.storage.kpi_projection`) adds to the slots only while the meta row equals the
  thresholds it was given; otherwise it deletes the meta row (the roll-up is then ignored until
  rebuilt) rather than mixing thresholds. A batch written without upkeep (``kpi.rollups: false``,
  ``ccapp simulate --db``) deletes it too;
- `rebuild_rollups` recomputes every slot from ``queue_calls`` and ``contacts`` with the same pure
  contributions (`ccapp.kpi.rollup`) and records the thresholds; `ensure_rollups` does it at start
  when the meta row differs from the settings.

Upkeep and rebuilds take one transaction-scoped lock (`lock_upkeep`: a PostgreSQL advisory lock), so
batches written in parallel transactions see each other's contacts when they link them, and a rebuild
never races a batch. On SQLite the database's single writer already serialises them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import Table, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.kpi.definitions import ROLLUP_MEASURES, Thresholds
from ccapp.kpi.rollup import (
    CONTACT_COLUMNS,
    QUEUE_ENTRY_COLUMNS,
    Contact,
    Contributions,
    QueueEntry,
    add_row,
)
from ccapp.storage.db import Database, insert_for
from ccapp.storage.models import Base

log = logging.getLogger(__name__)

slots_table: Table = Base.metadata.tables["kpi_queue_slots"]
meta_table: Table = Base.metadata.tables["kpi_rollup_meta"]
queue_calls_table: Table = Base.metadata.tables["queue_calls"]
contacts_table: Table = Base.metadata.tables["contacts"]

META_ID = 1
#: the PostgreSQL advisory lock key of KPI upkeep (any constant other code does not use)
UPKEEP_LOCK = 0x6B70695F75706B
#: measures stored as integers (the rest are sums of seconds)
COUNTS = frozenset(m for m in ROLLUP_MEASURES if not m.endswith("_s"))
_CHUNK = 500


async def lock_upkeep(conn: AsyncConnection) -> None:
    """Serialise KPI upkeep and rebuilds until the transaction ends (PostgreSQL; SQLite needs none)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(UPKEEP_LOCK)))


async def read_meta(conn: AsyncConnection) -> Thresholds | None:
    """The thresholds the roll-up holds (None: no valid roll-up)."""
    row = (await conn.execute(select(meta_table).where(meta_table.c.id == META_ID))).first()
    if row is None:
        return None
    return Thresholds(row.sl_threshold_s, row.short_abandon_s, row.repeat_window_s)


async def drop_meta(conn: AsyncConnection) -> None:
    """Mark the roll-up invalid (rows change without upkeep): reports read raw rows until a rebuild."""
    await conn.execute(delete(meta_table).where(meta_table.c.id == META_ID))


async def check_meta(conn: AsyncConnection, thresholds: Thresholds) -> bool:
    """True when the roll-up was built with ``thresholds`` (upkeep may go on). Otherwise the meta row
    is deleted, so nothing reads a roll-up that upkeep no longer keeps."""
    meta = await read_meta(conn)
    if meta == thresholds:
        return True
    if meta is not None:
        log.warning("KPI roll-ups were built with %s, not %s: ignored until rebuilt", meta, thresholds)
        await drop_meta(conn)
    return False


def _slot_row(key: tuple[str, datetime], measures: dict[str, float]) -> dict[str, Any]:
    row: dict[str, Any] = {"queue": key[0], "slot": key[1]}
    for name in ROLLUP_MEASURES:
        value = measures.get(name, 0.0)
        row[name] = round(value) if name in COUNTS else value
    return row


async def add_to_slots(conn: AsyncConnection, changes: Contributions) -> None:
    """Add ``changes`` into the slot rows (creating them); slots left with no entries and no handled
    contacts are deleted, as a rebuild would not have them."""
    if not changes:
        return
    stmt = insert_for(conn.dialect.name)(slots_table)
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["queue", "slot"], set_={m: slots_table.c[m] + new[m] for m in ROLLUP_MEASURES}
    )
    await conn.execute(stmt, [_slot_row(key, m) for key, m in changes.items()])
    shrunk = [key for key, m in changes.items() if any(v < 0 for v in m.values())]
    for start in range(0, len(shrunk), _CHUNK):
        keys = shrunk[start : start + _CHUNK]
        await conn.execute(
            delete(slots_table).where(
                or_(*(and_(slots_table.c.queue == q, slots_table.c.slot == s) for q, s in keys)),
                *(slots_table.c[m] == 0 for m in COUNTS),
            )
        )


async def _rows(conn: AsyncConnection) -> AsyncIterator[QueueEntry | Contact]:
    q = queue_calls_table
    result = await conn.stream(select(*(q.c[c] for c in QUEUE_ENTRY_COLUMNS)).where(q.c.queue.is_not(None)))
    async for row in result:
        yield QueueEntry.of(row._mapping)
    c = contacts_table
    result = await conn.stream(select(*(c.c[n] for n in CONTACT_COLUMNS)).where(c.c.queue.is_not(None)))
    async for row in result:
        yield Contact.of(row._mapping)


async def rebuild_rollups(db: Database, thresholds: Thresholds, *, now: datetime | None = None) -> int:
    """Recompute every slot from ``queue_calls`` and ``contacts`` and record ``thresholds``, in one
    transaction; return the number of slot rows."""
    async with db.engine.begin() as conn:
        await lock_upkeep(conn)
        # deleting first takes SQLite's write lock before anything is read
        await conn.execute(delete(meta_table))
        await conn.execute(delete(slots_table))
        slots: Contributions = {}
        async for row in _rows(conn):
            add_row(slots, row, thresholds)
        data = [_slot_row(key, m) for key, m in slots.items()]
        for start in range(0, len(data), _CHUNK):
            await conn.execute(slots_table.insert(), data[start : start + _CHUNK])
        await conn.execute(
            meta_table.insert().values(
                id=META_ID,
                sl_threshold_s=thresholds.sl_threshold_s,
                short_abandon_s=thresholds.short_abandon_s,
                repeat_window_s=thresholds.repeat_window_s,
                built_at=now or datetime.now(UTC),
            )
        )
    log.info("KPI roll-ups rebuilt with %s: %d slot rows", thresholds, len(data))
    return len(data)


async def ensure_rollups(db: Database, thresholds: Thresholds) -> bool:
    """Rebuild the roll-ups when they were not built with ``thresholds``; True when it rebuilt."""
    async with db.engine.connect() as conn:
        meta = await read_meta(conn)
    if meta == thresholds:
        return False
    log.info("KPI roll-ups built with %s, settings say %s: rebuilding", meta, thresholds)
    await rebuild_rollups(db, thresholds)
    return True


def rollups_command(url: str, thresholds: Thresholds, out: TextIO) -> int:
    """``ccapp rollups rebuild``: rebuild the roll-ups of the database at ``url``; exit status."""

    async def rebuild() -> int:
        db = Database(url)
        try:
            return await rebuild_rollups(db, thresholds)
        finally:
            await db.dispose()

    count = asyncio.run(rebuild())
    t = thresholds
    print(
        f"KPI roll-ups rebuilt: {count} slot rows "
        f"(T {t.sl_threshold_s:g} s, S {t.short_abandon_s:g} s, W {t.repeat_window_s:g} s)",
        file=out,
    )
    return 0
