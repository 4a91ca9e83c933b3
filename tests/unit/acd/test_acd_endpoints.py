"""The ACD follows whether each agent's phone is reachable (`AcdService.endpoint_state`)."""

from __future__ import annotations

from typing import Any

from ccapp.acd.fakes import AcdBed, eventually
from ccapp.acd.model import Agent, AgentState
from ccapp.config.settings import QueueSettings

QUEUES = {"sales": QueueSettings(ring_timeout_s=0.3, wrap_up_s=0.2, announce_every_s=None)}


def agent(agent_id: str, endpoint: str | None = None) -> Agent:
    return Agent(agent_id, agent_id.upper(), endpoint or f"PJSIP/{agent_id}", queues=frozenset({"sales"}))


def bed(*agents: Agent, **kw: Any) -> AcdBed:
    return AcdBed(QUEUES, list(agents), **kw)


async def test_a_ready_agent_whose_phone_goes_offline_is_not_ready_unreachable_then_ready_again() -> None:
    async with bed(agent("a1"), agent("a2")) as b:
        await b.login("a1", "a2")
        b.service.endpoint_state("PJSIP/a1", False)
        a1 = b.service.desk.get("a1")
        assert (a1.state, a1.not_ready_reason) == (AgentState.NOT_READY, "unreachable")
        assert b.state("a2") == "ready"

        b.service.endpoint_state("PJSIP/a1", True)
        assert b.state("a1") == "ready"
        assert b.agent_changes("a1") == [
            ("logged_out", "ready", None),
            ("ready", "not_ready", "unreachable"),
            ("not_ready", "ready", None),
        ]


async def test_repeated_reports_of_the_same_state_change_nothing() -> None:
    async with bed(agent("a1")) as b:
        await b.login("a1")
        b.service.endpoint_state("PJSIP/a1", True)
        b.service.endpoint_state("PJSIP/a1", False)
        b.service.endpoint_state("PJSIP/a1", False)
        b.service.endpoint_state("PJSIP/a1", True)
        b.service.endpoint_state("PJSIP/a1", True)
        assert [to for _, to, _ in b.agent_changes("a1")] == ["ready", "not_ready", "ready"]


async def test_an_agent_who_logs_in_while_the_phone_is_offline_is_ready_once_it_registers() -> None:
    async with bed(agent("a1"), agent("a2")) as b:
        b.service.endpoint_state("PJSIP/a1", False)
        b.service.endpoint_state("PJSIP/a2", False)
        b.service.endpoint_state("PJSIP/a2", True)
        view = await b.service.login("a1")
        assert (view.state, view.reason) == ("not_ready", "unreachable")
        assert (await b.service.login("a2")).state == "ready"

        b.service.endpoint_state("PJSIP/a1", True)
        assert b.state("a1") == "ready"


async def test_an_agent_on_a_break_stays_on_the_break_whatever_the_phone_does() -> None:
    async with bed(agent("a1")) as b:
        await b.login("a1")
        await b.service.set_not_ready("a1", "break")
        b.service.endpoint_state("PJSIP/a1", False)
        b.service.endpoint_state("PJSIP/a1", True)
        a1 = b.service.desk.get("a1")
        assert (a1.state, a1.not_ready_reason) == (AgentState.NOT_READY, "break")


async def test_logged_out_and_busy_agents_are_left_alone() -> None:
    async with bed(agent("out"), agent("busy")) as b:
        await b.login("busy")
        desk = b.service.desk
        busy = desk.get("busy")
        desk.change(busy, AgentState.RESERVED, call_id="c1", queue="sales")
        desk.change(busy, AgentState.RINGING)
        desk.change(busy, AgentState.ON_CALL)
        for online in (False, True):
            b.service.endpoint_state("PJSIP/out", online)
            b.service.endpoint_state("PJSIP/busy", online)
        assert b.state("out") == "logged_out"
        assert b.state("busy") == "on_call"
        assert b.service.agent_call("busy") == "c1"


async def test_every_agent_on_the_endpoint_follows_it_and_the_technology_is_matched_in_any_case() -> None:
    async with bed(agent("a1", "PJSIP/desk7"), agent("a2", "pjsip/desk7"), agent("a3")) as b:
        await b.login("a1", "a2", "a3")
        b.service.endpoint_state("PJSIP/desk7", False)
        assert [b.state(a) for a in ("a1", "a2", "a3")] == ["not_ready", "not_ready", "ready"]


async def test_only_plain_pjsip_endpoints_are_tracked() -> None:
    agents = [
        agent("a1"),
        agent("a2", "Local/1002@agents"),
        agent("a3", "PJSIP/trunk/sip:+15550100@carrier"),
        agent("a4", "SIP/old"),
        agent("a5", "PJSIP/a1"),
    ]
    async with bed(*agents) as b:
        assert b.service.agent_endpoints() == {"PJSIP/a1"}
        await b.login("a2")
        b.service.endpoint_state("Local/1002@agents", False)
        assert b.state("a2") == "ready"


async def test_a_waiting_call_goes_to_the_agent_as_soon_as_the_phone_is_back() -> None:
    async with bed(agent("a1")) as b:
        await b.login("a1")
        b.service.endpoint_state("PJSIP/a1", False)
        call, _, _ = b.enter("sales")
        await eventually(lambda: b.service.router.waiting("sales"), what="the call waits")
        assert b.tel.dials == []

        b.service.endpoint_state("PJSIP/a1", True)
        await eventually(lambda: b.state("a1") == "on_call", within_s=0.5, what="a1 takes the call")
        assert [d.endpoint for d in b.tel.dials] == ["PJSIP/a1"]
        assert b.service.agent_call("a1") == call.call_id
