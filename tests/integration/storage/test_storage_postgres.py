"""The storage adapter on PostgreSQL: schema, projection, exact counts, outage and crash recovery."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url

from ccapp.calls.model import CallEvent, EventKind
from ccapp.clock import FakeClock
from ccapp.storage import (
    Base,
    Database,
    SqlJournal,
    count_calls,
    count_events,
    current_revision,
    get_call,
    list_events,
    list_legs,
    recent_calls,
    upgrade,
)
from ccapp.storage.outbox import DEAD_LETTER
from tests.integration.storage.tcp_proxy import TcpProxy
from tests.unit.storage.helpers import EVENTS_PER_CALL, run_call

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_migrated_schema_matches_the_models_and_upgrade_is_idempotent(
    pg_url: str, pg_db: Database
) -> None:
    await upgrade(pg_url)
    assert await current_revision(pg_url) == "0004"
    async with pg_db.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    assert await pg_db.ping()


async def test_a_call_is_projected_with_utc_times_and_replays_change_nothing(
    pg_db: Database, tmp_path: Path
) -> None:
    clock = FakeClock(datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=1))))
    events: list[CallEvent] = []

    class Tee:
        def append(self, event: CallEvent) -> None:
            events.append(event)

    run_call(Tee(), clock, "c1")
    for attempt in range(2):
        journal = SqlJournal(pg_db, tmp_path / f"outbox-{attempt}")
        await journal.start()
        for event in events:
            journal.append(event)
        await journal.flush()
        await journal.stop()
        assert journal.stats["events_written"] == (EVENTS_PER_CALL if attempt == 0 else 0)

    call = await get_call(pg_db, "c1")
    assert call is not None
    assert call["started_at"] == T0
    assert call["started_at"].utcoffset() == timedelta(0)
    assert (call["duration_s"], call["digits"], call["hangup_cause_text"]) == (
        35.5,
        "****",
        "Normal Clearing",
    )
    assert [leg["role"] for leg in await list_legs(pg_db, "c1")] == ["caller", "agent"]
    assert len(await list_events(pg_db, "c1")) == EVENTS_PER_CALL
    assert [c["call_id"] for c in await recent_calls(pg_db, 5)] == ["c1"]


async def test_fifty_calls_land_exactly(pg_db: Database, tmp_path: Path) -> None:
    clock = FakeClock()
    journal = SqlJournal(pg_db, tmp_path / "outbox", batch_size=64)
    await journal.start()
    for n in range(50):
        run_call(journal, clock, f"call-{n:02d}")
        await asyncio.sleep(0)
    await journal.flush()
    await journal.stop()
    assert await count_calls(pg_db) == 50
    assert await count_events(pg_db) == 50 * EVENTS_PER_CALL
    for call in await recent_calls(pg_db, 50):
        assert (call["last_seq"], call["duration_s"], call["outcome"]) == (EVENTS_PER_CALL, 35.5, "answered")


async def test_the_journal_reconnects_through_the_same_engine_after_an_outage(
    pg_url: str, pg_db: Database, proxy: TcpProxy, tmp_path: Path
) -> None:
    port = await proxy.open()
    via_proxy = Database(make_url(pg_url).set(port=port))
    clock = FakeClock()
    journal = SqlJournal(via_proxy, tmp_path / "outbox", retry_initial=0.05, retry_max=0.2)
    await journal.start()
    try:
        run_call(journal, clock, "before")
        await journal.flush()

        await proxy.close()  # the database vanishes; pooled connections die with it
        run_call(journal, clock, "during")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await journal.flush()
        assert not journal.db_ok
        assert journal.stats["retries"] >= 2

        await proxy.open()  # back on the same port
        async with asyncio.timeout(10):
            await journal.flush()
        assert journal.db_ok
    finally:
        await journal.stop()
        await via_proxy.dispose()
    assert await count_calls(pg_db) == 2
    assert await count_events(pg_db) == 2 * EVENTS_PER_CALL


async def test_events_kept_while_postgres_was_unreachable_are_replayed_by_the_next_process(
    pg_url: str, pg_db: Database, proxy: TcpProxy, tmp_path: Path
) -> None:
    port = await proxy.open()
    await proxy.close()  # a port where nothing listens any more
    down = Database(make_url(pg_url).set(port=port))
    first = SqlJournal(down, tmp_path / "outbox", retry_initial=0.05, retry_max=0.2)
    await first.start()
    clock = FakeClock()
    run_call(first, clock, "c1")
    run_call(first, clock, "c2")
    await first.stop(timeout=2)
    await down.dispose()
    assert first.pending == 2 * EVENTS_PER_CALL

    second = SqlJournal(pg_db, tmp_path / "outbox")
    await second.start()
    await second.flush()
    await second.stop()
    assert await count_calls(pg_db) == 2
    assert await count_events(pg_db) == 2 * EVENTS_PER_CALL


async def test_an_event_postgres_refuses_is_dead_lettered_and_its_neighbours_stored(
    pg_db: Database, tmp_path: Path
) -> None:
    journal = SqlJournal(pg_db, tmp_path / "outbox")
    await journal.start()
    clock = FakeClock()
    run_call(journal, clock, "c1")
    # jsonb cannot hold NUL characters: PostgreSQL refuses this event whatever we do.
    journal.append(CallEvent("c1", 99, T0, EventKind.ERROR, {"error": "bad\x00byte"}))
    run_call(journal, clock, "c2")
    await journal.flush()
    await journal.stop()
    assert journal.stats["dead_letters"] == 1
    assert await count_events(pg_db) == 2 * EVENTS_PER_CALL
    (dead,) = (tmp_path / "outbox" / DEAD_LETTER).read_text().splitlines()
    assert json.loads(json.loads(dead)["line"])["seq"] == 99
