"""SqlJournal: durable, idempotent, survives a down database and a crash."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from ccapp.calls.model import CallEvent, EventKind
from ccapp.clock import FakeClock
from ccapp.errors import StorageError
from ccapp.storage import Database, SqlJournal, count_calls, count_events, get_call, list_legs, upgrade
from ccapp.storage.outbox import DEAD_LETTER, Outbox
from ccapp.storage.projection import write_batch
from tests.unit.storage.helpers import EVENTS_PER_CALL, run_call


def outbox_lines(directory: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in directory.glob("segment-*.jsonl"))


async def test_appended_events_reach_sql_and_leave_the_outbox_empty(
    db: Database, clock: FakeClock, outbox_dir: Path
) -> None:
    journal = SqlJournal(db, outbox_dir)
    await journal.start()
    run_call(journal, clock, "c1")
    assert journal.pending == EVENTS_PER_CALL
    await journal.flush()
    assert journal.pending == 0
    assert journal.db_ok
    assert journal.stats["events_written"] == EVENTS_PER_CALL
    assert outbox_lines(outbox_dir) == 0
    await journal.stop()
    assert await count_events(db) == EVENTS_PER_CALL
    call = await get_call(db, "c1")
    assert call is not None
    assert call["outcome"] == "answered"


async def test_fifty_calls_of_twelve_events_land_exactly(
    db: Database, clock: FakeClock, outbox_dir: Path
) -> None:
    journal = SqlJournal(db, outbox_dir, batch_size=100)
    await journal.start()
    for n in range(50):
        run_call(journal, clock, f"call-{n:02d}")
        if n % 7 == 0:
            await asyncio.sleep(0)  # let the writer interleave with new events
    await journal.flush()
    await journal.stop()
    assert await count_calls(db) == 50
    assert await count_events(db) == 50 * EVENTS_PER_CALL
    assert journal.stats["events_written"] == 50 * EVENTS_PER_CALL
    assert journal.stats["batches"] >= 6
    for n in (0, 25, 49):
        call = await get_call(db, f"call-{n:02d}")
        assert call is not None
        assert (call["last_seq"], call["duration_s"]) == (EVENTS_PER_CALL, 35.5)
        assert len(await list_legs(db, f"call-{n:02d}")) == 2


async def test_events_outlive_a_crash_and_are_stored_exactly_once(
    db: Database, clock: FakeClock, outbox_dir: Path, tmp_path: Path
) -> None:
    # The first process never reaches its database (its folder does not exist).
    down = Database(f"sqlite+aiosqlite:///{tmp_path / 'nowhere' / 'x.db'}")
    first = SqlJournal(down, outbox_dir, retry_initial=0.02, retry_max=0.1)
    await first.start()
    run_call(first, clock, "c1")
    run_call(first, clock, "c2")
    await first.stop(timeout=1)
    await down.dispose()
    assert not first.db_ok
    assert outbox_lines(outbox_dir) == 2 * EVENTS_PER_CALL

    # c1 also reached SQL some other way: the replay must not double it.
    early = SqlJournal(db, tmp_path / "other-outbox")
    await early.start()
    run_call(early, FakeClock(), "c1")
    await early.stop()

    second = SqlJournal(db, outbox_dir)
    await second.start()
    assert second.stats["events_replayed"] == 2 * EVENTS_PER_CALL
    await second.flush()
    await second.stop()
    assert await count_calls(db) == 2
    assert await count_events(db) == 2 * EVENTS_PER_CALL
    assert second.stats["events_written"] == EVENTS_PER_CALL
    assert outbox_lines(outbox_dir) == 0


async def test_a_database_that_comes_back_gets_every_event_in_order(
    clock: FakeClock, outbox_dir: Path, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'later' / 'ccapp.db'}"
    db = Database(url)
    journal = SqlJournal(db, outbox_dir, retry_initial=0.02, retry_max=0.1)
    await journal.start()
    try:
        run_call(journal, clock, "c1")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await journal.flush()
        assert not journal.db_ok
        assert journal.stats["retries"] >= 2
        assert outbox_lines(outbox_dir) == EVENTS_PER_CALL  # durable while the database is away
        run_call(journal, clock, "c2")

        await upgrade(url)  # the database appears
        async with asyncio.timeout(5):
            await journal.flush()
        assert journal.db_ok
        assert await count_events(db) == 2 * EVENTS_PER_CALL
        call = await get_call(db, "c2")
        assert call is not None
        assert call["last_seq"] == EVENTS_PER_CALL
    finally:
        await journal.stop()
        await db.dispose()


async def test_stop_stores_what_is_queued(db: Database, clock: FakeClock, outbox_dir: Path) -> None:
    journal = SqlJournal(db, outbox_dir)
    run_call(journal, clock, "before-start")
    await journal.start()
    run_call(journal, clock, "c1")
    await journal.stop()
    assert await count_calls(db) == 2
    assert outbox_lines(outbox_dir) == 0


async def test_events_appended_after_stop_wait_in_the_outbox(
    db: Database, clock: FakeClock, outbox_dir: Path
) -> None:
    journal = SqlJournal(db, outbox_dir)
    await journal.start()
    await journal.stop()
    run_call(journal, clock, "late")
    assert outbox_lines(outbox_dir) == EVENTS_PER_CALL
    with pytest.raises(StorageError, match="not running"):
        await journal.flush()

    again = SqlJournal(db, outbox_dir)
    await again.start()
    await again.flush()
    await again.stop()
    assert await count_events(db) == EVENTS_PER_CALL


async def test_an_event_that_cannot_be_encoded_is_dead_lettered_not_raised(
    db: Database, clock: FakeClock, outbox_dir: Path
) -> None:
    journal = SqlJournal(db, outbox_dir)
    await journal.start()
    bad = CallEvent("c1", 1, "not a time", EventKind.PROMPT)  # type: ignore[arg-type]
    journal.append(bad)
    run_call(journal, clock, "c2")
    await journal.flush()
    await journal.stop()
    assert journal.stats["dead_letters"] == 1
    assert await count_events(db) == EVENTS_PER_CALL
    assert "cannot encode" in (outbox_dir / DEAD_LETTER).read_text()


async def test_events_the_database_refuses_are_isolated_and_the_rest_stored(
    db: Database, clock: FakeClock, outbox_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = write_batch

    async def picky(conn: Any, records: Any) -> int:
        if any(r.call_id == "poison" for r in records):
            raise IntegrityError("INSERT", {}, Exception("refused"))
        return await real(conn, records)

    monkeypatch.setattr("ccapp.storage.journal.write_batch", picky)
    journal = SqlJournal(db, outbox_dir)
    await journal.start()
    run_call(journal, clock, "c1")
    journal.append(CallEvent("poison", 1, datetime(2026, 1, 5, tzinfo=UTC), EventKind.PROMPT))
    run_call(journal, clock, "c2")
    await journal.flush()
    await journal.stop()
    assert journal.stats["dead_letters"] == 1
    assert journal.db_ok
    assert await count_events(db) == 2 * EVENTS_PER_CALL
    (dead,) = [json.loads(raw) for raw in (outbox_dir / DEAD_LETTER).read_text().splitlines()]
    assert dead["reason"] == "refused by the database: Exception: refused"
    assert json.loads(dead["line"])["call_id"] == "poison"


async def test_flush_of_a_journal_never_started_fails_fast(
    db: Database, clock: FakeClock, outbox_dir: Path
) -> None:
    journal = SqlJournal(db, outbox_dir)
    await journal.flush()  # nothing appended: nothing to wait for
    run_call(journal, clock, "c1")
    with pytest.raises(StorageError, match="not running"):
        await journal.flush()
    await journal.stop()
    assert [r.call_id for _, r in Outbox(outbox_dir).recover()] == ["c1"] * EVENTS_PER_CALL


async def test_stop_with_a_timeout_leaves_the_backlog_on_disk(
    clock: FakeClock, outbox_dir: Path, tmp_path: Path
) -> None:
    down = Database(f"sqlite+aiosqlite:///{tmp_path / 'nowhere' / 'x.db'}")
    journal = SqlJournal(down, outbox_dir, retry_initial=5, retry_max=5)
    await journal.start()
    run_call(journal, clock, "c1")
    await asyncio.sleep(0.05)
    await journal.stop(timeout=1)
    await down.dispose()
    assert journal.pending == EVENTS_PER_CALL
    assert outbox_lines(outbox_dir) == EVENTS_PER_CALL


async def until(predicate: Callable[[], bool]) -> None:
    """Wait (5 s at most) for a side effect of the journal's own tasks, such as files on disk."""
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_a_hung_database_does_not_delay_the_outbox(
    db: Database, clock: FakeClock, outbox_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    real = write_batch

    async def hung(conn: Any, records: Any) -> int:
        await release.wait()
        return await real(conn, records)

    monkeypatch.setattr("ccapp.storage.journal.write_batch", hung)
    journal = SqlJournal(db, outbox_dir)
    await journal.start()
    run_call(journal, clock, "c1")
    await until(lambda: outbox_lines(outbox_dir) == EVENTS_PER_CALL)
    run_call(journal, clock, "c2")  # arrives while the first batch is stuck in SQL
    await until(lambda: outbox_lines(outbox_dir) == 2 * EVENTS_PER_CALL)
    release.set()
    await journal.flush()
    await journal.stop()
    assert await count_events(db) == 2 * EVENTS_PER_CALL


async def test_a_database_without_tables_keeps_events_instead_of_dead_lettering_them(
    clock: FakeClock, outbox_dir: Path, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ccapp.db'}"
    db = Database(url)  # reachable, but never migrated
    journal = SqlJournal(db, outbox_dir, retry_initial=0.02, retry_max=0.1)
    await journal.start()
    try:
        run_call(journal, clock, "c1")
        await until(lambda: journal.stats["retries"] >= 2)
        assert journal.stats["dead_letters"] == 0
        await upgrade(url)
        async with asyncio.timeout(5):
            await journal.flush()
        assert await count_events(db) == EVENTS_PER_CALL
    finally:
        await journal.stop()
        await db.dispose()
