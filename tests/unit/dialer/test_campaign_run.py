"""A campaign's life at run time: its status changes only by the allowed transitions, each one
journaled; a pause stops new dials at once while lines in flight go on; the campaign finishes when no
lead is left to dial; a restart reschedules leads a stop left dialling."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from ccapp.acd.errors import NotPermitted
from ccapp.acd.fakes import eventually
from ccapp.dialer.fakes import BUSY, RINGS, DialerBed, ShiftedClock
from tests.unit.dialer.beds import bed, campaign, number

#: long enough for several campaign rounds (the bed's loops run every 0.02 s)
ROUNDS_S = 0.1


#: rounds only when woken (a command, an agent freed, a line ended), not by the clock, so a sequence
#: of commands never overlaps a round (that overlap has a test of its own, at the end)
WOKEN_ONLY = 30.0


async def settled() -> None:
    """Let the round a command woke finish before the next command."""
    await asyncio.sleep(0.05)


async def actions(b: DialerBed, campaign_id: str = "c1") -> list[tuple[str, str | None, object]]:
    events = await b.store.campaign_events(campaign_id)
    return [(e["action"], e["actor"], e["detail"]) for e in events]


async def lead_due_later(b: DialerBed) -> None:
    """A lead due in an hour: the campaign has work left, so it does not finish by itself."""
    await b.add_leads(
        "c1", [number(99)], status="scheduled", next_attempt_at=b.clock.now() + timedelta(hours=1)
    )


async def test_start_pause_restart_and_stop_change_the_status_and_each_change_is_journaled(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, tick_s=WOKEN_ONLY) as b:
        await lead_due_later(b)
        assert b.svc.runs["c1"].status == "stopped"
        for action, actor, status in [
            ("start", "ann", "running"),
            ("pause", "bob", "paused"),
            ("start", "ann", "running"),
            ("stop", "cid", "stopped"),
        ]:
            assert await b.svc.command("c1", action, actor=actor) == status
            await settled()

        assert b.svc.runs["c1"].status == "stopped"
        assert await b.store.campaign_status("c1") == "stopped"
        assert await actions(b) == [
            ("start", "ann", {"from": "stopped"}),
            ("pause", "bob", {"from": "running"}),
            ("start", "ann", {"from": "paused"}),
            ("stop", "cid", {"from": "running"}),
        ]


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ((), "pause"),  # stopped → paused
        ((), "stop"),  # stopped → stopped
        ((), "finish"),
        (("start",), "start"),  # running → running
        (("start", "pause"), "pause"),
        (("start", "pause"), "finish"),
        ((), "explode"),
    ],
)
async def test_an_illegal_transition_raises_not_permitted_and_changes_and_journals_nothing(
    db_url: str, clock: ShiftedClock, setup: tuple[str, ...], action: str
) -> None:
    async with bed(db_url, clock, tick_s=WOKEN_ONLY) as b:
        await lead_due_later(b)
        for step in setup:
            await b.svc.command("c1", step, actor="ann")
            await settled()
        before = (b.svc.runs["c1"].status, await actions(b))

        with pytest.raises(NotPermitted):
            await b.svc.command("c1", action, actor="mallory")

        assert (b.svc.runs["c1"].status, await actions(b)) == before
        assert await b.store.campaign_status("c1") == before[0]


async def test_a_command_for_a_campaign_not_in_the_configuration_is_not_permitted(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock) as b:
        with pytest.raises(NotPermitted):
            await b.svc.command("nope", "start", actor="ann")


async def test_a_paused_campaign_dials_nothing_more_at_once_and_lines_in_flight_go_on(
    db_url: str, clock: ShiftedClock
) -> None:
    first, second = number(1), number(2)
    lines = {first: RINGS, second: RINGS}
    async with bed(db_url, clock, agents=("a1", "a2"), lines=lines, tick_s=WOKEN_ONLY) as b:
        await b.acd.login("a1", "a2")
        await b.add_leads("c1", [first, second] + [number(n) for n in range(3, 9)])
        await b.svc.command("c1", "start", actor="ann")
        await b.out.wait_dials(2)
        await settled()
        await b.svc.command("c1", "pause", actor="ann")

        # a busy line frees its agent, who is ready: a running campaign would dial the next lead
        b.out.line_to(second).fail(17)
        await eventually(lambda: b.acd.state("a2") == "ready")
        await asyncio.sleep(ROUNDS_S)
        assert b.out.dialled() == [first, second]

        # the line still ringing at the pause goes on: answered, it reaches its held agent
        line = b.out.line_to(first)
        assert not line.gone
        line.answer()
        await eventually(lambda: line.detected, what="line sent to AMD")
        b.hand_back(line, "HUMAN")
        await eventually(lambda: b.acd.state("a1") == "on_call")
        assert b.out.dialled() == [first, second]

        await b.svc.command("c1", "start", actor="ann")
        await b.out.wait_dials(3)  # a2 is ready: one more line


async def test_a_pause_written_by_another_process_takes_effect_at_the_next_round(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, agents=("a1", "a2")) as b:
        await b.add_leads("c1", [number(n) for n in range(1, 5)])
        await b.svc.command("c1", "start", actor="ann")
        await b.store.set_campaign_status("c1", "paused", at=clock.now(), actor="cli", detail=None)
        await eventually(lambda: b.svc.runs["c1"].status == "paused")
        await b.acd.login("a1", "a2")
        await asyncio.sleep(ROUNDS_S)
        assert b.out.originations == []


async def test_the_campaign_finishes_when_no_lead_is_new_scheduled_or_dialling(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(max_attempts=1)
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={number(1): BUSY}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [number(1)])
        await b.svc.command("c1", "start", actor="ann")
        await eventually(lambda: b.svc.runs["c1"].status == "finished", what="campaign finished")
        for _ in range(100):  # the status is changed in memory first, then written
            if await b.store.campaign_status("c1") == "finished":
                break
            await asyncio.sleep(0.01)

        assert (await b.lead(lead)).status == "exhausted"
        assert await b.store.campaign_status("c1") == "finished"
        assert (await actions(b))[-1] == ("finished", "dialer", {"from": "running"})


async def test_a_campaign_with_a_lead_due_later_keeps_running(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock) as b:
        await b.acd.login("a1")
        await lead_due_later(b)
        await b.svc.command("c1", "start", actor="ann")
        await asyncio.sleep(ROUNDS_S)
        assert b.svc.runs["c1"].status == "running"
        assert b.out.originations == []


async def test_after_a_restart_leads_left_dialling_are_rescheduled_and_dialled_again(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock) as b:
        stale = await b.add_leads("c1", [number(1), number(2)], status="dialling", attempts=1)
        [fresh] = await b.add_leads("c1", [number(3)])
        await b.svc.command("c1", "start", actor="ann")
    # ccapp stops (a crash left the leads dialling); the campaign was running, and still is
    restarted = clock.now()
    async with bed(db_url, clock, lines={n: BUSY for n in (number(1), number(2))}) as b:
        assert b.svc.runs["c1"].status == "running"
        for lead_id in stale:
            lead = await b.lead(lead_id)
            assert lead.status == "scheduled" and lead.attempts == 1
            assert lead.next_attempt_at is not None
            assert restarted <= lead.next_attempt_at < restarted + timedelta(seconds=1)
        assert (await b.lead(fresh)).status == "new"

        await b.acd.login("a1")
        await eventually(lambda: len(b.out.originations) == 3, what="every lead dialled")
        assert sorted(b.out.dialled()) == [number(1), number(2), number(3)]


async def test_a_pause_is_not_undone_by_a_round_that_read_the_status_just_before_it(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock) as b:
        await b.acd.login("a1")
        await lead_due_later(b)
        await b.svc.command("c1", "start", actor="ann")
        await settled()
        read = asyncio.Event()
        stored_status = b.store.campaign_status

        async def slow_read(campaign_id: str) -> str | None:
            status = await stored_status(campaign_id)
            read.set()
            await asyncio.sleep(0.2)  # the pause lands while this round holds "running"
            return status

        b.store.campaign_status = slow_read  # type: ignore[method-assign]
        await read.wait()
        await b.svc.command("c1", "pause", actor="ann")
        await b.add_leads("c1", [number(1)])  # due now: a running round would dial it

        await asyncio.sleep(0.3)
        assert b.svc.runs["c1"].status == "paused"
        assert b.out.originations == []


@pytest.mark.parametrize(("window", "counted"), [("30d", (2, 1)), ("24h", (1, 0))])
async def test_the_abandon_window_is_read_back_from_the_attempts_after_a_restart(
    db_url: str, clock: ShiftedClock, window: str, counted: tuple[int, int]
) -> None:
    async with bed(db_url, clock, campaigns={"c1": campaign(abandon_window=window)}) as b:
        await lead_due_later(b)
        # before this process: an abandoned live answer 2 days ago, a served one an hour ago
        for attempt_id, ago, abandoned in [
            ("old", timedelta(days=2), True),
            ("new", timedelta(hours=1), False),
        ]:
            await b.store.attempt_started(
                attempt_id=attempt_id,
                campaign_id="c1",
                lead_id="x",
                phone=number(1),
                started_at=clock.now() - ago,
            )
            await b.store.attempt_updated(attempt_id, result="human", abandoned=abandoned)
        await b.svc.command("c1", "start", actor="ann")
        run = b.svc.runs["c1"]
        await eventually(lambda: run.window_read_mono > 0, what="the window read")

        assert (run.window_live, run.window_abandoned) == counted
        view = await b.svc.view("c1")
        assert view["abandon"] == {
            "target": 0.03,
            "window": window,
            "live_answers": counted[0],
            "abandoned": counted[1],
        }
