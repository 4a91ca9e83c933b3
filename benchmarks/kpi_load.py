"""Loaders of benchmarks/kpi_data.py: the generated calls as rows, into PostgreSQL, SQLite and DuckDB.

Each loader creates the schema with ccapp's own migrations (DuckDB: the same columns by hand), drops
the secondary indexes of ``queue_calls`` and ``contacts`` for the load and recreates them from their
migrated definitions, and writes ``kpi_queue_slots`` (+ ``kpi_rollup_meta``) from the same arrays.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.kpi_data import (
    ANSWERED,
    CALLBACK,
    CONTACTS_COLUMNS,
    FLOAT_MEASURES,
    OUTCOMES,
    QUEUE_CALLS_COLUMNS,
    REPEAT_W_MS,
    SHORT_S,
    SL_T,
    SLOT_MEASURES,
    Calls,
    Spec,
    _log,
    slot_measures,
)

# --------------------------------------------------------------------------- rows


def queue_name(q: int) -> str:
    return f"queue{q:02d}"


def _names(prefix: str, n: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(n)], dtype=object)


def caller_numbers(spec: Spec) -> np.ndarray:
    """Caller index → phone number; a fixed permutation so popularity and number are unrelated."""
    perm = np.random.default_rng(spec.seed + 7).permutation(9_000_000)[: spec.callers]
    return np.array([f"+3361{1_000_000 + p:07d}" for p in perm.tolist()], dtype=object)


def _iso(ms: np.ndarray, suffix: str = "") -> list[str | None]:
    """Epoch ms → SQLAlchemy's SQLite DATETIME text 'YYYY-MM-DD HH:MM:SS.ffffff' (+ suffix); -1 → None."""
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="us").tolist()
    out: list[str | None] = [s.replace("T", " ") + suffix for s in text]
    if (ms < 0).any():
        for i in np.nonzero(ms < 0)[0].tolist():
            out[i] = None
    return out


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in values.tolist()]


@dataclass(frozen=True)
class Names:
    queues: np.ndarray
    topics: np.ndarray
    agents: np.ndarray
    skills: np.ndarray
    numbers: np.ndarray


def names_for(spec: Spec) -> Names:
    queues = np.array([queue_name(q) for q in range(spec.queues)], dtype=object)
    return Names(
        queues=queues,
        topics=_names("topic", spec.topics, 2),
        agents=np.array([*_names("agent", spec.agents, 3).tolist(), None], dtype=object),
        skills=np.array([f"skill{q % 8}" for q in range(spec.queues)], dtype=object),
        numbers=caller_numbers(spec),
    )


Chunk = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def row_chunks(
    calls: Calls, names: Names, chunk: int, ts_suffix: str, booleans: tuple[Any, Any]
) -> Iterator[Chunk]:
    """(queue_calls rows, contacts rows) per ``chunk`` calls; timestamps as text, booleans as given."""
    no, yes = booleans
    for lo in range(0, len(calls), chunk):
        c = calls.take(np.arange(lo, min(lo + chunk, len(calls))))
        n = len(c)
        call_id = [f"c{i:09d}" for i in range(lo, lo + n)]
        answered = c.outcome == ANSWERED
        queue = names.queues[c.queue].tolist()
        agent = names.agents[c.agent].tolist()  # -1 → the appended None
        number = names.numbers[c.caller].tolist()
        topic = names.topics[c.topic].tolist()
        outcome = OUTCOMES[c.outcome].tolist()
        wait_ms = np.round(c.wait * 1000).astype(np.int64)
        entered = _iso(c.entered, ts_suffix)
        left = _iso(c.entered + wait_ms, ts_suffix)
        connected = _iso(np.where(answered, c.entered + wait_ms, -1), ts_suffix)
        end_ms = c.entered + wait_ms + np.round(np.nan_to_num(c.talk + c.hold) * 1000).astype(np.int64)
        disconnected = _iso(np.where(answered, end_ms, -1), ts_suffix)
        started = _iso(c.started, ts_suffix)
        prev_at = _iso(c.prev_at, ts_suffix)
        next_at = _iso(c.next_at, ts_suffix)
        flag = [yes if a else no for a in answered.tolist()]
        callback = [yes if o == CALLBACK else no for o in c.outcome.tolist()]
        resolved = [
            (yes if r else no) if a else None
            for a, r in zip(answered.tolist(), c.resolved.tolist(), strict=True)
        ]
        skill = names.skills[c.queue].tolist()
        offered = answered.astype(np.int64).tolist()
        qc = list(
            zip(
                call_id, [1] * n, queue, [None] * n, entered, left, outcome, [None] * n, c.wait.tolist(),
                agent, offered, [0] * n, connected, disconnected, _floats(c.ring), _floats(c.talk),
                _floats(c.hold), callback, number, skill, _floats(c.wrap),
                strict=True,
            )
        )  # fmt: skip
        ct = list(
            zip(
                call_id,
                number,
                topic,
                started,
                queue,
                agent,
                flag,
                resolved,
                outcome,
                prev_at,
                next_at,
                strict=True,
            )
        )
        yield qc, ct


# --------------------------------------------------------------------------- loaders


async def _migrate(url: str) -> None:
    from ccapp.storage import upgrade

    await upgrade(url)


def load_sqlite(path: Path, spec: Spec, calls: Calls, chunk: int) -> None:
    """Migrate a fresh SQLite file with ccapp's migrations, then bulk-insert with the journal off."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    indexes = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
        " AND tbl_name IN ('queue_calls', 'contacts')"
    ).fetchall()
    for name, _sql in indexes:
        con.execute(f'DROP INDEX "{name}"')
    q_sql = f"INSERT INTO queue_calls ({', '.join(QUEUE_CALLS_COLUMNS)}) VALUES ({', '.join('?' * 21)})"
    c_sql = f"INSERT INTO contacts ({', '.join(CONTACTS_COLUMNS)}) VALUES ({', '.join('?' * 11)})"
    names = names_for(spec)
    done = 0
    for qc, ct in row_chunks(calls, names, chunk, "", (0, 1)):
        con.execute("BEGIN")
        con.executemany(q_sql, qc)
        con.executemany(c_sql, ct)
        con.execute("COMMIT")
        done += len(qc)
        _log(f"sqlite: {done:,} rows")
    for name, sql in indexes:
        _log(f"sqlite: index {name}")
        con.execute(sql)
    _write_slots_sqlite(con, spec, calls)
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()


def _slot_rows(spec: Spec, calls: Calls, suffix: str) -> list[tuple[Any, ...]]:
    queue, slot_ms, sums = slot_measures(spec, calls)
    qnames = [queue_name(q) for q in queue.tolist()]
    slots = _iso(slot_ms, suffix)
    cols = [
        sums[m].tolist() if m in FLOAT_MEASURES else sums[m].astype(np.int64).tolist() for m in SLOT_MEASURES
    ]
    return list(zip(qnames, slots, *cols, strict=True))


def _write_slots_sqlite(con: sqlite3.Connection, spec: Spec, calls: Calls) -> None:
    rows = _slot_rows(spec, calls, "")
    cols = ("queue", "slot", *SLOT_MEASURES)
    con.execute("BEGIN")
    con.execute("DELETE FROM kpi_queue_slots")
    con.executemany(
        f"INSERT INTO kpi_queue_slots ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows
    )
    con.execute("DELETE FROM kpi_rollup_meta")
    con.execute(
        "INSERT INTO kpi_rollup_meta (id, sl_threshold_s, short_abandon_s, repeat_window_s, built_at)"
        " VALUES (1, ?, ?, ?, ?)",
        (SL_T, SHORT_S, REPEAT_W_MS / 1000.0, _iso(np.array([int(time.time() * 1000)]))[0]),
    )
    con.execute("COMMIT")
    _log(f"sqlite: {len(rows):,} kpi_queue_slots rows")


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _csv_bytes(rows: list[tuple[Any, ...]]) -> io.BytesIO:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return io.BytesIO(text.getvalue().encode())


async def load_pg(url: str, spec: Spec, calls: Calls, chunk: int) -> None:
    """Recreate the public schema, migrate with ccapp's migrations, COPY the rows, rebuild indexes."""
    import asyncpg

    con = await asyncpg.connect(_asyncpg_dsn(url))
    await con.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    await con.close()
    await _migrate(url)
    con = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        indexes = await con.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public'"
            " AND i.tablename IN ('queue_calls', 'contacts') AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conname = i.indexname)"
        )
        for row in indexes:
            await con.execute(f'DROP INDEX "{row["indexname"]}"')
        names = names_for(spec)
        done = 0
        for qc, ct in row_chunks(calls, names, chunk, "+00", ("f", "t")):
            async with con.transaction():
                await con.copy_to_table(
                    "queue_calls", source=_csv_bytes(qc), columns=list(QUEUE_CALLS_COLUMNS), format="csv"
                )
                await con.copy_to_table(
                    "contacts", source=_csv_bytes(ct), columns=list(CONTACTS_COLUMNS), format="csv"
                )
            done += len(qc)
            _log(f"pg: {done:,} rows")
        for row in indexes:
            _log(f"pg: index {row['indexname']}")
            await con.execute(row["indexdef"])
        rows = _slot_rows(spec, calls, "+00")
        cols = ("queue", "slot", *SLOT_MEASURES)
        async with con.transaction():
            await con.execute("DELETE FROM kpi_queue_slots")
            await con.copy_to_table(
                "kpi_queue_slots", source=_csv_bytes(rows), columns=list(cols), format="csv"
            )
            await con.execute("DELETE FROM kpi_rollup_meta")
            await con.execute(
                "INSERT INTO kpi_rollup_meta (id, sl_threshold_s, short_abandon_s, repeat_window_s, built_at)"
                " VALUES (1, $1, $2, $3, now())",
                SL_T,
                SHORT_S,
                REPEAT_W_MS / 1000.0,
            )
        _log(f"pg: {len(rows):,} kpi_queue_slots rows; analyze")
        await con.execute("VACUUM ANALYZE queue_calls")
        await con.execute("VACUUM ANALYZE contacts")
        await con.execute("ANALYZE kpi_queue_slots")
    finally:
        await con.close()


DUCKDB_SCHEMA = """
CREATE TABLE queue_calls (call_id VARCHAR, entry INTEGER, queue VARCHAR, priority INTEGER,
  entered_at TIMESTAMP, left_at TIMESTAMP, outcome VARCHAR, target VARCHAR, wait_s DOUBLE,
  agent_id VARCHAR, offered_count INTEGER, no_answer_count INTEGER, connected_at TIMESTAMP,
  disconnected_at TIMESTAMP, ring_s DOUBLE, talk_s DOUBLE, hold_s DOUBLE, callback BOOLEAN,
  caller_number VARCHAR, skill VARCHAR, wrap_s DOUBLE);
CREATE TABLE contacts (call_id VARCHAR, caller_number VARCHAR, topic VARCHAR, started_at TIMESTAMP,
  queue VARCHAR, agent_id VARCHAR, handled BOOLEAN, resolved BOOLEAN, outcome VARCHAR,
  prev_at TIMESTAMP, next_at TIMESTAMP);
"""


def load_duckdb(path: Path, spec: Spec, calls: Calls, chunk: int) -> None:
    """The same rows into a DuckDB file (timestamps as naive UTC), for the reference queries."""
    import duckdb
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(DUCKDB_SCHEMA)
    names = names_for(spec)

    def ts(ms: np.ndarray) -> np.ndarray:
        out = ms.astype("datetime64[ms]").astype("datetime64[us]")
        out[ms < 0] = np.datetime64("NaT")
        return out

    for lo in range(0, len(calls), chunk):
        c = calls.take(np.arange(lo, min(lo + chunk, len(calls))))
        answered = c.outcome == ANSWERED
        wait_ms = np.round(c.wait * 1000).astype(np.int64)
        end_ms = c.entered + wait_ms + np.round(np.nan_to_num(c.talk + c.hold) * 1000).astype(np.int64)
        call_id = np.array([f"c{i:09d}" for i in range(lo, lo + len(c))], dtype=object)
        queue = names.queues[c.queue]
        agent = names.agents[c.agent]
        number = names.numbers[c.caller]
        outcome = OUTCOMES[c.outcome]
        flags = zip(answered.tolist(), c.resolved.tolist(), strict=True)
        resolved = pd.array([bool(r) if a else None for a, r in flags], dtype="boolean")
        qc = pd.DataFrame(
            {
                "call_id": call_id, "entry": np.ones(len(c), np.int32), "queue": queue,
                "priority": pd.array([None] * len(c), dtype="Int32"), "entered_at": ts(c.entered),
                "left_at": ts(c.entered + wait_ms), "outcome": outcome,
                "target": np.full(len(c), None, object),
                "wait_s": c.wait, "agent_id": agent, "offered_count": answered.astype(np.int32),
                "no_answer_count": np.zeros(len(c), np.int32),
                "connected_at": ts(np.where(answered, c.entered + wait_ms, -1)),
                "disconnected_at": ts(np.where(answered, end_ms, -1)), "ring_s": c.ring, "talk_s": c.talk,
                "hold_s": c.hold, "callback": c.outcome == CALLBACK, "caller_number": number,
                "skill": names.skills[c.queue], "wrap_s": c.wrap,
            }
        )  # fmt: skip
        ct = pd.DataFrame(
            {
                "call_id": call_id, "caller_number": number, "topic": names.topics[c.topic],
                "started_at": ts(c.started), "queue": queue, "agent_id": agent, "handled": answered,
                "resolved": resolved,
                "outcome": outcome, "prev_at": ts(c.prev_at), "next_at": ts(c.next_at),
            }
        )  # fmt: skip
        con.register("qc_chunk", qc)
        con.register("ct_chunk", ct)
        con.execute("INSERT INTO queue_calls SELECT * FROM qc_chunk")
        con.execute("INSERT INTO contacts SELECT * FROM ct_chunk")
        con.unregister("qc_chunk")
        con.unregister("ct_chunk")
        _log(f"duckdb: {lo + len(c):,} rows")
    con.execute("CHECKPOINT")
    con.close()


async def rebuild_with_ccapp(url: str) -> bool:
    """Refill the roll-ups with ccapp's own ``rebuild_rollups`` when it exists; False when it does not."""
    try:
        from ccapp.storage.kpi_rollup import rebuild_rollups  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    from ccapp.kpi.definitions import Thresholds
    from ccapp.storage import Database

    db = Database(url)
    try:
        await rebuild_rollups(db, Thresholds())
    finally:
        await db.dispose()
    return True
