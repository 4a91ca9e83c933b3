"""Transfers and supervision of connected ACD calls through `AcdCommands`, on in-memory fakes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ccapp.acd.commands import TransferView
from ccapp.acd.errors import NotPermitted, UnknownCall
from ccapp.acd.fakes import NEVER, AcdBed, Script, eventually
from ccapp.acd.model import Agent
from ccapp.calls.call import Call
from ccapp.calls.model import EventKind as K
from ccapp.config.settings import AcdSettings, QueueSettings
from ccapp.errors import CallGone

SETTINGS = AcdSettings(callback_dial="PJSIP/{number}@trunk", escalation={"billing": "queue:billing"})


def queue(**kw: Any) -> QueueSettings:
    values: dict[str, Any] = {"ring_timeout_s": 0.3, "wrap_up_s": 0.2, "announce_every_s": None}
    values.update(kw)
    return QueueSettings(**values)


def agent(agent_id: str, *queues: str) -> Agent:
    return Agent(agent_id, agent_id.upper(), f"PJSIP/{agent_id}", queues=frozenset(queues or ("sales",)))


QUEUES = {"sales": queue(), "billing": queue(), "support": queue()}


async def connected_to_a1(
    bed: AcdBed, variables: dict[str, str] | None = None
) -> tuple[Call, Any, asyncio.Task[str], str]:
    """A call in sales connected to agent a1 (logged in first); returns it with a1's leg id."""
    await bed.login("a1")
    call, caller, task = bed.enter("sales", variables=variables)
    await eventually(lambda: bed.events(call, K.AGENT_CONNECTED))
    return call, caller, task, bed.events(call, K.AGENT_CONNECTED)[0]["leg_id"]


def transfers(bed: AcdBed, call: Call) -> list[dict[str, Any]]:
    return bed.events(call, K.TRANSFER)


# ------------------------------------------------------------------------------------------ blind


async def test_blind_transfer_to_a_queue_puts_the_agent_in_wrap_up_and_the_call_in_the_other_queue() -> None:
    async with AcdBed(QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS) as bed:
        call, caller, _, a1_leg = await connected_to_a1(bed)
        await bed.service.login("a2", ready=False, reason="break")
        view = await bed.service.transfer(call.call_id, kind="blind", target="queue:support", by="a1")
        assert view == TransferView(call.call_id, "blind", "queue:support", "completed")
        assert bed.state("a1") == "wrap_up"
        assert bed.tel.legs[a1_leg].ended
        await eventually(lambda: bed.service.router.position(call.call_id) == 1)
        assert bed.service.router.waiting("support")[0].call_id == call.call_id

        await bed.service.set_ready("a2")
        await eventually(lambda: bed.state("a2") == "on_call")
        assert [(e["queue"], e["entry"]) for e in bed.events(call, K.QUEUE_ENTERED)] == [
            ("sales", 1),
            ("support", 2),
        ]
        [gone, *_] = bed.events(call, K.AGENT_DISCONNECTED)
        assert (gone["agent_id"], gone["by"]) == ("a1", "transfer")
        assert transfers(bed, call) == [
            {
                "kind": "blind",
                "by_agent": "a1",
                "target_type": "queue",
                "target": "support",
                "topic": None,
                "expected": None,
                "correct": None,
                "outcome": "completed",
            }
        ]
        second = bed.events(call, K.AGENT_CONNECTED)[1]
        assert (second["agent_id"], second["entry"]) == ("a2", 2)
        assert bed.tel.bridged_with(caller.channel_id) == {second["leg_id"]}


async def test_blind_transfer_to_an_unknown_queue_changes_nothing() -> None:
    async with AcdBed(QUEUES, [agent("a1")], settings=SETTINGS) as bed:
        call, caller, _, a1_leg = await connected_to_a1(bed)
        with pytest.raises(NotPermitted):
            await bed.service.transfer(call.call_id, kind="blind", target="queue:nowhere", by="a1")
        assert bed.state("a1") == "on_call"
        assert bed.tel.bridged_with(caller.channel_id) == {a1_leg}
        assert transfers(bed, call) == []


async def test_blind_transfer_to_a_ready_agent_rings_that_agent_and_connects_the_caller() -> None:
    async with AcdBed(QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS) as bed:
        call, caller, _, _ = await connected_to_a1(bed)
        await bed.login("a2")
        view = await bed.service.transfer(call.call_id, kind="blind", target="agent:a2", by="a1")
        assert view.state == "completed"
        await eventually(lambda: bed.state("a2") == "on_call", what="a2 connected")
        assert bed.state("a1") == "wrap_up"
        a2_leg = bed.tel.legs_to("PJSIP/a2")[0].leg_id
        assert bed.tel.bridged_with(caller.channel_id) == {a2_leg}
        [t] = transfers(bed, call)
        assert (t["target_type"], t["target"], t["outcome"]) == ("agent", "a2", "completed")
        assert [e["agent_id"] for e in bed.events(call, K.AGENT_CONNECTED)] == ["a1", "a2"]


async def test_blind_transfer_to_an_agent_who_is_not_ready_is_refused() -> None:
    async with AcdBed(QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS) as bed:
        call, _, _, _ = await connected_to_a1(bed)
        await bed.service.login("a2", ready=False, reason="break")
        with pytest.raises(NotPermitted):
            await bed.service.transfer(call.call_id, kind="blind", target="agent:a2", by="a1")
        assert (bed.state("a1"), bed.state("a2")) == ("on_call", "not_ready")


async def test_blind_transfer_to_a_number_bridges_the_caller_with_the_number() -> None:
    async with AcdBed(
        QUEUES, [agent("a1")], settings=SETTINGS, scripts={"PJSIP/+15550199@trunk": Script()}
    ) as bed:
        call, caller, task, _ = await connected_to_a1(bed)
        view = await bed.service.transfer(call.call_id, kind="blind", target="number:+15550199", by="a1")
        assert view == TransferView(call.call_id, "blind", "number:+15550199", "completed")
        number_leg = bed.tel.legs_to("PJSIP/+15550199@trunk")[0]
        await eventually(lambda: bed.tel.bridged_with(caller.channel_id) == {number_leg.leg_id})
        assert bed.state("a1") == "wrap_up"
        [t] = transfers(bed, call)
        assert (t["target_type"], t["target"], t["outcome"]) == ("number", "+15550199", "completed")

        number_leg.remote_hangup()
        assert await asyncio.wait_for(task, 3) == "answered"


# ------------------------------------------------------------------------------------------ attended


async def consulting_a2(bed: AcdBed) -> tuple[Call, Any, asyncio.Task[str], str]:
    call, caller, task, a1_leg = await connected_to_a1(bed)
    await bed.login("a2")
    view = await bed.service.transfer(call.call_id, kind="attended", target="agent:a2", by="a1")
    assert view == TransferView(call.call_id, "attended", "agent:a2", "consulting")
    await eventually(lambda: bed.state("a2") == "on_call", what="a2 answered the consultation")
    return call, caller, task, a1_leg


async def test_attended_transfer_to_an_agent_then_complete_bridges_the_caller_with_the_second_agent() -> None:
    async with AcdBed(QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS) as bed:
        call, caller, task, a1_leg = await consulting_a2(bed)
        a2_leg = bed.tel.legs_to("PJSIP/a2")[0].leg_id
        # while consulting, the caller holds alone with music and the agents talk
        assert bed.tel.bridged_with(a1_leg) == {a2_leg}
        assert bed.tel.bridged_with(caller.channel_id) == set()
        assert caller.channel_id in bed.tel.moh_on

        view = await bed.service.complete_transfer(call.call_id)
        assert view == TransferView(call.call_id, "attended", "agent:a2", "completed")
        assert bed.tel.bridged_with(caller.channel_id) == {a2_leg}
        assert caller.channel_id not in bed.tel.moh_on
        assert bed.tel.legs[a1_leg].ended
        assert (bed.state("a1"), bed.state("a2")) == ("wrap_up", "on_call")
        [t] = transfers(bed, call)
        assert (t["kind"], t["by_agent"], t["target_type"], t["target"], t["outcome"]) == (
            "attended",
            "a1",
            "agent",
            "a2",
            "completed",
        )
        caller.hang_up()
        with pytest.raises(CallGone):
            await asyncio.wait_for(task, 3)
        assert [(e["agent_id"], e["by"]) for e in bed.events(call, K.AGENT_DISCONNECTED)] == [
            ("a1", "transfer"),
            ("a2", "caller"),
        ]
        assert bed.state("a2") == "wrap_up"


async def test_attended_transfer_then_cancel_puts_the_caller_back_with_the_first_agent() -> None:
    async with AcdBed(QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS) as bed:
        call, caller, _, a1_leg = await consulting_a2(bed)
        view = await bed.service.cancel_transfer(call.call_id)
        assert view == TransferView(call.call_id, "attended", "agent:a2", "cancelled")
        assert bed.tel.bridged_with(caller.channel_id) == {a1_leg}
        assert caller.channel_id not in bed.tel.moh_on
        assert bed.tel.legs_to("PJSIP/a2")[0].ended
        assert (bed.state("a1"), bed.state("a2")) == ("on_call", "wrap_up")
        [t] = transfers(bed, call)
        assert (t["kind"], t["outcome"]) == ("attended", "cancelled")
        with pytest.raises(NotPermitted):
            await bed.service.cancel_transfer(call.call_id)


async def test_an_attended_transfer_nobody_answers_fails_and_the_caller_is_back_with_the_agent() -> None:
    async with AcdBed(
        QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS, scripts={"PJSIP/a2": NEVER}
    ) as bed:
        call, caller, _, a1_leg = await connected_to_a1(bed)
        await bed.login("a2")
        await bed.service.transfer(call.call_id, kind="attended", target="agent:a2", by="a1")
        await eventually(lambda: transfers(bed, call), what="consultation timeout")
        assert transfers(bed, call)[0]["outcome"] == "failed"
        assert bed.tel.bridged_with(caller.channel_id) == {a1_leg}
        assert bed.agent_changes("a2")[-1] == ("ringing", "not_ready", "missed")
        assert bed.state("a1") == "on_call"


async def test_complete_before_the_target_answered_is_refused() -> None:
    async with AcdBed(
        QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS, scripts={"PJSIP/a2": NEVER}
    ) as bed:
        call, _, _, _ = await connected_to_a1(bed)
        with pytest.raises(NotPermitted):
            await bed.service.complete_transfer(call.call_id)
        await bed.login("a2")
        await bed.service.transfer(call.call_id, kind="attended", target="agent:a2", by="a1")
        with pytest.raises(NotPermitted):
            await bed.service.complete_transfer(call.call_id)
        with pytest.raises(NotPermitted):
            await bed.service.transfer(call.call_id, kind="attended", target="agent:a2", by="a1")


# ------------------------------------------------------------------------------------------ journal, errors


async def test_a_transfer_journals_the_topic_and_the_escalation_rules_expected_target() -> None:
    async with AcdBed(QUEUES, [agent("a1")], settings=SETTINGS) as bed:
        call, _, _, _ = await connected_to_a1(bed, variables={"topic": "billing"})
        await bed.service.transfer(call.call_id, kind="blind", target="queue:billing", by="a1")
        [t] = transfers(bed, call)
        assert (t["topic"], t["expected"], t["target_type"], t["target"]) == (
            "billing",
            "queue:billing",
            "queue",
            "billing",
        )
        assert t["correct"] is True  # a correct escalation


async def test_a_transfer_to_the_wrong_target_still_journals_what_was_expected() -> None:
    async with AcdBed(QUEUES, [agent("a1")], settings=SETTINGS) as bed:
        call, _, _, _ = await connected_to_a1(bed, variables={"topic": "billing"})
        await bed.service.transfer(call.call_id, kind="blind", target="queue:support", by="a1")
        [t] = transfers(bed, call)
        assert t["expected"] == "queue:billing"
        assert t["correct"] is False


async def test_transferring_a_call_that_is_not_connected_is_not_permitted() -> None:
    async with AcdBed(QUEUES, [agent("a1")], settings=SETTINGS) as bed:
        await bed.service.login("a1", ready=False, reason="break")
        call, _, _ = bed.enter("sales")
        await eventually(lambda: bed.events(call, K.QUEUE_ENTERED))
        with pytest.raises(NotPermitted):
            await bed.service.transfer(call.call_id, kind="blind", target="queue:support", by="a1")
        with pytest.raises(NotPermitted):
            await bed.service.transfer(call.call_id, kind="sideways", target="queue:support", by="a1")
        with pytest.raises(UnknownCall):
            await bed.service.transfer("no-such-call", kind="blind", target="queue:support", by="a1")
        assert transfers(bed, call) == []
        assert bed.service.router.position(call.call_id) == 1


# ------------------------------------------------------------------------------------------ supervision


async def test_a_supervisor_listens_through_a_snoop_on_the_agents_channel() -> None:
    async with AcdBed(QUEUES, [agent("a1")], settings=SETTINGS) as bed:
        call, caller, _, a1_leg = await connected_to_a1(bed)
        leg_id = await bed.service.supervise(
            call.call_id, mode="listen", endpoint="PJSIP/sup", supervisor="s1"
        )
        [(snoop, channel, spy, whisper)] = bed.tel.snoops
        assert (channel, spy, whisper) == (a1_leg, "both", "none")
        assert bed.tel.bridges[f"ccapp-sv-{leg_id}"] == {snoop, leg_id}
        assert bed.tel.bridged_with(caller.channel_id) == {a1_leg}
        assert bed.events(call, K.SUPERVISOR) == [
            {"mode": "listen", "supervisor": "s1", "agent_id": "a1", "leg_id": leg_id}
        ]


async def test_a_supervisor_barging_in_joins_the_call_bridge() -> None:
    async with AcdBed(QUEUES, [agent("a1")], settings=SETTINGS) as bed:
        call, caller, _, a1_leg = await connected_to_a1(bed)
        leg_id = await bed.service.supervise(
            call.call_id, mode="barge", endpoint="PJSIP/sup", supervisor="s1"
        )
        assert bed.tel.bridged_with(caller.channel_id) == {a1_leg, leg_id}
        with pytest.raises(NotPermitted):
            await bed.service.supervise(call.call_id, mode="shout", endpoint="PJSIP/sup", supervisor="s1")


async def test_blind_transfer_to_an_agent_who_does_not_answer_gives_the_call_back_to_the_ivr() -> None:
    scripts = {"PJSIP/a2": NEVER}
    async with AcdBed(
        QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS, scripts=scripts
    ) as bed:
        call, caller, task, _ = await connected_to_a1(bed)
        await bed.login("a2")
        await bed.service.transfer(call.call_id, kind="blind", target="agent:a2", by="a1")
        assert await asyncio.wait_for(task, 3) == "transfer_failed"
        assert bed.agent_changes("a2")[-1] == ("ringing", "not_ready", "missed")
        assert bed.tel.legs_to("PJSIP/a2")[0].ended
        assert not caller.gone and caller.channel_id not in bed.tel.moh_on
        assert [e["agent_id"] for e in bed.events(call, K.AGENT_NO_ANSWER)] == ["a2"]


async def test_the_agent_hanging_up_while_the_consultation_rings_gives_the_caller_back_without_music() -> (
    None
):
    scripts = {"PJSIP/a2": NEVER}
    async with AcdBed(
        QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS, scripts=scripts
    ) as bed:
        call, caller, task, a1_leg = await connected_to_a1(bed)
        await bed.login("a2")
        await bed.service.transfer(call.call_id, kind="attended", target="agent:a2", by="a1")
        assert caller.channel_id in bed.tel.moh_on
        bed.tel.legs[a1_leg].remote_hangup()
        assert await asyncio.wait_for(task, 3) == "answered"
        assert bed.tel.legs_to("PJSIP/a2")[0].ended
        assert (bed.state("a1"), bed.state("a2")) == ("wrap_up", "ready")
        assert caller.channel_id not in bed.tel.moh_on


async def test_a_blind_transfer_during_a_consultation_is_refused() -> None:
    async with AcdBed(QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS) as bed:
        call, caller, _, a1_leg = await consulting_a2(bed)
        with pytest.raises(NotPermitted):
            await bed.service.transfer(call.call_id, kind="blind", target="queue:support", by="a1")
        assert (bed.state("a1"), bed.state("a2")) == ("on_call", "on_call")
        assert not bed.tel.legs[a1_leg].ended
        await bed.service.complete_transfer(call.call_id)
        assert bed.tel.bridged_with(caller.channel_id) == {bed.tel.legs_to("PJSIP/a2")[0].leg_id}


async def test_cancelling_the_callers_task_right_after_a_transfer_ends_the_session() -> None:
    async with AcdBed(QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS) as bed:
        call, _, task, _ = await connected_to_a1(bed)
        await bed.service.login("a2", ready=False, reason="break")
        await bed.service.transfer(call.call_id, kind="blind", target="queue:support", by="a1")
        task.cancel()  # shutdown: the call service cancels the caller's task
        done, _ = await asyncio.wait({task}, timeout=2)
        assert done and task.cancelled()
        assert call.call_id not in bed.service.sessions


async def test_the_consulted_agent_hanging_up_puts_the_caller_back_with_the_first_agent_at_once() -> None:
    async with AcdBed(QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS) as bed:
        call, caller, task, a1_leg = await consulting_a2(bed)
        bed.tel.legs_to("PJSIP/a2")[0].remote_hangup()
        # nobody calls complete or cancel: the hang-up itself ends the consultation
        await eventually(lambda: bed.tel.bridged_with(caller.channel_id) == {a1_leg}, what="caller back")
        assert caller.channel_id not in bed.tel.moh_on
        assert (bed.state("a1"), bed.state("a2")) == ("on_call", "wrap_up")
        assert [t["outcome"] for t in transfers(bed, call)] == ["failed"]
        assert not task.done()


async def test_completing_a_transfer_whose_target_hung_up_gives_the_caller_back_to_the_agent() -> None:
    async with AcdBed(QUEUES, [agent("a1"), agent("a2", "support")], settings=SETTINGS) as bed:
        call, caller, task, a1_leg = await consulting_a2(bed)
        bed.tel.legs_to("PJSIP/a2")[0].remote_hangup()
        with pytest.raises(NotPermitted):
            await asyncio.wait_for(bed.service.complete_transfer(call.call_id), 2)
        assert not task.done()
        assert bed.tel.bridged_with(caller.channel_id) == {a1_leg}
        assert caller.channel_id not in bed.tel.moh_on
        assert (bed.state("a1"), bed.state("a2")) == ("on_call", "wrap_up")
        assert [t["outcome"] for t in transfers(bed, call)] == ["failed"]
        # the consulted agent's talk is journaled; the first agent is still on the call
        assert [(e["agent_id"], e["by"]) for e in bed.events(call, K.AGENT_DISCONNECTED)] == [
            ("a2", "consultation")
        ]
