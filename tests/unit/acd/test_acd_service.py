"""The ACD service on in-memory fakes: routing, ringing, wrap-up, overflow, callbacks, announcements
and recording, each checked on the call's journal and on the agents' states."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ccapp.acd.errors import NotPermitted, UnknownCall
from ccapp.acd.fakes import NEVER, AcdBed, FakeGate, Script, eventually
from ccapp.acd.model import Agent
from ccapp.acd.prompts import CALLBACK_CONFIRM, VOICEMAIL_INTRO
from ccapp.calls.model import EventKind as K
from ccapp.config.settings import AcdSettings, QueueSettings
from ccapp.errors import CallGone

CALLBACK_DIAL = "PJSIP/{number}@trunk"


def queue(**kw: Any) -> QueueSettings:
    """A queue with short real-time timers (ring 0.3 s, wrap-up 0.2 s), announced on entry only."""
    values: dict[str, Any] = {"ring_timeout_s": 0.3, "wrap_up_s": 0.2, "announce_every_s": None}
    values.update(kw)
    return QueueSettings(**values)


def agent(agent_id: str, *queues: str, **skills: int) -> Agent:
    return Agent(
        agent_id, agent_id.upper(), f"PJSIP/{agent_id}", skills=skills, queues=frozenset(queues or ("sales",))
    )


def offered(bed: AcdBed, call: Any) -> list[str]:
    return [e["agent_id"] for e in bed.events(call, K.AGENT_OFFERED)]


# ------------------------------------------------------------------------------------------ routing


async def test_the_longest_idle_ready_agent_with_the_skill_gets_the_call() -> None:
    agents = [agent("noskill"), agent("a1", sales=3), agent("a2", sales=3)]
    async with AcdBed({"sales": queue(skills={"sales": 2})}, agents) as bed:
        await bed.login("noskill", "a1", "a2")  # noskill has been idle longest but lacks the skill
        call, caller, _ = bed.enter("sales")
        await eventually(lambda: bed.state("a1") == "on_call")

        assert offered(bed, call) == ["a1"]
        assert [d.endpoint for d in bed.tel.dials] == ["PJSIP/a1"]
        connected = bed.events(call, K.AGENT_CONNECTED)
        assert [c["agent_id"] for c in connected] == ["a1"]
        leg = connected[0]["leg_id"]
        assert bed.tel.bridges[connected[0]["bridge_id"]] == {caller.channel_id, leg}
        assert bed.events(call, K.QUEUE_LEFT) == [
            {
                "queue": "sales",
                "entry": 1,
                "reason": "answered",
                "wait_s": pytest.approx(0, abs=0.5),
                "target": "a1",
            }
        ]
        assert bed.agent_changes("a1") == [
            ("logged_out", "ready", None),
            ("ready", "reserved", None),
            ("reserved", "ringing", None),
            ("ringing", "on_call", None),
        ]
        assert (bed.state("noskill"), bed.state("a2")) == ("ready", "ready")


async def test_an_agent_without_the_skill_is_never_offered_the_call() -> None:
    async with AcdBed({"sales": queue(skills={"sales": 2}, max_wait_s=0.4)}, [agent("nov", sales=1)]) as bed:
        await bed.login("nov")
        call, _, task = bed.enter("sales")
        assert await asyncio.wait_for(task, 3) == "max_wait"
        assert offered(bed, call) == []
        assert bed.tel.dials == []
        assert bed.agent_changes("nov") == [("logged_out", "ready", None)]


async def test_priority_jumps_the_line() -> None:
    async with AcdBed({"sales": queue()}, [agent("a1")]) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        first, _, _ = bed.enter("sales", priority=0)
        await eventually(lambda: bed.events(first, K.QUEUE_ENTERED))
        vip, _, _ = bed.enter("sales", priority=5)
        await eventually(lambda: bed.events(vip, K.QUEUE_ENTERED))
        assert bed.events(vip, K.QUEUE_ENTERED)[0]["priority"] == 5
        assert bed.service.router.position(vip.call_id) == 1
        assert bed.service.router.position(first.call_id) == 2

        await bed.service.set_ready("a1")
        await eventually(lambda: bed.state("a1") == "on_call")
        assert offered(bed, vip) == ["a1"]
        assert offered(bed, first) == []
        assert bed.service.router.position(first.call_id) == 1


async def test_ring_no_answer_sets_the_agent_not_ready_missed_and_offers_the_call_to_the_next() -> None:
    async with AcdBed({"sales": queue()}, [agent("a1"), agent("a2")], scripts={"PJSIP/a1": NEVER}) as bed:
        await bed.login("a1")
        await bed.service.login("a2", ready=False, reason="break")
        call, _, _ = bed.enter("sales")
        await eventually(lambda: bed.tel.dials)
        waiting = bed.service.sessions[call.call_id].waiting
        assert waiting is not None
        entered_at = waiting.entered_at

        await eventually(lambda: bed.events(call, K.AGENT_NO_ANSWER), what="ring timeout")
        [missed] = bed.events(call, K.AGENT_NO_ANSWER)
        assert missed["agent_id"] == "a1" and 0.29 <= missed["ring_s"] < 1.0
        await eventually(lambda: bed.service.router.position(call.call_id) == 1)
        assert bed.service.router.waiting("sales")[0].entered_at == entered_at  # back at the head
        assert bed.agent_changes("a1")[-1] == ("ringing", "not_ready", "missed")
        a1_leg = bed.tel.legs_to("PJSIP/a1")[0]
        assert a1_leg.ended and a1_leg.leg_id in bed.tel.hangups

        await bed.service.set_ready("a2")
        await eventually(lambda: bed.state("a2") == "on_call")
        assert offered(bed, call) == ["a1", "a2"]
        assert [e["entry"] for e in bed.events(call, K.QUEUE_ENTERED)] == [1]
        [left] = bed.events(call, K.QUEUE_LEFT)
        assert left["reason"] == "answered" and left["wait_s"] >= 0.3
        assert bed.service.desk.get("a1").not_ready_reason == "missed"


async def test_ring_all_two_agents_answering_at_once_one_is_connected_and_the_other_released() -> None:
    agents = [agent("a1"), agent("a2")]
    scripts = {"PJSIP/a1": NEVER, "PJSIP/a2": NEVER}
    async with AcdBed(
        {"sales": queue(strategy="ring_all", ring_timeout_s=3.0)}, agents, scripts=scripts
    ) as bed:
        await bed.login("a1", "a2")
        call, caller, _ = bed.enter("sales")
        await eventually(lambda: len(bed.tel.dials) == 2)
        for leg in bed.tel.legs.values():
            leg.answer()
        await eventually(lambda: bed.events(call, K.AGENT_RELEASED))

        [connected] = bed.events(call, K.AGENT_CONNECTED)
        [released] = bed.events(call, K.AGENT_RELEASED)
        winner, loser = connected["agent_id"], released["agent_id"]
        assert {winner, loser} == {"a1", "a2"}
        assert released["reason"] == "other_answered"
        assert bed.state(winner) == "on_call"
        assert bed.state(loser) == "ready"
        assert bed.agent_changes(loser)[-1] == ("ringing", "ready", None)
        bridges = [op for op in bed.tel.bridge_log if op[0] == "bridge"]
        assert bridges == [("bridge", connected["bridge_id"], (caller.channel_id, connected["leg_id"]))]
        assert bed.tel.legs[released["leg_id"]].ended


async def test_caller_hanging_up_while_agents_ring_hangs_up_the_legs_and_frees_the_agents() -> None:
    agents = [agent("a1"), agent("a2")]
    scripts = {"PJSIP/a1": NEVER, "PJSIP/a2": NEVER}
    async with AcdBed(
        {"sales": queue(strategy="ring_all", ring_timeout_s=5.0)}, agents, scripts=scripts
    ) as bed:
        await bed.login("a1", "a2")
        call, caller, task = bed.enter("sales")
        await eventually(lambda: len(bed.tel.dials) == 2)
        caller.hang_up()
        with pytest.raises(CallGone):
            await asyncio.wait_for(task, 3)

        assert all(leg.ended for leg in bed.tel.legs.values())
        assert sorted(bed.tel.hangups) == sorted(bed.tel.legs)
        assert {e["agent_id"]: e["reason"] for e in bed.events(call, K.AGENT_RELEASED)} == {
            "a1": "caller_gone",
            "a2": "caller_gone",
        }
        assert (bed.state("a1"), bed.state("a2")) == ("ready", "ready")
        [left] = bed.events(call, K.QUEUE_LEFT)
        assert left["reason"] == "abandoned" and left["wait_s"] > 0
        assert bed.events(call, K.AGENT_CONNECTED) == []
        assert len(bed.service.router) == 0 and call.call_id not in bed.service.sessions


async def test_caller_hanging_up_during_the_consent_prompt_frees_the_agent_reserved_meanwhile() -> None:
    queues = {"sales": queue(recording="all", consent_prompt="custom/consent")}
    async with AcdBed(queues, [agent("a1")]) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        call, caller = bed.call()
        caller.play_s = 0.5
        task = asyncio.create_task(
            bed.service.enter(caller, queue="sales", priority=0, variables={}, call=call)
        )
        bed.tasks.append(task)
        await eventually(lambda: ("play", ("custom/consent",)) in caller.actions)
        await bed.service.set_ready("a1")
        await eventually(lambda: bed.state("a1") == "reserved")  # the offer waits for the prompt
        caller.hang_up()
        with pytest.raises(CallGone):
            await asyncio.wait_for(task, 3)
        assert bed.state("a1") == "ready"
        assert bed.agent_changes("a1")[-1] == ("reserved", "ready", None)
        assert bed.tel.dials == []
        assert [e["reason"] for e in bed.events(call, K.QUEUE_LEFT)] == ["abandoned"]


# ------------------------------------------------------------------------------------------ talk


async def test_wrap_up_blocks_new_offers_for_wrap_up_s_then_the_agent_is_ready() -> None:
    async with AcdBed(
        {"sales": queue(wrap_up_s=0.3)}, [agent("a1")], scripts={"PJSIP/a1": Script(talk_s=0.05)}
    ) as bed:
        await bed.login("a1")
        first, _, task = bed.enter("sales")
        assert await asyncio.wait_for(task, 3) == "answered"
        assert bed.state("a1") == "wrap_up"
        second, _, _ = bed.enter("sales")
        await asyncio.sleep(0.15)
        assert offered(bed, second) == [] and bed.state("a1") == "wrap_up"

        await eventually(lambda: offered(bed, second) == ["a1"])
        changes = [e for e in bed.journal.events if e.kind is K.AGENT_STATE]
        wrap = next(e for e in changes if e.data["to"] == "wrap_up")
        ready = next(e for e in changes if e.data["from"] == "wrap_up")
        assert ready.data["to"] == "ready"
        assert 0.29 <= (ready.at - wrap.at).total_seconds() < 1.0
        assert wrap.data["call_id"] == first.call_id


async def test_the_end_of_wrap_up_is_journaled_on_the_call_with_its_queue_entry_and_length() -> None:
    async with AcdBed(
        {"sales": queue(wrap_up_s=0.2)}, [agent("a1")], scripts={"PJSIP/a1": Script(talk_s=0.05)}
    ) as bed:
        await bed.login("a1")
        call, _, task = bed.enter("sales")
        assert await asyncio.wait_for(task, 3) == "answered"
        assert bed.events(call, K.AGENT_WRAPPED) == []
        await eventually(lambda: bed.state("a1") == "ready")

        [wrapped] = bed.events(call, K.AGENT_WRAPPED)
        assert (wrapped["queue"], wrapped["entry"], wrapped["agent_id"]) == ("sales", 1, "a1")
        assert 0.19 <= wrapped["wrap_s"] < 1.0


async def test_queue_entered_names_the_calls_own_skill_else_the_queues_first() -> None:
    agents = [agent("a1", sales=3, french=3)]
    async with AcdBed({"sales": queue(skills={"sales": 1})}, agents) as bed:
        own, _, _ = bed.enter("sales", variables={"skill_french": "2"})
        plain, _, _ = bed.enter("sales")
        await eventually(lambda: bed.events(own, K.QUEUE_ENTERED) and bed.events(plain, K.QUEUE_ENTERED))

        assert bed.events(own, K.QUEUE_ENTERED)[0]["skill"] == "french"
        assert bed.events(plain, K.QUEUE_ENTERED)[0]["skill"] == "sales"


async def test_agent_leaving_first_returns_answered_and_the_caller_continues() -> None:
    async with AcdBed({"sales": queue()}, [agent("a1")], scripts={"PJSIP/a1": Script(talk_s=0.05)}) as bed:
        await bed.login("a1")
        call, caller, task = bed.enter("sales")
        assert await asyncio.wait_for(task, 3) == "answered"
        assert not caller.gone
        [gone] = bed.events(call, K.AGENT_DISCONNECTED)
        # the phone's 0.05 s run from its answer, talk_s from the bridge a moment later
        assert gone["by"] == "agent" and gone["agent_id"] == "a1" and 0.03 <= gone["talk_s"] <= 0.5
        assert bed.state("a1") == "wrap_up"
        assert bed.tel.bridges == {}
        assert call.call_id not in bed.service.sessions


async def test_caller_leaving_first_raises_call_gone_and_the_agent_goes_to_wrap_up() -> None:
    async with AcdBed({"sales": queue()}, [agent("a1")]) as bed:
        await bed.login("a1")
        call, caller, task = bed.enter("sales")
        await eventually(lambda: bed.events(call, K.AGENT_CONNECTED))
        caller.hang_up()
        with pytest.raises(CallGone):
            await asyncio.wait_for(task, 3)
        [gone] = bed.events(call, K.AGENT_DISCONNECTED)
        assert gone["by"] == "caller"
        assert bed.state("a1") == "wrap_up"
        assert bed.tel.legs_to("PJSIP/a1")[0].ended
        assert bed.tel.bridges == {}
        assert [e["reason"] for e in bed.events(call, K.QUEUE_LEFT)] == ["answered"]
        await eventually(lambda: bed.state("a1") == "ready")


async def test_caller_hanging_up_during_the_whisper_hangs_up_the_agent_who_wraps_up() -> None:
    scripts = {"PJSIP/a1": Script(play_s=0.3)}
    async with AcdBed({"sales": queue(whisper="custom/whisper")}, [agent("a1")], scripts=scripts) as bed:
        await bed.login("a1")
        call, caller, task = bed.enter("sales")
        await eventually(lambda: bed.tel.legs and bed.tel.legs_to("PJSIP/a1")[0].played)
        assert bed.tel.legs_to("PJSIP/a1")[0].played == [("custom/whisper",)]
        caller.hang_up()
        with pytest.raises(CallGone):
            await asyncio.wait_for(task, 3)
        assert bed.tel.legs_to("PJSIP/a1")[0].ended
        assert bed.state("a1") == "wrap_up"
        assert [e["reason"] for e in bed.events(call, K.QUEUE_LEFT)] == ["abandoned"]
        assert bed.events(call, K.AGENT_CONNECTED) == []
        assert [e["reason"] for e in bed.events(call, K.AGENT_RELEASED)] == ["caller_gone"]
        await eventually(lambda: bed.state("a1") == "ready")


async def test_agent_hanging_up_before_the_bridge_wraps_up_and_the_caller_is_back_at_the_head() -> None:
    scripts = {"PJSIP/a1": Script(talk_s=0.0), "PJSIP/a2": Script()}
    async with AcdBed(
        {"sales": queue(whisper="custom/whisper")}, [agent("a1"), agent("a2")], scripts=scripts
    ) as bed:
        await bed.login("a1")
        await bed.service.login("a2", ready=False, reason="break")
        call, caller, task = bed.enter("sales")
        await eventually(lambda: bed.state("a1") == "wrap_up", what="a1 gone before the bridge")
        await eventually(lambda: bed.service.router.position(call.call_id) == 1)
        assert not task.done() and not caller.gone
        assert bed.events(call, K.AGENT_CONNECTED) == []
        assert caller.channel_id in bed.tel.moh_on
        assert [e["reason"] for e in bed.events(call, K.AGENT_RELEASED)] == ["agent_gone"]

        await bed.service.set_ready("a2")
        await eventually(lambda: bed.state("a2") == "on_call")
        assert [e["agent_id"] for e in bed.events(call, K.AGENT_CONNECTED)] == ["a2"]
        assert [e["reason"] for e in bed.events(call, K.QUEUE_LEFT)] == ["answered"]


# ------------------------------------------------------------------------------------------ overflow


async def test_a_call_past_max_wait_overflows_to_the_other_queue() -> None:
    queues = {"sales": queue(max_wait_s=0.2, overflow="support"), "support": queue()}
    async with AcdBed(queues, [agent("a1", "sales"), agent("a2", "support")]) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        await bed.login("a2")
        call, _, task = bed.enter("sales")
        await eventually(lambda: bed.state("a2") == "on_call")
        assert [(e["queue"], e["entry"]) for e in bed.events(call, K.QUEUE_ENTERED)] == [
            ("sales", 1),
            ("support", 2),
        ]
        left = bed.events(call, K.QUEUE_LEFT)
        assert [(e["queue"], e["entry"], e["reason"], e["target"]) for e in left] == [
            ("sales", 1, "overflow", "queue:support"),
            ("support", 2, "answered", "a2"),
        ]
        assert left[0]["wait_s"] >= 0.2
        assert bed.events(call, K.AGENT_CONNECTED)[0]["queue"] == "support"
        assert not task.done()


async def test_a_full_queue_overflows_at_once() -> None:
    queues = {"sales": queue(max_length=1, overflow="support"), "support": queue()}
    async with AcdBed(queues, [agent("a1", "sales"), agent("a2", "support")]) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        await bed.service.login("a2", ready=False, reason="break")
        first, _, _ = bed.enter("sales")
        await eventually(lambda: bed.service.router.position(first.call_id) == 1)
        second, _, _ = bed.enter("sales")
        await eventually(lambda: len(bed.events(second, K.QUEUE_ENTERED)) == 2)
        [left] = bed.events(second, K.QUEUE_LEFT)
        assert left["reason"] == "overflow" and left["target"] == "queue:support"
        assert left["wait_s"] == pytest.approx(0, abs=0.5)
        assert bed.service.router.waiting("support")[0].call_id == second.call_id
        assert [c.call_id for c in bed.service.router.waiting("sales")] == [first.call_id]


async def test_overflow_to_voicemail_records_a_message() -> None:
    queues = {"sales": queue(max_wait_s=0.2, overflow="voicemail:100")}
    async with AcdBed(queues, [agent("a1")]) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        call, caller, task = bed.enter("sales")
        assert await asyncio.wait_for(task, 3) == "voicemail"
        assert caller.actions[-2:] == [
            ("play", tuple(VOICEMAIL_INTRO)),
            ("record", f"ccapp/voicemail/100/{call.call_id}"),
        ]
        [left] = bed.events(call, K.QUEUE_LEFT)
        assert (left["reason"], left["target"]) == ("overflow", "voicemail:100")


async def test_without_an_overflow_target_max_wait_returns_max_wait() -> None:
    async with AcdBed({"sales": queue(max_wait_s=0.2)}, [agent("a1")]) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        call, caller, task = bed.enter("sales")
        assert await asyncio.wait_for(task, 3) == "max_wait"
        [left] = bed.events(call, K.QUEUE_LEFT)
        assert (left["reason"], left["target"]) == ("max_wait", None)
        assert not caller.gone and caller.channel_id not in bed.tel.moh_on
        assert len(bed.service.router) == 0


async def test_a_queue_nobody_is_logged_in_to_does_not_hold_the_caller() -> None:
    async with AcdBed({"sales": queue(empty_prompts=["all-busy"])}, [agent("a1")]) as bed:
        call, caller, task = bed.enter("sales")
        assert await asyncio.wait_for(task, 3) == "no_agents"
        assert caller.played[-1] == ("all-busy",)
        assert [e["reason"] for e in bed.events(call, K.QUEUE_LEFT)] == ["no_agents"]


# ------------------------------------------------------------------------------------------ callbacks


async def test_the_callback_key_books_a_callback_and_keeps_the_call_in_line() -> None:
    settings = AcdSettings(callback_dial=CALLBACK_DIAL)
    scripts = {"PJSIP/+15550123@trunk": Script(talk_s=0.1)}
    async with AcdBed(
        {"sales": queue(callback_key="5")}, [agent("a1")], settings=settings, scripts=scripts
    ) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        call, caller, task = bed.enter("sales")
        await eventually(lambda: ("collect", ()) in caller.actions)
        caller.press("5")
        assert await asyncio.wait_for(task, 3) == "callback"
        assert bed.events(call, K.CALLBACK_REQUESTED) == [
            {"queue": "sales", "entry": 1, "number": "+15550123"}
        ]
        assert caller.played[-1] == tuple(CALLBACK_CONFIRM)
        [left] = bed.events(call, K.QUEUE_LEFT)
        assert (left["reason"], left["target"]) == ("callback", "callback")
        assert bed.service.router.position(call.call_id) == 1  # still in line
        assert call.call_id in bed.service.callbacks

        await bed.service.set_ready("a1")
        await eventually(lambda: bed.events(call, K.AGENT_DISCONNECTED), what="callback talk")
        assert [d.endpoint for d in bed.tel.dials] == ["PJSIP/a1", "PJSIP/+15550123@trunk"]
        agent_leg, customer_leg = (d.leg_id for d in bed.tel.dials)
        [dialled] = bed.events(call, K.CALLBACK_DIALLED)
        assert (
            dialled["answered"] is True and dialled["agent_id"] == "a1" and dialled["leg_id"] == customer_leg
        )
        [connected] = bed.events(call, K.AGENT_CONNECTED)
        assert connected["agent_id"] == "a1" and connected["leg_id"] == agent_leg
        assert ("bridge", connected["bridge_id"], (agent_leg, customer_leg)) in bed.tel.bridge_log
        assert bed.events(call, K.AGENT_DISCONNECTED)[0]["by"] == "caller"
        kinds = bed.kinds(call)
        assert kinds.index("agent.offered") < kinds.index("callback.dialled") < kinds.index("agent.connected")
        await eventually(lambda: call.call_id not in bed.service.callbacks)
        assert bed.state("a1") == "wrap_up"
        assert len(bed.service.router) == 0


async def test_a_callback_whose_agent_does_not_answer_stays_first_in_line() -> None:
    settings = AcdSettings(callback_dial=CALLBACK_DIAL)
    async with AcdBed(
        {"sales": queue(callback_key="5")}, [agent("a1")], settings=settings, scripts={"PJSIP/a1": NEVER}
    ) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        call, caller, task = bed.enter("sales")
        await eventually(lambda: ("collect", ()) in caller.actions)
        caller.press("5")
        assert await asyncio.wait_for(task, 3) == "callback"
        await bed.service.set_ready("a1")
        await eventually(lambda: bed.events(call, K.AGENT_NO_ANSWER))
        assert bed.agent_changes("a1")[-1] == ("ringing", "not_ready", "missed")
        assert bed.service.router.position(call.call_id) == 1
        assert len(bed.tel.dials) == 1  # the customer is not dialled before an agent answers


async def test_overflow_to_callback_keeps_the_place_in_line_and_calls_back() -> None:
    settings = AcdSettings(callback_dial=CALLBACK_DIAL)
    scripts = {"PJSIP/+15550123@trunk": Script(talk_s=0.1)}
    queues = {"sales": queue(max_wait_s=0.2, overflow="callback")}
    async with AcdBed(queues, [agent("a1")], settings=settings, scripts=scripts) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        call, caller, task = bed.enter("sales")
        assert await asyncio.wait_for(task, 3) == "callback"
        assert caller.played[-1] == tuple(CALLBACK_CONFIRM)
        assert [e["reason"] for e in bed.events(call, K.QUEUE_LEFT)] == ["callback"]
        assert len(bed.events(call, K.CALLBACK_REQUESTED)) == 1
        assert call.call_id in bed.service.callbacks
        assert bed.service.router.position(call.call_id) == 1

        await bed.service.set_ready("a1")
        await eventually(lambda: bed.events(call, K.AGENT_DISCONNECTED), what="callback talk")
        assert [d.endpoint for d in bed.tel.dials] == ["PJSIP/a1", "PJSIP/+15550123@trunk"]
        assert bed.events(call, K.CALLBACK_DIALLED)[0]["answered"] is True


async def test_a_callback_whose_agent_hangs_up_while_the_customer_rings_hangs_up_the_customer() -> None:
    settings = AcdSettings(callback_dial=CALLBACK_DIAL)
    scripts = {"PJSIP/+15550123@trunk": NEVER}
    async with AcdBed(
        {"sales": queue(callback_key="5")}, [agent("a1")], settings=settings, scripts=scripts
    ) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        call, caller, task = bed.enter("sales")
        await eventually(lambda: ("collect", ()) in caller.actions)
        caller.press("5")
        assert await asyncio.wait_for(task, 3) == "callback"
        await bed.service.set_ready("a1")
        await eventually(lambda: len(bed.tel.dials) == 2)
        agent_leg, customer_leg = (bed.tel.legs[d.leg_id] for d in bed.tel.dials)
        agent_leg.remote_hangup()
        customer_leg.answer()
        await eventually(lambda: bed.state("a1") == "wrap_up")
        await eventually(lambda: customer_leg.ended, what="the customer hung up")
        await eventually(lambda: call.call_id not in bed.service.callbacks)


async def test_a_callback_to_a_number_that_cannot_be_dialled_hangs_up_the_agent() -> None:
    settings = AcdSettings(callback_dial=CALLBACK_DIAL)
    async with AcdBed({"sales": queue(callback_key="5")}, [agent("a1")], settings=settings) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        call, caller, task = bed.enter("sales", number="anonymous")
        await eventually(lambda: ("collect", ()) in caller.actions)
        caller.press("5")
        assert await asyncio.wait_for(task, 3) == "callback"
        await bed.service.set_ready("a1")
        await eventually(lambda: call.call_id not in bed.service.callbacks)
        assert [d.endpoint for d in bed.tel.dials] == ["PJSIP/a1"]
        assert bed.tel.legs_to("PJSIP/a1")[0].ended
        assert bed.state("a1") == "wrap_up"


# ------------------------------------------------------------------------------------------ announcements


async def test_position_and_expected_wait_are_announced_on_entry_and_every_announce_every_s() -> None:
    async with AcdBed({"sales": queue(announce_every_s=0.3)}, [agent("a1")]) as bed:
        await bed.login("a1")
        bed.enter("sales")  # takes the only agent
        await eventually(lambda: bed.state("a1") == "on_call")
        call, caller, _ = bed.enter("sales")
        await eventually(lambda: len(bed.events(call, K.QUEUE_ANNOUNCED)) >= 2, what="two announcements")

        [entered] = bed.events(call, K.QUEUE_ENTERED)
        assert (entered["position"], entered["expected_wait_s"]) == (1, 180.0)
        first, second = bed.events(call, K.QUEUE_ANNOUNCED)[:2]
        assert first == {"queue": "sales", "entry": 1, "position": 1, "expected_wait_s": 180.0}
        assert second["position"] == 1
        announcement = ("queue-youarenext", "queue-holdtime", "number:3", "queue-minutes")
        assert caller.played[:2] == [announcement, announcement]
        times = [
            e.at for e in bed.journal.events if e.call_id == call.call_id and e.kind is K.QUEUE_ANNOUNCED
        ]
        assert 0.29 <= (times[1] - times[0]).total_seconds() < 1.0
        # hold music stops for each announcement and comes back after it
        moh = [op for op, channel, _ in bed.tel.moh if channel == caller.channel_id]
        assert moh[:5] == ["start", "stop", "start", "stop", "start"]
        assert caller.channel_id in bed.tel.moh_on


async def test_the_position_announced_counts_the_calls_ahead() -> None:
    async with AcdBed({"sales": queue()}, [agent("a1")]) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        for _ in range(2):
            ahead, _, _ = bed.enter("sales")
            await eventually(lambda c=ahead: bed.events(c, K.QUEUE_ANNOUNCED))  # type: ignore[misc]
        call, caller, _ = bed.enter("sales")
        await eventually(lambda: bed.events(call, K.QUEUE_ANNOUNCED))
        assert bed.events(call, K.QUEUE_ANNOUNCED)[0]["position"] == 3
        assert caller.played[0] == ("queue-thereare", "number:2", "queue-callswaiting")


# ------------------------------------------------------------------------------------------ recording


async def test_recording_policy_all_records_from_connect_to_the_callers_hang_up_with_pauses() -> None:
    queues = {"sales": queue(recording="all", consent_prompt="custom/consent")}
    async with AcdBed(queues, [agent("a1")]) as bed:
        await bed.login("a1")
        call, caller, task = bed.enter("sales")
        await eventually(lambda: bed.events(call, K.RECORDING_STARTED))
        assert ("custom/consent",) in caller.played
        channel = call.legs[caller.channel_id].channel
        assert bed.recorder.actions == [("start", channel, f"ccapp/{call.call_id}")]
        [started] = bed.events(call, K.RECORDING_STARTED)
        assert started == {
            "recording_id": call.call_id,
            "name": f"ccapp/{call.call_id}",
            "queue": "sales",
            "agent_id": "a1",
            "policy": "all",
        }
        await bed.service.pause_recording(call.call_id, reason="card")
        with pytest.raises(NotPermitted):
            await bed.service.pause_recording(call.call_id, reason="card")
        await asyncio.sleep(0.1)
        await bed.service.resume_recording(call.call_id, reason="card")
        assert bed.recorder.actions[1:] == [("mute", channel, True), ("mute", channel, False)]
        assert [e["reason"] for e in bed.events(call, K.RECORDING_PAUSED)] == ["card"]
        assert [e["reason"] for e in bed.events(call, K.RECORDING_RESUMED)] == ["card"]

        caller.hang_up()
        with pytest.raises(CallGone):
            await asyncio.wait_for(task, 3)
        await bed.recordings.channel_ended(caller.channel_id)
        [stopped] = bed.events(call, K.RECORDING_STOPPED)
        [[start, end]] = stopped["paused_spans"]
        assert 0.09 <= end - start < 1.0
        assert stopped["paused_s"] == pytest.approx(end - start, abs=0.002)
        assert stopped["duration_s"] >= stopped["paused_s"]
        assert not bed.recordings.active(call.call_id)
        with pytest.raises(UnknownCall):
            await bed.service.pause_recording(call.call_id, reason="card")


async def test_an_on_demand_queue_records_only_when_asked_with_the_notice_played_to_both_sides() -> None:
    queues = {
        "sales": queue(recording="on_demand", consent_prompt="custom/consent"),
        "quiet": queue(recording="none"),
    }
    async with AcdBed(queues, [agent("a1"), agent("a2", "quiet")]) as bed:
        await bed.login("a1")
        await bed.login("a2")
        call, caller, _ = bed.enter("sales")
        await eventually(lambda: bed.events(call, K.AGENT_CONNECTED))
        assert not bed.recordings.active(call.call_id)
        assert ("custom/consent",) not in caller.played
        await bed.service.start_recording(call.call_id, reason="api:a1")
        [started] = bed.events(call, K.RECORDING_STARTED)
        assert (started["policy"], started["requested_by"]) == ("on_demand", "api:a1")
        assert ("play", started_bridge(bed, call), "custom/consent") in bed.tel.bridge_log
        with pytest.raises(NotPermitted):
            await bed.service.start_recording(call.call_id, reason="api:a1")
        quiet, _, _ = bed.enter("quiet")
        await eventually(lambda: bed.events(quiet, K.AGENT_CONNECTED))
        with pytest.raises(NotPermitted):
            await bed.service.start_recording(quiet.call_id, reason="api:a2")


def started_bridge(bed: AcdBed, call: Any) -> str:
    return str(bed.events(call, K.AGENT_CONNECTED)[0]["bridge_id"])


async def test_the_ivr_gate_pauses_ccapps_recording_when_there_is_one_else_the_fallback() -> None:
    async with AcdBed(
        {"sales": queue(recording="all"), "plain": queue()}, [agent("a1", "sales", "plain")]
    ) as bed:
        await bed.login("a1")
        call, caller, _ = bed.enter("sales")
        await eventually(lambda: bed.recordings.active(call.call_id))
        fallback = FakeGate()
        gate = bed.recordings.gate(call.call_id, fallback)
        await gate.pause("ivr_sensitive")
        await gate.pause("ivr_sensitive")  # already paused: no error, no second mute
        await gate.resume("ivr_sensitive")
        channel = call.legs[caller.channel_id].channel
        assert bed.recorder.actions[1:] == [("mute", channel, True), ("mute", channel, False)]
        assert fallback.actions == []

        other = bed.recordings.gate("not-recorded", fallback)
        await other.pause("ivr_sensitive")
        await other.resume("ivr_sensitive")
        assert fallback.actions == [("pause", "ivr_sensitive"), ("resume", "ivr_sensitive")]


async def test_a_queue_without_recording_policy_records_nothing() -> None:
    async with AcdBed({"sales": queue()}, [agent("a1")]) as bed:
        await bed.login("a1")
        call, _, _ = bed.enter("sales")
        await eventually(lambda: bed.events(call, K.AGENT_CONNECTED))
        assert bed.recorder.actions == []
        assert not bed.recordings.active(call.call_id)
