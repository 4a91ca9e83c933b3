"""Preview mode: each ready agent is held for one lead they see first; accept rings the agent and then
dials the lead (no AMD); skip, or no answer in time, puts the lead back 10 minutes later and offers the
agent the next one."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from ccapp.acd.errors import NotPermitted
from ccapp.acd.fakes import NEVER, eventually
from ccapp.dialer.fakes import ANSWERS, DialerBed, ShiftedClock
from tests.unit.dialer.beds import bed, campaign, number

PREVIEW = campaign(mode="preview", preview_timeout_s=30.0)
FIRST, SECOND = number(1), number(2)


def offer(b: DialerBed, agent_id: str = "a1") -> dict[str, Any]:
    view = b.svc.preview_of(agent_id)
    assert view is not None, f"no offer for {agent_id}"
    return view


async def offered(b: DialerBed, agent_id: str = "a1", lead_id: str | None = None) -> dict[str, Any]:
    """Wait until ``agent_id`` is offered a lead (``lead_id`` when given)."""

    def ready() -> bool:
        view = b.svc.preview_of(agent_id)
        return view is not None and (lead_id is None or view["lead_id"] == lead_id)

    await eventually(ready, what=f"an offer to {agent_id}")
    return offer(b, agent_id)


async def closed(b: DialerBed, lead_id: str) -> list[dict[str, Any]]:
    """Wait until the lead's attempt is recorded (the lead left 'dialling'); its attempt rows."""
    for _ in range(300):
        if (await b.lead(lead_id)).status != "dialling":
            return await b.attempts(lead_id)
        await asyncio.sleep(0.01)
    raise AssertionError(f"lead {lead_id} still dialling")


async def test_each_ready_agent_is_held_for_one_lead_and_nothing_is_dialled_yet(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, campaigns={"c1": PREVIEW}, agents=("a1", "a2")) as b:
        await b.acd.login("a1", "a2")
        first, second, _ = await b.add_leads("c1", [FIRST, SECOND, number(3)])
        await b.svc.command("c1", "start", actor="ann")

        view = await offered(b, "a1")
        assert (view["lead_id"], view["phone"], view["accepted"]) == (first, FIRST, False)
        assert (await offered(b, "a2"))["lead_id"] == second
        assert (b.acd.state("a1"), b.acd.state("a2")) == ("reserved", "reserved")
        assert (await b.lead(first)).status == "dialling"
        await asyncio.sleep(0.1)
        assert b.out.originations == [] and b.acd.tel.dials == []


async def test_accept_rings_the_agent_first_then_dials_the_lead_without_amd(
    db_url: str, clock: ShiftedClock
) -> None:
    phones = {"PJSIP/a1": NEVER}  # the agent picks up when the test says
    async with bed(
        db_url, clock, campaigns={"c1": PREVIEW}, lines={FIRST: ANSWERS}, agent_phones=phones
    ) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [FIRST])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b)

        view = await b.svc.preview_accept("a1")
        assert view["accepted"] is True
        await eventually(lambda: b.acd.tel.dials, what="the agent's phone rung")
        assert b.acd.state("a1") == "ringing"
        await asyncio.sleep(0.05)
        assert b.out.originations == []

        b.acd.tel.legs_to("PJSIP/a1")[0].answer()
        [line] = await b.out.wait_dials(1)
        assert line.origination.variables["CCAPP_AMD"] == "0"
        assert b.svc.preview_of("a1") is None
        await eventually(lambda: line.detected, what="the answered line handed to the dialplan")

        call, caller = b.hand_back(line, "HUMAN", "AMD off")  # what the dialplan says with AMD off
        await eventually(lambda: b.acd.state("a1") == "on_call")
        assert b.acd.tel.bridged_with(caller.channel_id) == {b.acd.tel.dials[0].leg_id}
        caller.hang_up()
        await b.acd.service.disposition("a1", call.call_id, outcome="sale", right_party=True)
        [row] = await closed(b, lead)
        assert (row["agent_id"], row["abandoned"], row["result"]) == ("a1", False, "human")


async def test_a_preview_line_records_no_amd_verdict(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock, campaigns={"c1": PREVIEW}, lines={FIRST: ANSWERS}) as b:
        assert PREVIEW.amd is True  # the default: AMD on for the campaign's other modes
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [FIRST])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b)
        await b.svc.preview_accept("a1")
        [line] = await b.out.wait_dials(1)
        await eventually(lambda: line.detected, what="the answered line handed to the dialplan")
        call, caller = b.hand_back(line, "HUMAN", "AMD off")
        await eventually(lambda: b.acd.state("a1") == "on_call")
        caller.hang_up()
        await b.acd.service.disposition("a1", call.call_id, outcome="sale", right_party=True)
        [row] = await closed(b, lead)
        assert row["amd"] is None


async def test_skip_puts_the_lead_back_ten_minutes_later_and_offers_the_next(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, campaigns={"c1": PREVIEW}) as b:
        await b.acd.login("a1")
        first, second = await b.add_leads("c1", [FIRST, SECOND])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b, lead_id=first)

        skipped_at = clock.now()
        await b.svc.preview_skip("a1")
        await offered(b, lead_id=second)

        lead = await b.lead_row(first)
        assert (lead["status"], lead["last_result"], lead["attempts"]) == ("scheduled", "skipped", 0)
        assert 600 <= (lead["next_attempt_at"] - skipped_at).total_seconds() < 601
        assert b.out.originations == []


async def test_an_offer_not_taken_in_time_goes_back_and_the_agent_gets_the_next_lead(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(mode="preview", preview_timeout_s=0.1)
    async with bed(db_url, clock, campaigns={"c1": settings}) as b:
        await b.acd.login("a1")
        first, second = await b.add_leads("c1", [FIRST, SECOND])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b, lead_id=first)
        await offered(b, lead_id=second)

        lead = await b.lead_row(first)
        assert (lead["status"], lead["last_result"]) == ("scheduled", "skipped")


async def test_an_agent_who_does_not_answer_after_accepting_goes_not_ready_and_the_lead_is_due_again(
    db_url: str, clock: ShiftedClock
) -> None:
    phones = {"PJSIP/a1": NEVER}
    async with bed(db_url, clock, campaigns={"c1": PREVIEW}, agent_phones=phones) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [FIRST])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b)
        await b.svc.preview_accept("a1")
        await eventually(lambda: b.acd.tel.dials, what="the agent's phone rung")

        b.acd.tel.legs_to("PJSIP/a1")[0].fail(19)
        await eventually(lambda: b.acd.state("a1") == "not_ready")
        assert b.acd.agent_changes("a1")[-1] == ("ringing", "not_ready", "missed")
        await eventually(lambda: not b.svc.attempts, what="the attempt forgotten")
        stored = await b.lead(lead)
        assert (stored.status, stored.attempts) == ("scheduled", 0)
        assert stored.next_attempt_at is not None and stored.next_attempt_at <= clock.now()
        assert b.out.originations == []


async def test_a_lead_put_on_do_not_call_before_the_accept_is_not_dialled(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, campaigns={"c1": PREVIEW}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [FIRST])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b)
        await b.store.dnc_add("global", [FIRST], source="test", default_region="US")

        await b.svc.preview_accept("a1")
        await eventually(lambda: not b.svc.attempts, what="the attempt dropped")
        assert (await b.lead(lead)).status == "dnc"
        assert b.out.originations == []
        await eventually(lambda: b.acd.state("a1") == "ready")
        assert b.acd.tel.legs_to("PJSIP/a1")[0].ended


async def test_accept_and_skip_need_an_offer_and_an_accepted_lead_cannot_be_taken_back(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, campaigns={"c1": PREVIEW}, agent_phones={"PJSIP/a1": NEVER}) as b:
        await b.acd.login("a1")
        with pytest.raises(NotPermitted):
            await b.svc.preview_accept("a1")
        with pytest.raises(NotPermitted):
            await b.svc.preview_skip("a1")

        await b.add_leads("c1", [FIRST])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b)
        await b.svc.preview_accept("a1")
        with pytest.raises(NotPermitted):
            await b.svc.preview_accept("a1")
        with pytest.raises(NotPermitted):
            await b.svc.preview_skip("a1")


async def test_a_preview_campaign_finishes_when_its_last_lead_is_closed(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, campaigns={"c1": PREVIEW}, lines={FIRST: ANSWERS}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [FIRST])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b)
        await b.svc.preview_accept("a1")
        [line] = await b.out.wait_dials(1)
        await eventually(lambda: line.detected, what="the answered line handed to the dialplan")
        call, caller = b.hand_back(line, "HUMAN")
        await eventually(lambda: b.acd.state("a1") == "on_call")
        await b.acd.service.disposition("a1", call.call_id, outcome="sale", right_party=True)
        caller.hang_up()

        await eventually(lambda: b.svc.runs["c1"].status == "finished", what="campaign finished")
        assert (await b.lead(lead)).status == "done"


async def test_an_offer_accepted_after_a_pause_is_not_dialled(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock, campaigns={"c1": PREVIEW}) as b:
        await b.acd.login("a1")
        await b.add_leads("c1", [FIRST])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b)
        await b.svc.command("c1", "pause", actor="ann")

        with contextlib.suppress(NotPermitted):
            await b.svc.preview_accept("a1")
        await asyncio.sleep(0.15)
        assert b.out.originations == []


async def test_a_pause_withdraws_open_offers_and_frees_their_agents(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock, campaigns={"c1": PREVIEW}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [FIRST])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b)
        await b.svc.command("c1", "pause", actor="ann")

        await eventually(lambda: b.svc.preview_of("a1") is None, what="the offer withdrawn")
        assert b.acd.state("a1") == "ready"
        stored = await b.lead(lead)
        assert (stored.status, stored.attempts) == ("scheduled", 0)
        await asyncio.sleep(0.1)
        assert b.svc.preview_of("a1") is None  # no new offer while paused
        assert b.out.originations == []


async def test_a_pause_while_the_accepting_agent_phone_rings_stops_the_dial(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, campaigns={"c1": PREVIEW}, agent_phones={"PJSIP/a1": NEVER}) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [FIRST])
        await b.svc.command("c1", "start", actor="ann")
        await offered(b)
        await b.svc.preview_accept("a1")
        await eventually(lambda: b.acd.tel.dials, what="the agent's phone rung")
        await b.svc.command("c1", "pause", actor="bob")

        b.acd.tel.legs_to("PJSIP/a1")[0].answer()
        await asyncio.sleep(0.1)
        assert b.out.originations == []
        await eventually(lambda: b.acd.state("a1") == "ready", what="the agent released")
        assert (await b.lead(lead)).status == "scheduled"
