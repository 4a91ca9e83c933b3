"""`AgentDesk`, the agents' state choke point with its journal and wrap-up timers, and the agent
commands of `AcdService` (login, not ready, logout, reconcile)."""

from __future__ import annotations

import asyncio

import pytest

from ccapp.acd.desk import AgentDesk
from ccapp.acd.errors import InvalidTransition, NotPermitted, UnknownAgent, UnknownCall
from ccapp.acd.fakes import NEVER, AcdBed, eventually
from ccapp.acd.model import Agent, AgentState, QueueConfig
from ccapp.acd.router import Router
from ccapp.acd.states import StateChange
from ccapp.calls.fakes import MemoryJournal
from ccapp.calls.model import EventKind, is_agent_stream
from ccapp.clock import FakeClock
from ccapp.config.settings import QueueSettings
from ccapp.errors import CallGone

S = AgentState


def agent(agent_id: str = "a1") -> Agent:
    return Agent(
        agent_id, agent_id.upper(), f"PJSIP/{agent_id}", skills={"sales": 3}, queues=frozenset({"sales"})
    )


def desk() -> tuple[AgentDesk, MemoryJournal, FakeClock]:
    journal = MemoryJournal()
    clock = FakeClock()
    return AgentDesk(Router([QueueConfig("sales")]), journal, clock), journal, clock


def queue() -> QueueSettings:
    return QueueSettings(ring_timeout_s=0.3, wrap_up_s=0.2, announce_every_s=None)


# ------------------------------------------------------------------------------------------ AgentDesk


def test_every_change_journals_an_agent_state_event_on_the_agents_stream_with_increasing_seq() -> None:
    d, journal, clock = desk()
    alice = agent()
    d.put(alice)
    d.change(alice, S.READY)
    clock.advance(3)
    d.change(alice, S.RESERVED, call_id="c1", queue="sales")
    d.change(alice, S.RINGING)
    d.change(alice, S.ON_CALL)

    streams = {e.call_id for e in journal.events}
    assert len(streams) == 1
    [stream] = streams
    assert is_agent_stream(stream) and stream.startswith("agent:a1:")
    assert [e.seq for e in journal.events] == [1, 2, 3, 4]
    assert {e.kind for e in journal.events} == {EventKind.AGENT_STATE}
    assert [(e.data["from"], e.data["to"], e.data["call_id"], e.data["queue"]) for e in journal.events] == [
        ("logged_out", "ready", None, None),
        ("ready", "reserved", "c1", "sales"),
        ("reserved", "ringing", "c1", "sales"),
        ("ringing", "on_call", "c1", "sales"),
    ]
    assert journal.events[1].at == clock.now() == alice.state_since
    assert d.work("a1") == ("c1", "sales")


def test_each_agent_has_its_own_stream_and_numbering() -> None:
    d, journal, _ = desk()
    alice, bob = agent("a1"), agent("a2")
    d.put(alice)
    d.put(bob)
    d.change(alice, S.READY)
    d.change(bob, S.READY)
    d.change(alice, S.NOT_READY, "break")
    by_stream: dict[str, list[int]] = {}
    for e in journal.events:
        by_stream.setdefault(e.call_id, []).append(e.seq)
    assert sorted(by_stream.values()) == [[1], [1, 2]]


def test_going_ready_not_ready_or_logged_out_ends_the_agents_work() -> None:
    d, journal, _ = desk()
    alice = agent()
    d.put(alice)
    d.change(alice, S.READY)
    d.change(alice, S.RESERVED, call_id="c1", queue="sales")
    change = d.change(alice, S.READY)
    assert d.work("a1") is None
    assert change == StateChange("a1", S.RESERVED, S.READY, None, change.at)
    assert journal.events[-1].data["call_id"] == "c1"  # the event still names the call it left
    assert d.router.ready_count("sales") == 1


def test_an_illegal_change_raises_and_journals_nothing() -> None:
    d, journal, _ = desk()
    alice = agent()
    d.put(alice)
    with pytest.raises(InvalidTransition):
        d.change(alice, S.ON_CALL)
    assert journal.events == []
    assert alice.state is S.LOGGED_OUT


def test_subscribers_hear_every_change_and_a_failing_one_does_not_stop_the_others() -> None:
    d, _, _ = desk()
    heard: list[tuple[str, str]] = []

    def broken(change: StateChange, who: Agent) -> None:
        raise RuntimeError("boom")

    d.subscribers += [broken, lambda change, who: heard.append((who.agent_id, change.to_state.value))]
    alice = agent()
    d.put(alice)
    d.change(alice, S.READY)
    d.change(alice, S.NOT_READY, "break")
    assert heard == [("a1", "ready"), ("a1", "not_ready")]


def test_redefining_an_agent_keeps_its_state_and_counters() -> None:
    d, _, _ = desk()
    alice = agent()
    d.put(alice)
    d.change(alice, S.READY)
    alice.calls_today = 4
    renamed = Agent("a1", "Alice B", "PJSIP/2001", queues=frozenset({"sales"}))
    d.put(renamed)
    assert d.get("a1") is renamed
    assert (renamed.state, renamed.calls_today, renamed.endpoint) == (S.READY, 4, "PJSIP/2001")
    with pytest.raises(UnknownAgent):
        d.get("nobody")


async def test_wrap_up_ends_in_ready_after_its_time_and_calls_back() -> None:
    d, journal, _ = desk()
    alice = agent()
    d.put(alice)
    for to in (S.READY, S.RESERVED, S.RINGING, S.ON_CALL):
        d.change(alice, to, call_id="c1" if to is S.RESERVED else None, queue="sales")
    ready = asyncio.Event()
    d.start_wrap_up(alice, 0.05, ready.set)
    assert alice.state is S.WRAP_UP
    await asyncio.wait_for(ready.wait(), 1)
    assert d.get("a1").state is S.READY
    assert [e.data["to"] for e in journal.events][-2:] == ["wrap_up", "ready"]
    assert journal.events[-2].data["call_id"] == "c1"


async def test_another_change_during_wrap_up_cancels_its_timer() -> None:
    d, _, _ = desk()
    alice = agent()
    d.put(alice)
    for to in (S.READY, S.RESERVED, S.RINGING, S.ON_CALL):
        d.change(alice, to)
    called: list[bool] = []
    d.start_wrap_up(alice, 0.05, lambda: called.append(True))
    d.change(alice, S.NOT_READY, "break")
    await asyncio.sleep(0.1)
    assert alice.state is S.NOT_READY and called == []


async def test_the_end_of_a_wrap_up_reports_its_length_however_it_ends() -> None:
    d, _, clock = desk()
    alice, bob = agent("a1"), agent("a2")
    lengths: dict[str, float] = {}
    ready = asyncio.Event()
    for person in (alice, bob):
        d.put(person)
        for to in (S.READY, S.RESERVED, S.RINGING, S.ON_CALL):
            d.change(person, to, call_id="c1" if to is S.RESERVED else None, queue="sales")
        d.start_wrap_up(person, 0.01, ready.set, lambda s, who=person.agent_id: lengths.setdefault(who, s))
    clock.advance(7)
    d.change(bob, S.NOT_READY, "break")  # by hand, before its timer
    await asyncio.wait_for(ready.wait(), 1)  # alice's timer

    assert lengths == {"a1": 7.0, "a2": 7.0}


# ------------------------------------------------------------------------------------------ commands


async def test_login_not_ready_ready_and_logout_through_the_commands() -> None:
    async with AcdBed({"sales": queue()}, [agent()]) as bed:
        svc = bed.service
        view = await svc.login("a1", ready=False, reason="lunch")
        assert (view.state, view.reason, view.call_id) == ("not_ready", "lunch", None)
        with pytest.raises(NotPermitted):
            await svc.login("a1")
        assert (await svc.set_ready("a1")).state == "ready"
        assert (await svc.set_not_ready("a1", "break")).reason == "break"
        with pytest.raises(InvalidTransition):
            await svc.set_not_ready("a1", "break")
        assert (await svc.logout("a1")).state == "logged_out"
        assert bed.agent_changes("a1") == [
            ("logged_out", "not_ready", "lunch"),
            ("not_ready", "ready", None),
            ("ready", "not_ready", "break"),
            ("not_ready", "logged_out", "logout"),
        ]
        assert [a.agent_id for a in svc.agents()] == ["a1"]
        with pytest.raises(UnknownAgent):
            svc.agent("nobody")


async def test_logout_is_refused_while_the_agent_is_on_a_call() -> None:
    async with AcdBed({"sales": queue()}, [agent()]) as bed:
        await bed.login("a1")
        call, caller, task = bed.enter("sales")
        await eventually(lambda: bed.state("a1") == "on_call")
        with pytest.raises(NotPermitted):
            await bed.service.logout("a1")
        with pytest.raises(NotPermitted):
            await bed.service.remove_agent("a1")
        assert bed.service.agent("a1").call_id == call.call_id
        assert bed.service.agent_call("a1") == call.call_id

        caller.hang_up()
        with pytest.raises(CallGone):
            await task
        assert bed.state("a1") == "wrap_up"
        # a disposition during wrap-up lands on the call that just ended
        await bed.service.disposition("a1", call.call_id, outcome="sale", resolved=True)
        assert bed.events(call, EventKind.DISPOSITION)[0]["outcome"] == "sale"
        with pytest.raises(UnknownCall):
            await bed.service.disposition("a1", "no-such-call", outcome="sale")
        assert (await bed.service.logout("a1")).state == "logged_out"


async def test_ready_or_not_ready_is_refused_while_the_agents_phone_rings_or_talks() -> None:
    async with AcdBed({"sales": queue()}, [agent()], scripts={"PJSIP/a1": NEVER}) as bed:
        await bed.login("a1")
        call, _, _ = bed.enter("sales")
        await eventually(lambda: bed.state("a1") == "ringing")
        with pytest.raises(NotPermitted):
            await bed.service.set_not_ready("a1", "break")
        with pytest.raises(NotPermitted):
            await bed.service.set_ready("a1")
        bed.tel.legs_to("PJSIP/a1")[0].answer()
        await eventually(lambda: bed.state("a1") == "on_call")
        with pytest.raises(NotPermitted):
            await bed.service.set_not_ready("a1", "break")
        assert [e["agent_id"] for e in bed.events(call, EventKind.AGENT_CONNECTED)] == ["a1"]


async def test_reconcile_frees_agents_whose_call_is_gone() -> None:
    agents = [agent("reserved"), agent("ringing"), agent("talking"), agent("busy")]
    async with AcdBed({"sales": queue()}, agents) as bed:
        svc = bed.service
        await bed.login("busy")
        call, _, _ = bed.enter("sales")
        await eventually(lambda: bed.state("busy") == "on_call")  # a live call: left alone
        desk_ = svc.desk
        await bed.login("reserved", "ringing", "talking")
        desk_.change(desk_.get("reserved"), S.RESERVED, call_id="lost-1", queue="sales")
        desk_.change(desk_.get("ringing"), S.RESERVED, call_id="lost-2", queue="sales")
        desk_.change(desk_.get("ringing"), S.RINGING)
        desk_.change(desk_.get("talking"), S.RESERVED, call_id="lost-3", queue="sales")
        desk_.change(desk_.get("talking"), S.RINGING)
        desk_.change(desk_.get("talking"), S.ON_CALL)

        assert sorted(svc.reconcile()) == ["reserved", "ringing", "talking"]
        assert (bed.state("reserved"), bed.state("ringing"), bed.state("talking")) == (
            "ready",
            "ready",
            "wrap_up",
        )
        assert bed.state("busy") == "on_call"
        assert svc.agent("busy").call_id == call.call_id
        await eventually(lambda: bed.state("talking") == "ready")
