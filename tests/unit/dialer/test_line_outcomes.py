"""What becomes of an answered line that is not a person for an agent: a machine is hung up on or
gets the campaign's message (or, sampled for the AMD audit, an agent); a lead who hangs up during AMD,
a verdict that never comes, an error after the answer, a verdict for an unknown attempt, a person or an
agent gone before the bridge."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from ccapp.acd.fakes import Script, eventually
from ccapp.calls.call import Call
from ccapp.calls.model import EventKind as K
from ccapp.dialer.fakes import ANSWERS, DialerBed, LineScript, ShiftedClock
from tests.unit.dialer.beds import answered, bed, campaign, finished, number, predictive_line_without_agent

LEAD = number(1)


def events(b: DialerBed, call: Call, kind: K) -> list[dict[str, Any]]:
    return b.acd.events(call, kind)


# ------------------------------------------------------------------------------ machines


async def test_a_machine_is_hung_up_on_and_its_held_agent_released(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        _, caller = b.hand_back(line, "MACHINE", "LONGGREETING")
        row = await finished(b, lead)

        assert [name for name, _ in caller.actions] == ["hangup"]
        assert (row["result"], row["amd"]) == ("machine", "MACHINE")
        stored = await b.lead_row(lead)
        assert (stored["status"], stored["last_result"]) == ("scheduled", "machine_hangup")
        await eventually(lambda: b.acd.state("a1") == "ready")
        assert b.acd.tel.legs_to("PJSIP/a1")[0].ended  # rung at the answer, hung up at the verdict


async def test_a_machine_gets_the_campaign_message_in_the_dialplan(db_url: str, clock: ShiftedClock) -> None:
    settings = campaign(machine="message", machine_message="ccapp/leave-message")
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={LEAD: ANSWERS}) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        _, caller = b.hand_back(line, "MACHINE")
        await finished(b, lead)

        assert caller.actions == [
            ("set", ("CCAPP_MACHINE_MESSAGE", "ccapp/leave-message")),
            ("continue", ("ccapp-outbound", "machine", 1)),
        ]
        assert (await b.lead_row(lead))["last_result"] == "machine_message"
        await eventually(lambda: b.acd.state("a1") == "ready")


async def test_an_audited_machine_goes_to_an_agent_and_is_not_counted_as_a_live_answer(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(amd_audit_fraction=1.0)
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={LEAD: ANSWERS}) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        call, caller = b.hand_back(line, "MACHINE", "LONGGREETING")
        await eventually(lambda: b.acd.state("a1") == "on_call")
        assert [e["value"] for e in events(b, call, K.VARIABLE) if e["name"] == "amd_audit"] == ["1"]
        caller.hang_up()
        await b.acd.service.disposition("a1", call.call_id, outcome="sale", right_party=True)
        row = await finished(b, lead)

        assert (row["result"], row["amd"], row["outcome"]) == ("machine", "MACHINE", "sale")
        assert b.svc.runs["c1"].window_live == 0
        assert await b.store.abandon_window("c1", clock.now() - timedelta(days=1)) == (0, 0)


async def test_an_audited_machine_no_agent_takes_is_not_counted_as_abandoned(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(mode="predictive", amd_audit_fraction=1.0)
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={LEAD: ANSWERS}) as b:
        lead, line = await predictive_line_without_agent(b)
        b.hand_back(line, "MACHINE")
        await finished(b, lead)

        run = b.svc.runs["c1"]
        assert (run.window_live, run.window_abandoned) == (0, 0)
        assert await b.store.abandon_window("c1", clock.now() - timedelta(days=1)) == (0, 0)


async def test_a_machine_message_that_cannot_be_rendered_still_ends_the_call_and_the_attempt(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(machine="message", machine_message="text:Please call us back.")  # no TTS
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={LEAD: ANSWERS}) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        _, caller = b.hand_back(line, "MACHINE")
        _, _, task = b.calls[line.attempt_id]
        await asyncio.wait({task}, timeout=3)

        assert not task.exception(), task.exception()
        assert caller.gone
        stored = await b.lead_row(lead)
        assert stored["status"] == "scheduled"
        await eventually(lambda: b.acd.state("a1") == "ready")


# ------------------------------------------------------------------------------ lines that go away


async def test_a_lead_who_hangs_up_while_amd_listens_is_retried_and_the_agent_released(
    db_url: str, clock: ShiftedClock
) -> None:
    script = LineScript(gone_in_amd=True, amd_s=0.05)
    async with bed(db_url, clock, lines={LEAD: script}) as b:
        await b.acd.login("a1")
        lead, _ = await answered(b)
        row = await finished(b, lead)

        assert (row["result"], row["hangup_cause"]) == ("failed", 16)
        stored = await b.lead_row(lead)
        assert (stored["status"], stored["last_result"]) == ("scheduled", "hung_up_during_amd")
        await eventually(lambda: b.acd.state("a1") == "ready")


async def test_a_line_amd_never_hands_back_is_hung_up_and_retried(
    db_url: str, clock: ShiftedClock, short_amd_timeout: None
) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        row = await finished(b, lead)

        assert line.hung_up_by_ccapp == 16
        assert (row["result"], row["hangup_cause"]) == ("failed", None)
        assert (await b.lead_row(lead))["status"] == "scheduled"
        await eventually(lambda: b.acd.state("a1") == "ready")


async def test_an_error_after_the_answer_does_not_leave_the_person_in_silence(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:

        async def refused(*args: object, **kwargs: object) -> None:
            raise RuntimeError("ARI said 500")

        b.acd.tel.dial = refused  # type: ignore[method-assign,assignment]
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [LEAD])
        await b.svc.command("c1", "start", actor="ann")
        [line] = await b.out.wait_dials(1)
        row = await finished(b, lead)

        assert row["result"] == "failed"
        assert b.acd.state("a1") == "ready"
        assert line.gone
        assert line.detected or line.hung_up_by_ccapp is not None


async def test_a_verdict_for_an_unknown_attempt_is_hung_up(db_url: str, clock: ShiftedClock) -> None:
    from ccapp.dialer.connect import outbound_route

    async with bed(db_url, clock) as b:
        call, caller = b.acd.call()
        assert await outbound_route(b.svc, call, caller, ("from-before-a-restart", "HUMAN")) == "orphan"
        assert caller.actions == [("hangup", 16)]


async def test_a_person_who_hangs_up_before_the_bridge_is_not_closed_as_reached(
    db_url: str, clock: ShiftedClock, short_grace: None
) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        _, caller = b.hand_back(line, "HUMAN")
        caller.hang_up()  # "hello?" … and gone before the agent's phone is bridged
        await finished(b, lead)

        stored = await b.lead_row(lead)
        assert (stored["status"], stored["last_result"]) == ("scheduled", "hung_up_before_agent")


async def test_a_person_whose_agent_drops_before_the_bridge_hears_the_abandon_message(
    db_url: str, clock: ShiftedClock, short_grace: None
) -> None:
    # the agent picks up at the answer and hangs up on the silence while AMD listens
    phones = {"PJSIP/a1": Script(answer_after=0.0, talk_s=0.01)}
    async with bed(db_url, clock, lines={LEAD: ANSWERS}, agent_phones=phones) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        await eventually(lambda: b.acd.tel.legs_to("PJSIP/a1")[0].ended, what="the agent hung up")
        _, caller = b.hand_back(line, "HUMAN")
        row = await finished(b, lead)

        assert caller.played == [("ccapp/ccapp-abandon",)]
        assert row["abandoned"] is True
        assert b.svc.runs["c1"].window_abandoned == 1
