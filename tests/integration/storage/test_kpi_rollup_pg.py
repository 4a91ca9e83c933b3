"""KPI upkeep on PostgreSQL: the same contacts, links and roll-up as on SQLite, and reports from the
roll-up equal raw reports. The scenarios are the unit tests' (tests/unit/storage), run on ``pg_db``."""

from __future__ import annotations

import asyncio
import random

import pytest

from ccapp.kpi.rollup import slot_of
from ccapp.storage import Database
from ccapp.storage.kpi_rollup import rebuild_rollups
from ccapp.storage.projection import write_batch
from tests.unit.storage import test_kpi_projection as contacts
from tests.unit.storage import test_kpi_rollup as rollup
from tests.unit.storage import test_kpi_rollup_engine as engine
from tests.unit.storage.kpi_calls import (
    T0,
    assert_same_slots,
    at,
    closed_call,
    contact_rows,
    expected_links,
    expected_slots,
    random_calls,
    slot_rows,
)

pytestmark = pytest.mark.postgres
T = rollup.T


async def test_a_contact_on_postgresql(pg_db: Database) -> None:
    await contacts.test_a_handled_call_becomes_one_contact_with_its_disposition(pg_db)


async def test_links_on_postgresql(pg_db: Database) -> None:
    await contacts.test_a_contact_arriving_between_two_others_relinks_both(pg_db)


async def test_a_topic_change_relinks_on_postgresql(pg_db: Database) -> None:
    await contacts.test_a_topic_change_relinks_the_old_and_the_new_neighbours(pg_db)


async def test_links_in_any_order_on_postgresql(pg_db: Database) -> None:
    await contacts.test_links_are_right_whatever_order_and_batches_calls_arrive_in(pg_db, 4)


async def test_neighbour_slot_correction_and_replays_on_postgresql(pg_db: Database) -> None:
    await rebuild_rollups(pg_db, T)
    await rollup.test_a_later_contact_corrects_its_neighbours_slot_on_another_day(pg_db)
    await rollup.test_a_replayed_batch_changes_no_slot(pg_db)


async def test_exact_measures_on_postgresql(pg_db: Database) -> None:
    await rebuild_rollups(pg_db, T)
    await rollup.test_queue_measures_follow_the_definitions_at_their_thresholds(pg_db)


async def test_upkeep_equals_a_rebuild_on_postgresql(pg_db: Database) -> None:
    await rebuild_rollups(pg_db, T)
    await rollup.test_upkeep_equals_a_rebuild_whatever_order_and_batches(pg_db, 14)


async def test_rollup_reports_equal_raw_reports_on_postgresql(pg_db: Database) -> None:
    await engine.test_rollup_reports_equal_raw_reports_after_batches_in_any_order(pg_db, 23)


async def test_concurrent_batches_of_one_callers_contacts_stay_linked(pg_db: Database) -> None:
    """Batches in parallel transactions: the meta row lock serialises upkeep, so links and slots
    come out right (the losers of a row conflict wait, they do not miss each other's contacts)."""
    await rebuild_rollups(pg_db, T)
    calls = [closed_call(f"c{i}", i * 3600.0, "+1", topic="billing", resolved=True) for i in range(8)]

    async def one(records: list) -> None:  # type: ignore[type-arg]
        async with pg_db.engine.begin() as conn:
            await write_batch(conn, records, rollups=T)

    await asyncio.gather(*(one(c) for c in calls))

    rows = await contact_rows(pg_db)
    assert expected_links(rows) == {k: (v["prev_at"], v["next_at"]) for k, v in rows.items()}
    assert_same_slots(await slot_rows(pg_db), await expected_slots(pg_db, T))
    assert (await slot_rows(pg_db))[("sales", slot_of(at(7 * 3600)))]["contacts_resolved"] == 1
    assert (await slot_rows(pg_db))[("sales", T0)]["contacts_resolved"] == 0


async def test_a_rebuild_equals_upkeep_on_postgresql(pg_db: Database) -> None:
    await rebuild_rollups(pg_db, T)
    records = random_calls(80, random.Random(9), days=5, callers=10)
    async with pg_db.engine.begin() as conn:
        await write_batch(conn, records, rollups=T)
    kept = await slot_rows(pg_db)

    await rebuild_rollups(pg_db, T)

    assert_same_slots(await slot_rows(pg_db), kept)
