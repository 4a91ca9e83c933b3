"""`DialerService` at dial time and after a line that was not answered: do-not-call lists, calling
windows and the daily cap are checked just before each dial; busy, no answer and congestion are
recorded with their causes and retried by the campaign's policy; progressive and predictive pacing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ccapp.acd.fakes import eventually
from ccapp.dialer.fakes import (
    ANSWERS,
    BUSY,
    CONGESTION,
    NO_ANSWER,
    RINGS,
    DialerBed,
    LineScript,
    ShiftedClock,
)
from ccapp.dialer.pacing import AbandonBudget, Floor, PacingHistory, lines_to_dial
from tests.unit.dialer.beds import bed, campaign, number

ROUNDS_S = 0.1
#: the next opening of the default windows (mon-fri 09:00-20:00) after Monday 10:00 in New York
TUESDAY_9_NY = datetime(2026, 1, 6, 14, 0, tzinfo=UTC)


async def status_of(b: DialerBed, lead_id: str, *statuses: str) -> None:
    """Wait until the lead is in one of ``statuses``."""
    for _ in range(300):
        if (await b.lead(lead_id)).status in statuses:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"lead {lead_id} is {(await b.lead(lead_id)).status}, not {statuses}")


async def dialled_and_settled(b: DialerBed, lead_id: str, *statuses: str) -> dict[str, Any]:
    """Start c1, wait for the lead's first attempt to end in one of ``statuses``; its attempt row."""
    await b.svc.command("c1", "start", actor="ann")
    await status_of(b, lead_id, *statuses)
    [row] = await b.attempts(lead_id)
    return row


# ------------------------------------------------------------------------------ do-not-call


@pytest.mark.parametrize(
    ("dnc_list", "entry"),
    [
        ("global", number(1)),
        ("global", "+1212555*"),
        ("campaign:c1", number(1)),
        ("campaign:c1", "+12125550*"),
    ],
)
async def test_a_number_added_to_a_dnc_list_after_import_is_never_dialled_again_and_the_lead_ends_dnc(
    db_url: str, clock: ShiftedClock, dnc_list: str, entry: str
) -> None:
    settings = campaign(retry_delays_s={"busy": 600})
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={number(1): BUSY}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [number(1)])
        await dialled_and_settled(b, lead, "scheduled")  # busy: due again in 10 minutes

        await b.store.dnc_add(dnc_list, [entry], source="test", default_region="US")
        clock.shift(600)
        await status_of(b, lead, "dnc")

        assert b.out.dialled() == [number(1)]
        assert (await b.lead(lead)).next_attempt_at is None
        await asyncio.sleep(ROUNDS_S)
        assert b.out.dialled() == [number(1)]


async def test_a_dnc_list_the_campaign_does_not_use_does_not_block(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock, lines={number(1): BUSY}) as b:
        await b.store.dnc_add("campaign:c2", [number(1)], source="test", default_region="US")
        await b.store.dnc_add("partners", [number(1)], source="test", default_region="US")
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [number(1)])
        await dialled_and_settled(b, lead, "scheduled")
        assert b.out.dialled() == [number(1)]


async def test_a_lead_on_a_dnc_list_at_import_is_never_dialled(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock, lines={number(2): BUSY}) as b:
        await b.store.dnc_add("global", [number(1)], source="test", default_region="US")
        await b.acd.login("a1")
        blocked, ok = await b.add_leads("c1", [number(1), number(2)])
        await dialled_and_settled(b, ok, "scheduled")
        await status_of(b, blocked, "dnc")
        assert (await b.lead(blocked)).attempts == 0
        assert b.out.dialled() == [number(2)]


# ------------------------------------------------------------------------------ calling windows


async def test_a_lead_outside_its_calling_window_is_not_dialled_and_is_scheduled_at_the_next_opening(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, lines={number(2): BUSY}) as b:
        await b.acd.login("a1")
        # Monday 15:00 UTC: 10:00 in New York (open), 00:00 Tuesday in Tokyo (closed until 09:00 JST)
        [tokyo] = await b.add_leads("c1", [number(1)], zone="Asia/Tokyo")
        [new_york] = await b.add_leads("c1", [number(2)])
        await dialled_and_settled(b, new_york, "scheduled")
        await status_of(b, tokyo, "scheduled")

        lead = await b.lead(tokyo)
        assert lead.next_attempt_at == datetime(2026, 1, 6, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
        assert lead.attempts == 0
        assert b.out.dialled() == [number(2)]

        clock.shift(9 * 3600)  # Tuesday 09:00 in Tokyo
        await eventually(lambda: number(1) in b.out.dialled(), what="dialled when its window opened")
        [dial] = [o for o in b.out.originations if number(1) in o.dial_string]
        assert dial.at >= datetime(2026, 1, 6, 0, 0, tzinfo=UTC)


async def test_a_lead_with_an_unknown_zone_is_held_to_the_campaign_default_zone(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(default_zone="Asia/Tokyo")  # 00:00 on Tuesday there
    async with bed(db_url, clock, campaigns={"c1": settings}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [number(1)], zone="Mars/Olympus")
        await b.svc.command("c1", "start", actor="ann")
        await status_of(b, lead, "scheduled")
        assert (await b.lead(lead)).next_attempt_at == datetime(2026, 1, 6, 0, 0, tzinfo=UTC)
        assert b.out.originations == []


async def test_agent_states_are_journaled_with_the_campaign_the_agent_works(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock) as b:
        await b.acd.login("a1")
        await b.add_leads("c1", [number(1)])
        await b.svc.command("c1", "start", actor="ann")
        await b.out.wait_dials(1)
        states = [e.data for e in b.acd.journal.events if e.data.get("agent_id") == "a1"]
        assert [(s["from"], s["to"], s["campaign"]) for s in states] == [
            ("logged_out", "ready", None),  # the campaign was not running yet
            ("ready", "reserved", "c1"),
        ]


# ------------------------------------------------------------------------------ daily cap


async def test_a_number_dialled_up_to_its_daily_cap_today_is_scheduled_for_the_next_local_day(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(daily_cap=2)
    async with bed(db_url, clock, campaigns={"c1": settings}) as b:
        # another campaign dialled the number twice this (New York) morning
        for n in range(2):
            await b.store.attempt_started(
                attempt_id=f"other-{n}",
                campaign_id="c2",
                lead_id="x",
                phone=number(1),
                started_at=clock.now() - timedelta(hours=1, minutes=n),
            )
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [number(1)])
        await b.svc.command("c1", "start", actor="ann")
        await status_of(b, lead, "scheduled")

        assert (await b.lead(lead)).next_attempt_at == TUESDAY_9_NY
        assert b.out.originations == []


async def test_quick_retries_stop_at_the_daily_cap_and_resume_the_next_local_day(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(daily_cap=2, retry_delays_s={"busy": 0.05})
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={number(1): BUSY}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [number(1)])
        await b.svc.command("c1", "start", actor="ann")
        await eventually(lambda: len(b.out.originations) == 2)
        await asyncio.sleep(ROUNDS_S)
        await status_of(b, lead, "scheduled")

        assert (await b.lead(lead)).next_attempt_at == TUESDAY_9_NY
        assert len(b.out.originations) == 2


# ------------------------------------------------------------------------------ retries


@pytest.mark.parametrize(
    ("script", "cause", "result", "delay_s"),
    [(BUSY, 17, "busy", 600), (NO_ANSWER, 19, "no_answer", 3600), (CONGESTION, 34, "congestion", 300)],
)
async def test_a_line_not_answered_is_recorded_with_its_cause_and_retried_after_the_policy_delay(
    db_url: str, clock: ShiftedClock, script: LineScript, cause: int, result: str, delay_s: float
) -> None:
    settings = campaign(retry_delays_s={"busy": 600, "no_answer": 3600, "congestion": 300})
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={number(1): script}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [number(1)])
        row = await dialled_and_settled(b, lead, "scheduled")

        assert (row["result"], row["hangup_cause"]) == (result, cause)
        stored = await b.lead(lead)
        assert (stored.attempts, stored.last_attempt_at) == (1, row["started_at"])
        assert stored.next_attempt_at is not None
        waited = (stored.next_attempt_at - row["ended_at"]).total_seconds()
        assert delay_s <= waited < delay_s + 1
        await eventually(lambda: b.acd.state("a1") == "ready", what="the held agent released")


async def test_a_retry_that_would_fall_after_the_window_closes_moves_to_the_next_opening(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(retry_delays_s={"no_answer": 11 * 3600})  # 21:00: closed
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={number(1): NO_ANSWER}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [number(1)])
        await dialled_and_settled(b, lead, "scheduled")
        assert (await b.lead(lead)).next_attempt_at == TUESDAY_9_NY


async def test_after_max_attempts_the_lead_is_exhausted(db_url: str, clock: ShiftedClock) -> None:
    settings = campaign(max_attempts=3)
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={number(1): BUSY}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [number(1)], status="scheduled", attempts=2)
        await dialled_and_settled(b, lead, "exhausted")
        stored = await b.lead(lead)
        assert (stored.attempts, stored.next_attempt_at, stored.status) == (3, None, "exhausted")


async def test_an_unallocated_number_is_closed_without_retry(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock, lines={number(1): LineScript(fail_cause=1)}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [number(1)])
        row = await dialled_and_settled(b, lead, "done")
        assert (row["result"], row["hangup_cause"]) == ("failed", 1)
        assert (await b.lead(lead)).next_attempt_at is None


# ------------------------------------------------------------------------------ pacing


async def test_progressive_reserves_an_agent_per_line_at_dial_time_and_never_dials_more_than_ready_agents(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, agents=("a1", "a2", "a3")) as b:
        await b.acd.login("a1", "a2")
        await b.add_leads("c1", [number(n) for n in range(1, 8)])
        await b.svc.command("c1", "start", actor="ann")
        lines = await b.out.wait_dials(2)
        await asyncio.sleep(ROUNDS_S)

        assert len(b.out.originations) == 2
        works = {b.acd.service.desk.work(a) for a in ("a1", "a2")}
        assert works == {(line.attempt_id, "out") for line in lines}
        assert (b.acd.state("a1"), b.acd.state("a2")) == ("reserved", "reserved")

        await b.acd.login("a3")  # one more ready agent: one more line
        await b.out.wait_dials(3)
        lines[0].fail(17)  # its agent is free again: one more line
        await b.out.wait_dials(4)
        await asyncio.sleep(ROUNDS_S)
        assert len(b.out.originations) == 4
        assert {b.acd.state(a) for a in ("a1", "a2", "a3")} == {"reserved"}


async def test_progressive_dials_nothing_while_no_agent_is_ready(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock) as b:
        await b.acd.service.login("a1", ready=False, reason="break")
        await b.add_leads("c1", [number(1)])
        await b.svc.command("c1", "start", actor="ann")
        await asyncio.sleep(ROUNDS_S)
        assert b.out.originations == []


async def test_predictive_dials_what_lines_to_dial_says_and_holds_no_agent_before_an_answer(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(mode="predictive")
    # one round only (the start's): later rounds would see the lines age
    async with bed(db_url, clock, campaigns={"c1": settings}, agents=("a1", "a2", "a3"), tick_s=30) as b:
        await b.acd.login("a1", "a2", "a3")
        await b.add_leads("c1", [number(n) for n in range(1, 20)])
        stats = PacingHistory().stats(clock.monotonic())
        expected = lines_to_dial(
            "predictive", stats, Floor(ready=3), AbandonBudget(settings.abandon_target, 0, 0)
        )

        await b.svc.command("c1", "start", actor="ann")
        await b.out.wait_dials(expected)
        await asyncio.sleep(ROUNDS_S)
        assert len(b.out.originations) == expected
        assert {b.acd.state(a) for a in ("a1", "a2", "a3")} == {"ready"}


async def test_predictive_never_has_more_lines_in_flight_than_max_lines_per_agent_allows(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(mode="predictive", max_lines_per_agent=1.0)
    async with bed(db_url, clock, campaigns={"c1": settings}, agents=("a1", "a2", "a3")) as b:
        await b.acd.login("a1", "a2", "a3")
        await b.add_leads("c1", [number(n) for n in range(1, 20)])
        stats = PacingHistory().stats(clock.monotonic())
        assert lines_to_dial("predictive", stats, Floor(ready=3), AbandonBudget(0.03, 0, 0)) > 3

        await b.svc.command("c1", "start", actor="ann")
        await b.out.wait_dials(3)
        await asyncio.sleep(2 * ROUNDS_S)
        assert len(b.out.originations) == 3


async def test_predictive_does_not_count_an_agent_held_for_a_line_in_amd_as_free(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(mode="predictive")
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={number(1): ANSWERS}) as b:
        b.out.default = RINGS
        await b.acd.login("a1")
        await b.add_leads("c1", [number(n) for n in range(1, 6)])
        await b.svc.command("c1", "start", actor="ann")
        [line] = await b.out.wait_dials(1)
        await eventually(lambda: line.detected, what="the answered line in AMD")
        assert b.acd.state("a1") == "ringing"  # held for it (rung at the answer)

        run = b.svc.runs["c1"]
        floor = run.floor(b.acd.service.desk.in_queue("out"), clock.now(), clock.monotonic(), 0.2)
        free_for_new_lines = floor.ready + floor.reserved - len(floor.in_flight_s) - floor.live_waiting
        assert free_for_new_lines <= 0
        await asyncio.sleep(ROUNDS_S)
        assert b.out.dialled() == [number(1)]  # the only agent is taken: no line is safe
