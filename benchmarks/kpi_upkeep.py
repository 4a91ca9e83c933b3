"""What keeping the KPI tables current costs per closed call: contacts with repeat links, and the
15-minute queue roll-up, on top of the journal's own projection.

    .venv/bin/python benchmarks/kpi_upkeep.py [--calls 20000] [--batch 200] [--repeat 2] [--pg URL | --no-pg]

Generates closed inbound calls (call.started, IVR topic, queue.entered, agent.offered,
agent.connected, queue.left, agent.disconnected, agent.wrapped, disposition, call.ended; abandons and
callbacks; a third of the callers call again on the same topics over 30 days), delivers their
records in time order through the real ``write_batch`` in batches of ``--batch`` records, and
prints milliseconds per closed call for three modes on SQLite (a file) and PostgreSQL:

- ``base``: the journal projection alone (calls, legs, ACD tables) — KPI upkeep switched off;
- ``contacts``: plus contacts and their repeat links (always on in ccapp);
- ``contacts+rollup``: plus the kpi_queue_slots roll-up (``kpi.rollups: true``, the default).

The upkeep's cost is the difference to ``base``; each mode runs ``--repeat`` times (the fastest
counts, as the machine may be shared). Prints, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import ccapp.storage.projection as projection
from ccapp.kpi.definitions import Thresholds
from ccapp.storage import Database, upgrade
from ccapp.storage.kpi_rollup import rebuild_rollups
from ccapp.storage.outbox import Record
from tests.unit.storage.kpi_calls import random_calls

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
MODES = ("base", "contacts", "contacts+rollup")


class _NoUpkeep:
    """Stands in for `KpiUpkeep` in the ``base`` mode."""

    def __init__(self, rollups: Thresholds | None = None) -> None:
        pass

    def add(self, rec: Record) -> None:
        pass

    async def before(self, conn: Any, queue_keys: Any) -> None:
        pass

    async def after(self, conn: Any) -> None:
        pass


@contextmanager
def upkeep_off() -> Iterator[None]:
    real = projection.KpiUpkeep
    projection.KpiUpkeep = _NoUpkeep  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        projection.KpiUpkeep = real  # type: ignore[misc]


async def deliver(url: str, records: list[Record], batch: int, mode: str) -> float:
    """Seconds to write ``records`` into the fresh database at ``url`` in ``mode``."""
    await upgrade(url)
    db = Database(url)
    t = Thresholds()
    try:
        if mode == "contacts+rollup":
            await rebuild_rollups(db, t)
        rollups = t if mode == "contacts+rollup" else None
        began = time.perf_counter()
        with upkeep_off() if mode == "base" else _nothing():
            for start in range(0, len(records), batch):
                async with db.engine.begin() as conn:
                    await projection.write_batch(conn, records[start : start + batch], rollups=rollups)
        return time.perf_counter() - began
    finally:
        await db.dispose()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def pg_database(base: str) -> Iterator[str]:
    name = f"ccapp_bench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                await conn.exec_driver_sql(sql)
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200, help="records per write_batch (journal: <= 500)")
    parser.add_argument("--pg", default=os.environ.get("CCAPP_TEST_PG_URL", PG_DEFAULT))
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--repeat", type=int, default=2, help="runs per mode; the fastest counts")
    args = parser.parse_args()

    records = random_calls(args.calls, random.Random(5), days=30.0, callers=args.calls // 3)
    records.sort(key=lambda r: r.at)  # concurrent calls interleave as the journal delivers them
    print(f"{args.calls} closed calls, {len(records)} records, batches of {args.batch} records")
    backends = ["sqlite"] + ([] if args.no_pg else ["postgresql"])

    def run(backend: str, mode: str) -> float:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                return asyncio.run(deliver(f"sqlite+aiosqlite:///{tmp}/bench.db", records, args.batch, mode))
        with pg_database(args.pg) as url:
            return asyncio.run(deliver(url, records, args.batch, mode))

    for backend in backends:
        results: dict[str, float] = {}
        # modes alternate across repeats so a busy moment of a shared machine hits all of them
        for _ in range(args.repeat):
            for mode in MODES:
                results[mode] = min(results.get(mode, float("inf")), run(backend, mode))
        for mode in MODES:
            per_call = results[mode] / args.calls * 1000
            extra = per_call - results["base"] / args.calls * 1000
            print(
                f"{backend:<11} {mode:<16} {results[mode]:7.2f} s  {per_call:6.3f} ms/call  (+{extra:.3f} ms)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
