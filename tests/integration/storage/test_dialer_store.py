"""DialerStore on SQLite always, and on PostgreSQL when CCAPP_TEST_PG_URL is set: campaign status and
journal, due leads and their order, atomic claims, attempts, abandon window, do-not-call lists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ccapp.clock import FakeClock
from ccapp.dialer.leads import Lead
from ccapp.storage import Database, current_revision, upgrade
from ccapp.storage.dialer_leads import ImportCounts, StoredImport, lead_imports, store_import
from ccapp.storage.dialer_store import DialerStore
from ccapp.storage.migrate import alembic_config, run_on_url
from ccapp.storage.models import LeadRow

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on each backend (PostgreSQL skipped when CCAPP_TEST_PG_URL is unset)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def db(url: str) -> AsyncIterator[Database]:
    """The database at ``url``, migrated."""
    await upgrade(url)
    database = Database(url)
    yield database
    await database.dispose()


@pytest.fixture
def store(db: Database) -> DialerStore:
    return DialerStore(db, clock=FakeClock(T0))


def lead(line: int, phone: str, zone: str = "America/New_York", *, source: str = "column") -> Lead:
    return Lead(line=line, phone=phone, zone=zone, zone_source=source, zone_guessed=source == "number")  # type: ignore[arg-type]


async def add_leads(db: Database, campaign: str, leads: list[Lead], at: datetime = T0) -> StoredImport:
    counts = ImportCounts(rows=len(leads), rejected=0, file_duplicates=0)
    return await store_import(db, campaign, leads, counts, file_name="t.csv", started_at=at, now=lambda: at)


async def lead_ids(db: Database, campaign: str) -> dict[str, str]:
    """phone → lead_id"""
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            select(LeadRow.phone, LeadRow.lead_id).where(LeadRow.campaign_id == campaign)
        )
        return dict(rows.all())  # type: ignore[arg-type]


async def test_migration_0004_downgrades_to_0003_and_upgrades_again(url: str, db: Database) -> None:
    config = alembic_config()

    def down(connection: object) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")

    await run_on_url(url, down)  # type: ignore[arg-type]
    assert await current_revision(url) == "0003"
    await upgrade(url)
    assert await current_revision(url) == "0004"


async def test_a_new_campaign_is_stopped_and_config_refreshes_its_mode_and_queue(store: DialerStore) -> None:
    assert await store.campaign_status("sales") is None
    await store.ensure_campaign("sales", mode="predictive", queue="q1")
    assert await store.campaign_status("sales") == "stopped"
    await store.set_campaign_status("sales", "running", at=T0, actor="ops")
    await store.ensure_campaign("sales", mode="progressive", queue="q2")
    [row] = await store.campaigns()
    assert (row["mode"], row["queue"], row["status"], row["updated_by"]) == (
        "progressive",
        "q2",
        "running",
        "ops",
    )
    assert row["status_at"] == T0


async def test_each_status_change_is_journalled_with_actor_and_detail(store: DialerStore) -> None:
    await store.set_campaign_status("sales", "running", at=T0, actor="ann")
    await store.set_campaign_status(
        "sales", "paused", at=T0 + timedelta(minutes=5), actor="bob", detail={"why": "lunch"}
    )
    await store.set_campaign_status("sales", "stopped", at=T0 + timedelta(minutes=9), actor=None)
    events = await store.campaign_events("sales")
    assert [(e["action"], e["actor"], e["detail"]) for e in events] == [
        ("start", "ann", None),
        ("pause", "bob", {"why": "lunch"}),
        ("stop", None, None),
    ]
    assert events[1]["at"] == T0 + timedelta(minutes=5)
    assert [e["action"] for e in await store.campaign_events("sales", limit=2)] == ["pause", "stop"]


async def test_an_unknown_status_is_refused_and_changes_nothing(store: DialerStore) -> None:
    with pytest.raises(ValueError, match="unknown campaign status 'go'"):
        await store.set_campaign_status("sales", "go", at=T0, actor=None)
    assert await store.campaign_status("sales") is None
    assert await store.campaign_events("sales") == []


async def test_due_leads_are_callbacks_then_retries_by_due_time_then_new_leads_in_file_order(
    db: Database, store: DialerStore
) -> None:
    phones = [f"+1212555{n:04d}" for n in range(1, 10)]
    await add_leads(db, "c", [lead(i + 2, p) for i, p in enumerate(phones)], at=T0 - timedelta(hours=1))
    ids = await lead_ids(db, "c")
    now = T0
    # phones[0], [1]: new; [2], [7]: retries due; [3]: retry not yet due; [8]: scheduled with no time
    await store.release(ids[phones[2]], status="scheduled", next_attempt_at=T0 - timedelta(minutes=2))
    await store.release(ids[phones[7]], status="scheduled", next_attempt_at=T0 - timedelta(hours=2))
    await store.release(ids[phones[3]], status="scheduled", next_attempt_at=T0 + timedelta(minutes=1))
    await store.release(ids[phones[8]], status="scheduled", next_attempt_at=None)
    # [4]: a callback that is due; [5]: done; [6]: dialling
    await store.lead_done_attempt(
        ids[phones[4]],
        status="scheduled",
        attempts=1,
        last_attempt_at=T0 - timedelta(days=1),
        last_result="human",
        next_attempt_at=T0 - timedelta(minutes=1),
        callback_at=T0 - timedelta(minutes=1),
    )
    await store.lead_done_attempt(
        ids[phones[5]],
        status="done",
        attempts=1,
        last_attempt_at=T0,
        last_result="human",
        next_attempt_at=None,
    )
    assert await store.claim(ids[phones[6]], now)
    due = await store.due_leads("c", now, 10)
    assert [d.phone for d in due] == [phones[i] for i in (4, 8, 7, 2, 0, 1)]
    assert due[0].callback_at == T0 - timedelta(minutes=1)
    assert due[4].line == 2 and due[4].time_zone == "America/New_York" and due[4].status == "new"
    assert [d.phone for d in await store.due_leads("c", now, 3)] == [phones[4], phones[8], phones[7]]
    assert len(await store.due_leads("c", now + timedelta(minutes=1), 10)) == 7


async def test_two_claims_of_one_lead_at_once_give_it_to_exactly_one(
    db: Database, store: DialerStore
) -> None:
    await add_leads(db, "c", [lead(2, "+12125550001"), lead(3, "+12125550002")])
    ids = list((await lead_ids(db, "c")).values())
    other = DialerStore(db)
    for lead_id in ids:
        wins = await asyncio.gather(*(s.claim(lead_id, T0) for s in (store, other, store, other)))
        assert sorted(wins) == [False, False, False, True]
    assert await store.lead_counts("c") == {"dialling": 2}
    assert await store.claim(ids[0], T0) is False


async def test_a_claim_after_release_succeeds_and_a_done_lead_cannot_be_claimed(
    db: Database, store: DialerStore
) -> None:
    await add_leads(db, "c", [lead(2, "+12125550001")])
    [lead_id] = (await lead_ids(db, "c")).values()
    assert await store.claim(lead_id, T0)
    await store.release(
        lead_id, status="scheduled", next_attempt_at=T0 + timedelta(hours=12), reason="window"
    )
    record = await store.lead(lead_id)
    assert record is not None
    assert (record.status, record.next_attempt_at) == ("scheduled", T0 + timedelta(hours=12))
    assert await store.claim(lead_id, T0)
    await store.release(lead_id, status="dnc", next_attempt_at=None, reason="dnc:global")
    assert await store.claim(lead_id, T0) is False
    with pytest.raises(ValueError, match="unknown lead status"):
        await store.release(lead_id, status="later", next_attempt_at=None)


async def test_a_right_party_contact_stays_recorded_after_later_attempts(
    db: Database, store: DialerStore
) -> None:
    await add_leads(db, "c", [lead(2, "+12125550001")])
    [lead_id] = (await lead_ids(db, "c")).values()
    common = {"last_attempt_at": T0, "last_result": "human", "next_attempt_at": None}
    await store.lead_done_attempt(lead_id, status="scheduled", attempts=1, right_party=True, **common)  # type: ignore[arg-type]
    await store.lead_done_attempt(lead_id, status="done", attempts=2, right_party=False, **common)  # type: ignore[arg-type]
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(LeadRow).where(LeadRow.lead_id == lead_id))).mappings().one()
    assert (row["status"], row["attempts"], row["right_party_reached"], row["last_result"]) == (
        "done",
        2,
        True,
        "human",
    )


async def test_leads_left_dialling_by_a_crash_are_rescheduled_now(db: Database, store: DialerStore) -> None:
    await add_leads(db, "c", [lead(2, "+12125550001"), lead(3, "+12125550002"), lead(4, "+12125550003")])
    ids = list((await lead_ids(db, "c")).values())
    await store.claim(ids[0], T0)
    await store.claim(ids[1], T0)
    later = T0 + timedelta(minutes=3)
    assert await store.reset_stale_dialling("c", now=later) == 2
    assert await store.lead_counts("c") == {"scheduled": 2, "new": 1}
    assert {d.next_attempt_at for d in await store.due_leads("c", later, 5)} == {later, None}


async def test_attempts_are_written_updated_and_counted_per_number_for_the_daily_cap(
    store: DialerStore,
) -> None:
    for n, minutes in enumerate((0, 30, 90)):
        await store.attempt_started(
            attempt_id=f"a{n}",
            campaign_id="c" if n < 2 else "other",
            lead_id="L",
            phone="+12125550001",
            started_at=T0 + timedelta(minutes=minutes),
        )
    await store.attempt_updated("a0", result="human", amd="HUMAN", answered_at=T0, talk_s=12.5, call_id="x")
    row = await store.attempt("a0")
    assert row is not None
    assert (row["result"], row["amd"], row["answered_at"], row["talk_s"], row["call_id"]) == (
        "human",
        "HUMAN",
        T0,
        12.5,
        "x",
    )
    assert await store.attempt("missing") is None
    assert await store.dialled_since("+12125550001", T0 + timedelta(minutes=1)) == [
        T0 + timedelta(minutes=30),
        T0 + timedelta(minutes=90),
    ]
    assert await store.dialled_since("+12125559999", T0) == []
    with pytest.raises(ValueError, match="not a dial_attempts field: phone"):
        await store.attempt_updated("a0", phone="+1")


async def test_the_abandon_window_counts_live_answers_and_their_abandons(store: DialerStore) -> None:
    rows = [
        (-10, "human", True),  # before the window
        (1, "human", False),
        (2, "notsure", True),
        (3, "human", True),
        (4, "machine", False),
        (5, "no_answer", False),
    ]
    for n, (minutes, result, abandoned) in enumerate(rows):
        await store.attempt_started(
            attempt_id=f"a{n}",
            campaign_id="c",
            lead_id=f"L{n}",
            phone="+1",
            started_at=T0 + timedelta(minutes=minutes),
        )
        await store.attempt_updated(f"a{n}", result=result, abandoned=abandoned)
    assert await store.abandon_window("c", T0) == (3, 2)
    assert await store.abandon_window("none", T0) == (0, 0)


async def test_an_import_is_all_or_nothing_and_skips_numbers_the_campaign_has(db: Database) -> None:
    first = await add_leads(db, "c", [lead(2, "+12125550001"), lead(3, "+12125550002", source="default")])
    assert (first.imported, first.defaulted_zone, first.existing) == (2, 1, [])

    def boom(done: int, total: int) -> None:
        if done > 0:
            raise RuntimeError("disk on fire")

    counts = ImportCounts(rows=3000, rejected=0, file_duplicates=0)
    many = [lead(n + 2, f"+1212556{n:04d}") for n in range(3000)]
    with pytest.raises(RuntimeError):
        await store_import(
            db, "c", many, counts, file_name="b.csv", started_at=T0, now=lambda: T0, progress=boom
        )
    assert len(await lead_ids(db, "c")) == 2
    again = await add_leads(
        db, "c", [lead(7, "+12125550002"), lead(8, "+12125550003")], T0 + timedelta(hours=1)
    )
    assert again.imported == 1
    assert [(x.line, x.phone, line) for x, line in again.existing] == [(7, "+12125550002", 3)]
    imports = await lead_imports(db, "c")
    assert [(i["imported"], i["duplicates"], i["defaulted_zone"], i["status"]) for i in imports] == [
        (2, 0, 1, "done"),
        (1, 1, 0, "done"),
    ]


async def test_one_number_twice_in_a_campaign_is_refused_by_the_database(db: Database) -> None:
    await add_leads(db, "c", [lead(2, "+12125550001")])
    async with db.engine.connect() as conn:
        with pytest.raises(IntegrityError):
            await conn.execute(
                LeadRow.__table__.insert().values(lead_id="x", campaign_id="c", phone="+12125550001")
            )
        await conn.rollback()
        assert await conn.scalar(select(func.count()).select_from(LeadRow)) == 1


async def test_dnc_entries_are_added_once_listed_loaded_and_removed(store: DialerStore) -> None:
    added, bad = await store.dnc_add(
        "global",
        ["(212) 555-0001", "+1 900*", "", "# comment", "12", "+12125550001", "+1x*"],
        source="ops",
        default_region="US",
    )
    assert added == 2
    assert [(b.line, b.raw) for b in bad] == [(5, "12"), (7, "+1x*")]
    assert (await store.dnc_add("global", ["+12125550001"], source=None, default_region="US"))[0] == 0
    await store.dnc_add("campaign:c", ["+12125550002"], source=None, default_region="US")
    assert await store.dnc_entries() == [
        ("campaign:c", "+12125550002"),
        ("global", "+12125550001"),
        ("global", "+1900*"),
    ]
    lists = await store.dnc_lists()
    assert lists.blocked("+19005551234") == "global"
    assert lists.blocked("+12125550002") == "campaign:c"
    assert lists.blocked("+12125550003") is None
    assert await store.dnc_remove("global", ["212-555-0001", "+12125550009"], default_region="US") == 1
    assert await store.dnc_entries("global") == [("global", "+1900*")]
    with pytest.raises(ValueError, match="cannot read 'nope'"):
        await store.dnc_remove("global", ["+1900*", "nope"], default_region="US")
    assert await store.dnc_entries("global") == [("global", "+1900*")]
