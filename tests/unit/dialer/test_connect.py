"""A person from the answer to an agent (`ccapp.dialer.connect`): AMD hands the answered call back;
the person reaches an agent before ``answer + connect_within_s`` (held from the dial or the answer,
or freed meanwhile) or hears the abandon message, counted in the abandon budget. Machines and lines
that go away: `test_line_outcomes`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from ccapp.acd.fakes import NEVER, Script, eventually
from ccapp.calls.call import Call
from ccapp.calls.model import EventKind as K
from ccapp.dialer.fakes import ANSWERS, DialerBed, LineScript, ShiftedClock
from tests.unit.dialer.beds import answered, bed, campaign, finished, number, predictive_line_without_agent

LEAD = number(1)


def events(b: DialerBed, call: Call, kind: K) -> list[dict[str, Any]]:
    return b.acd.events(call, kind)


# ------------------------------------------------------------------------------ people


async def test_a_person_with_a_held_agent_is_connected_and_the_agent_is_on_call(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        dial = b.out.originations[0]
        assert dial.dial_string == f"PJSIP/{LEAD}@trunk"
        assert {k: dial.variables[k] for k in ("CCAPP_AMD", "CCAPP_ATTEMPT", "CCAPP_CAMPAIGN")} == {
            "CCAPP_AMD": "1",
            "CCAPP_ATTEMPT": line.attempt_id,
            "CCAPP_CAMPAIGN": "c1",
        }
        # the held agent's phone rings at the answer, before the verdict
        [agent_dial] = b.acd.tel.dials
        assert agent_dial.endpoint == "PJSIP/a1"
        assert agent_dial.variables["CCAPP_ATTEMPT"] == line.attempt_id

        call, caller = b.hand_back(line, "HUMAN", "HUMAN-1")
        await eventually(lambda: b.acd.state("a1") == "on_call")
        assert b.acd.tel.bridged_with(caller.channel_id) == {agent_dial.leg_id}
        [connected] = [e for e in events(b, call, K.VARIABLE) if e["name"] == "connected_after_answer_s"]
        assert float(connected["value"]) < b.svc.runs["c1"].settings.connect_within_s

        caller.hang_up()
        await eventually(lambda: b.acd.state("a1") == "wrap_up")
        await b.acd.service.disposition("a1", call.call_id, outcome="sale", right_party=True)
        row = await finished(b, lead)
        assert (row["result"], row["amd"], row["agent_id"], row["abandoned"]) == (
            "human",
            "HUMAN",
            "a1",
            False,
        )
        assert row["connected_at"] is not None and row["call_id"] == call.call_id


async def test_when_the_agent_hangs_up_first_the_person_is_hung_up_and_the_agent_wraps_up(
    db_url: str, clock: ShiftedClock
) -> None:
    phones = {"PJSIP/a1": Script(answer_after=0.0, talk_s=0.3)}
    async with bed(db_url, clock, lines={LEAD: ANSWERS}, agent_phones=phones) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        call, caller = b.hand_back(line, "HUMAN")
        await eventually(lambda: b.acd.state("a1") == "on_call")
        await eventually(lambda: b.acd.state("a1") == "wrap_up", what="the agent hung up")
        await eventually(lambda: caller.gone, what="the person hung up by ccapp")
        assert ("hangup", 16) in caller.actions
        await b.acd.service.disposition("a1", call.call_id, outcome="wrong_number", right_party=False)
        row = await finished(b, lead)
        assert (row["outcome"], row["talk_s"] > 0) == ("wrong_number", True)
        assert (await b.lead(lead)).status == "done"


async def test_with_ring_at_verdict_the_agent_is_rung_only_for_a_person(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(ring_agent_at="verdict")
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={LEAD: ANSWERS}) as b:
        await b.acd.login("a1")
        _, line = await answered(b)
        await asyncio.sleep(0.05)
        assert b.acd.tel.dials == []
        assert b.acd.state("a1") == "reserved"

        b.hand_back(line, "HUMAN")
        await eventually(lambda: b.acd.state("a1") == "on_call")
        assert [d.endpoint for d in b.acd.tel.dials] == ["PJSIP/a1"]


async def test_predictive_holds_a_ready_agent_at_the_answer_and_rings_them_before_the_verdict(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(mode="predictive")
    async with bed(
        db_url, clock, campaigns={"c1": settings}, lines={LEAD: LineScript(answer_after=None)}
    ) as b:
        await b.acd.login("a1")
        [lead] = await b.add_leads("c1", [LEAD])
        await b.svc.command("c1", "start", actor="ann")
        [line] = await b.out.wait_dials(1)
        assert b.acd.state("a1") == "ready"  # nobody is held for a line that may never answer

        line.answer()
        await eventually(lambda: line.detected, what="the line in AMD")
        assert b.acd.state("a1") == "ringing"
        assert b.acd.service.desk.work("a1") == (line.attempt_id, "out")
        call, caller = b.hand_back(line, "HUMAN")
        await eventually(lambda: b.acd.state("a1") == "on_call")
        assert b.acd.service.desk.work("a1") == (call.call_id, "out")
        caller.hang_up()
        await b.acd.service.disposition("a1", call.call_id, outcome="sale")
        assert (await finished(b, lead))["agent_id"] == "a1"


async def test_a_person_no_agent_can_take_in_time_hears_the_abandon_message_and_counts_as_abandoned(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(mode="predictive", retry_delays_s={"abandoned": 3600})
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={LEAD: ANSWERS}) as b:
        lead, line = await predictive_line_without_agent(b)
        call, caller = b.hand_back(line, "HUMAN")
        _, _, task = b.calls[line.attempt_id]
        assert await asyncio.wait_for(task, 3) == "abandoned"

        assert caller.played == [("ccapp/ccapp-abandon",)]
        assert caller.actions[-1][0] == "hangup"
        [prompt] = events(b, call, K.PROMPT)
        assert prompt["purpose"] == "abandon"
        assert prompt["after_answer_s"] < settings.connect_within_s
        row = await finished(b, lead)
        assert (row["result"], row["abandoned"], row["agent_id"]) == ("human", True, None)
        stored = await b.lead_row(lead)
        assert (stored["status"], stored["last_result"]) == ("scheduled", "abandoned")
        assert 3600 <= (stored["next_attempt_at"] - row["ended_at"]).total_seconds() < 3601

        run = b.svc.runs["c1"]
        assert (run.window_live, run.window_abandoned) == (1, 1)
        assert await b.store.abandon_window("c1", clock.now() - timedelta(days=30)) == (1, 1)
        assert b.acd.state("a1") == "not_ready"
        assert b.acd.tel.dials == []


async def test_an_abandon_message_that_cannot_be_rendered_still_ends_the_call_and_the_attempt(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(mode="predictive", abandon_message="text:Sorry, we will call you back.")
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={LEAD: ANSWERS}) as b:  # no TTS
        lead, line = await predictive_line_without_agent(b)
        _, caller = b.hand_back(line, "HUMAN")
        _, _, task = b.calls[line.attempt_id]
        await asyncio.wait({task}, timeout=3)

        assert not task.exception(), task.exception()
        assert caller.gone
        stored = await b.lead_row(lead)
        assert (stored["status"], stored["last_result"]) == ("scheduled", "abandoned")


async def test_a_person_gets_an_agent_who_frees_before_the_deadline(db_url: str, clock: ShiftedClock) -> None:
    settings = campaign(mode="predictive", connect_within_s=2.0)  # an agent is waited for 1.35 s
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={LEAD: ANSWERS}) as b:
        lead, line = await predictive_line_without_agent(b)
        call, caller = b.hand_back(line, "HUMAN")
        await asyncio.sleep(0.1)
        assert b.acd.state("a1") == "not_ready"
        await b.acd.service.set_ready("a1")

        await eventually(lambda: b.acd.state("a1") == "on_call")
        assert caller.played == []
        caller.hang_up()
        await b.acd.service.disposition("a1", call.call_id, outcome="sale", right_party=True)
        row = await finished(b, lead)
        assert (row["abandoned"], row["agent_id"]) == (False, "a1")
        assert b.svc.runs["c1"].window_abandoned == 0


async def test_a_held_agent_who_does_not_answer_in_time_leaves_the_person_to_the_abandon_message(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}, agent_phones={"PJSIP/a1": NEVER}) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        _, caller = b.hand_back(line, "HUMAN")
        row = await finished(b, lead)

        assert row["abandoned"] is True
        assert caller.played == [("ccapp/ccapp-abandon",)]
        assert b.acd.state("a1") == "not_ready"
        assert b.acd.agent_changes("a1")[-1] == ("ringing", "not_ready", "missed")
        await eventually(lambda: b.acd.tel.legs_to("PJSIP/a1")[0].ended, what="agent's phone hung up")


async def test_a_person_whose_held_agent_phone_fails_gets_another_ready_agent(
    db_url: str, clock: ShiftedClock
) -> None:
    phones = {"PJSIP/a1": Script(fail_cause=17)}
    async with bed(db_url, clock, agents=("a1", "a2"), lines={LEAD: ANSWERS}, agent_phones=phones) as b:
        await b.acd.login("a1", "a2")  # a1, idle longest, is held for the only lead
        _, line = await answered(b)
        assert b.acd.state("a2") == "ready"
        _, caller = b.hand_back(line, "HUMAN")
        _, _, task = b.calls[line.attempt_id]
        await eventually(lambda: b.acd.state("a2") == "on_call" or task.done(), what="a2 or the end")

        assert caller.played == []
        assert b.acd.state("a2") == "on_call"
        caller.hang_up()


async def test_a_not_sure_verdict_is_taken_as_a_person(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        call, caller = b.hand_back(line, "NOTSURE", "TOOLONG")
        await eventually(lambda: b.acd.state("a1") == "on_call")
        caller.hang_up()
        await b.acd.service.disposition("a1", call.call_id, outcome="sale")
        row = await finished(b, lead)
        assert (row["result"], row["amd"]) == ("notsure", "NOTSURE")


async def test_without_amd_every_answer_is_a_person_and_no_verdict_is_stored(
    db_url: str, clock: ShiftedClock
) -> None:
    settings = campaign(amd=False)
    async with bed(db_url, clock, campaigns={"c1": settings}, lines={LEAD: ANSWERS}) as b:
        await b.acd.login("a1")
        lead, line = await answered(b)
        assert line.origination.variables["CCAPP_AMD"] == "0"
        call, caller = b.hand_back(line, "HUMAN", "AMD off")  # what the dialplan says with AMD off
        await eventually(lambda: b.acd.state("a1") == "on_call")
        caller.hang_up()
        await b.acd.service.disposition("a1", call.call_id, outcome="sale")
        row = await finished(b, lead)
        assert (row["result"], row["amd"]) == ("human", None)
