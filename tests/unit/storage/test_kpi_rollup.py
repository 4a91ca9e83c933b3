"""The ``kpi_queue_slots`` roll-up kept by upkeep: exact measures, any order, replays, neighbours,
thresholds (meta) and rebuilds."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccapp.calls.model import CallEvent, EventKind
from ccapp.cli import main
from ccapp.kpi.definitions import Thresholds
from ccapp.kpi.rollup import slot_of
from ccapp.storage import Database, SqlJournal, upgrade
from ccapp.storage.kpi_rollup import ensure_rollups, rebuild_rollups
from ccapp.storage.outbox import Record
from ccapp.storage.projection import write_batch
from tests.unit.storage.kpi_calls import (
    T0,
    assert_same_slots,
    at,
    closed_call,
    expected_slots,
    meta_row,
    random_calls,
    slot_rows,
)

T = Thresholds(sl_threshold_s=20.0, short_abandon_s=5.0, repeat_window_s=7 * 86400.0)
DAY = 86400.0


async def store(db: Database, batch: list[Record], rollups: Thresholds | None = T) -> int:
    async with db.engine.begin() as conn:
        return await write_batch(conn, batch, rollups=rollups)


@pytest.fixture
async def rolled(db: Database) -> Database:
    """An empty database whose roll-up was built with `T`."""
    await rebuild_rollups(db, T)
    return db


def test_slots_are_15_minute_utc_slots() -> None:
    assert slot_of(datetime(2026, 3, 2, 9, 44, 59, 999, tzinfo=UTC)) == datetime(
        2026, 3, 2, 9, 30, tzinfo=UTC
    )
    assert slot_of(datetime(2026, 3, 2, 9, 45)) == datetime(2026, 3, 2, 9, 45, tzinfo=UTC)


async def test_queue_measures_follow_the_definitions_at_their_thresholds(rolled: Database) -> None:
    calls = [
        closed_call("c1", 0, "+1", wait_s=20.0, talk_s=100.0, hold_s=10.0, wrap_s=30.0),  # within T
        closed_call("c2", 60, "+2", wait_s=21.0, talk_s=50.0, hold_s=0.0, wrap_s=None),  # not within T
        closed_call("c3", 120, "+3", outcome="abandoned", wait_s=4.9),  # short abandon
        closed_call("c4", 180, "+4", outcome="abandoned", wait_s=5.0),  # abandoned, within T
        closed_call("c5", 240, "+5", outcome="abandoned", wait_s=30.0, callback=True),
    ]
    await store(rolled, [r for call in calls for r in call])

    slots = await slot_rows(rolled)
    assert slots == {
        ("sales", T0): {
            "entries": 5,
            "short_abandons": 1,
            "answered": 2,
            "answered_within_t": 1,
            "all_abandoned": 3,
            "abandoned_within_t": 2,
            "answered_timed": 2,
            "answered_wait_s": 41.0,
            "handled": 2,
            "handle_s": 190.0,
            "callbacks": 1,
            "contacts_handled": 2,
            "contacts_resolved": 0,
            "first_contacts": 2,
            "first_contacts_resolved": 0,
        }
    }


async def test_contact_measures_count_repeats_within_the_window(rolled: Database) -> None:
    await store(rolled, closed_call("c1", 0, "+1", topic="billing", resolved=True))
    await store(rolled, closed_call("c2", 8 * DAY, "+1", topic="billing", resolved=True))  # outside W
    await store(rolled, closed_call("c3", 9 * DAY, "+1", topic="billing", resolved=True))  # repeats c2

    slots = await slot_rows(rolled)
    picked = ("contacts_handled", "contacts_resolved", "first_contacts", "first_contacts_resolved")
    by_day = {key[1]: tuple(slots[key][m] for m in picked) for key in slots}
    assert by_day == {
        T0: (1, 1, 1, 1),
        slot_of(at(8 * DAY)): (1, 0, 1, 0),
        slot_of(at(9 * DAY)): (1, 1, 0, 0),
    }


async def test_a_later_contact_corrects_its_neighbours_slot_on_another_day(rolled: Database) -> None:
    await store(rolled, closed_call("c1", 0, "+1", topic="billing", resolved=True))
    assert (await slot_rows(rolled))[("sales", T0)]["contacts_resolved"] == 1

    await store(rolled, closed_call("c2", 3 * DAY, "+1", topic="billing", resolved=True, queue="support"))

    slots = await slot_rows(rolled)
    assert slots[("sales", T0)]["contacts_resolved"] == 0
    assert slots[("support", slot_of(at(3 * DAY)))]["first_contacts"] == 0
    assert_same_slots(slots, await expected_slots(rolled, T))


async def test_a_replayed_batch_changes_no_slot(rolled: Database) -> None:
    records = random_calls(40, random.Random(7), days=2, callers=8)
    await store(rolled, records)
    before = await slot_rows(rolled)

    assert await store(rolled, records) == 0
    assert await slot_rows(rolled) == before


@pytest.mark.parametrize("seed", [11, 12, 13])
async def test_upkeep_equals_a_rebuild_whatever_order_and_batches(rolled: Database, seed: int) -> None:
    rng = random.Random(seed)
    records = random_calls(150, rng, days=20, callers=20)
    rng.shuffle(records)
    for start in range(0, len(records), 113):
        await store(rolled, records[start : start + 113])
    await store(rolled, records[: len(records) // 2])

    assert_same_slots(await slot_rows(rolled), await expected_slots(rolled, T))
    await rebuild_rollups(rolled, T)
    assert_same_slots(await slot_rows(rolled), await expected_slots(rolled, T))


async def test_slots_left_empty_by_a_moved_contact_are_deleted(rolled: Database) -> None:
    await store(rolled, closed_call("c1", 0, "+1", outcome="abandoned")[1:])  # no call.started yet
    await store(rolled, closed_call("c1", 0, "+1", outcome="abandoned")[:1])

    assert_same_slots(await slot_rows(rolled), await expected_slots(rolled, T))


async def test_a_batch_without_upkeep_leaves_the_slots_and_invalidates_the_rollup(db: Database) -> None:
    await rebuild_rollups(db, T)
    await store(db, closed_call("c1", 0, "+1"), rollups=None)

    assert await slot_rows(db) == {}
    assert await meta_row(db) is None


async def test_upkeep_with_other_thresholds_than_the_rollup_drops_its_meta(rolled: Database) -> None:
    await store(rolled, closed_call("c1", 0, "+1"))
    before = await slot_rows(rolled)

    await store(rolled, closed_call("c2", 60, "+2"), rollups=Thresholds(sl_threshold_s=30.0))

    assert await meta_row(rolled) is None
    assert await slot_rows(rolled) == before
    await store(rolled, closed_call("c3", 120, "+3"))  # no meta: no upkeep either
    assert await slot_rows(rolled) == before


async def test_a_rebuild_records_its_thresholds_and_counts_everything(db: Database) -> None:
    await store(db, random_calls(30, random.Random(3), days=1), rollups=None)
    other = Thresholds(sl_threshold_s=10.0, short_abandon_s=2.0, repeat_window_s=DAY)

    count = await rebuild_rollups(db, other, now=T0)

    assert await meta_row(db) == {
        "id": 1,
        "sl_threshold_s": 10.0,
        "short_abandon_s": 2.0,
        "repeat_window_s": DAY,
        "built_at": T0,
    }
    slots = await slot_rows(db)
    assert count == len(slots) > 0
    assert_same_slots(slots, await expected_slots(db, other))


async def test_ensure_rebuilds_only_when_the_thresholds_differ(db: Database) -> None:
    assert await ensure_rollups(db, T) is True
    assert await ensure_rollups(db, T) is False
    assert await ensure_rollups(db, Thresholds(repeat_window_s=DAY)) is True


async def test_the_journal_rebuilds_a_stale_rollup_then_keeps_it(db: Database, tmp_path: Path) -> None:
    await store(db, closed_call("c0", 0, "+1"), rollups=None)  # stored before the roll-up existed
    journal = SqlJournal(db, tmp_path / "outbox", rollups=T)
    await journal.start()
    for rec in closed_call("c1", 600, "+1", topic="tech") + closed_call("c2", 1200, "+2"):
        journal.append(CallEvent(rec.call_id, rec.seq, rec.at, EventKind(rec.kind), rec.data))
    await journal.stop()

    meta = await meta_row(db)
    assert meta is not None and meta["sl_threshold_s"] == T.sl_threshold_s
    slots = await slot_rows(db)
    assert sum(m["entries"] for m in slots.values()) == 3
    assert_same_slots(slots, await expected_slots(db, T))


def test_ccapp_rollups_rebuild_rebuilds_with_the_default_thresholds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    asyncio.run(upgrade(url))

    code = main(["rollups", "rebuild", "--db", url, "--config", str(tmp_path / "none.yaml")])

    assert code == 0
    assert capsys.readouterr().out == "KPI roll-ups rebuilt: 0 slot rows (T 20 s, S 5 s, W 604800 s)\n"
