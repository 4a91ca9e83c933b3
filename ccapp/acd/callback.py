"""`CallbackJob`: a caller who asked to be called back keeps their place in line; when the router
gives the call to an agent, the agent's phone rings first and, once the agent answers, ccapp dials
the customer and bridges both."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from ccapp.acd.journal import record
from ccapp.acd.model import AgentState, WaitingCall
from ccapp.acd.ports import DialOutcome, Leg
from ccapp.acd.ranking import Assignment
from ccapp.calls.call import Call
from ccapp.calls.model import EventKind
from ccapp.errors import CallGone, CcappError

if TYPE_CHECKING:
    from ccapp.acd.service import AcdService

log = logging.getLogger("ccapp.acd.callback")


class CallbackJob:
    def __init__(
        self, service: AcdService, call: Call, waiting: WaitingCall, entry: int, entered_mono: float
    ) -> None:
        self.service = service
        self.call = call
        self.waiting = waiting
        self.entry = entry
        self.entered_mono = entered_mono
        self.queue = waiting.queue

    async def run(self, assignment: Assignment) -> None:
        svc = self.service
        agent = assignment.agents[0]
        for other in assignment.agents[1:]:
            svc.agent_released(other.agent_id)
        number = self.call.caller_number or ""
        legs: list[Leg] = []  # hung up if the callback fails half-way
        try:
            leg = await svc.dial_agent(agent.agent_id, self)
            legs.append(leg)
            record(
                self,
                EventKind.AGENT_OFFERED,
                agent_id=agent.agent_id,
                leg_id=leg.leg_id,
                endpoint=agent.endpoint,
            )
            start = svc.clock.monotonic()
            outcome = await _within(leg.wait_answer(), svc.queue_settings(self.queue).ring_timeout_s)
            if outcome is None or not outcome.answered:
                await leg.hangup()
                record(
                    self,
                    EventKind.AGENT_NO_ANSWER,
                    agent_id=agent.agent_id,
                    leg_id=leg.leg_id,
                    ring_s=round(svc.clock.monotonic() - start, 3),
                    cause=outcome.cause if outcome else None,
                )
                svc.agent_missed(agent.agent_id)
                svc.router.add_call(self.waiting)  # still first in line
                svc.kick()
                return
            svc.desk.change(agent, AgentState.ON_CALL)
            customer = await svc.dial_number(number, self)
            legs.append(customer)
            answered = await customer.wait_answer()
            record(
                self,
                EventKind.CALLBACK_DIALLED,
                agent_id=agent.agent_id,
                number=number,
                leg_id=customer.leg_id,
                answered=answered.answered,
                cause=answered.cause,
            )
            if not answered.answered:
                await leg.hangup()
                svc.agent_call_ended(agent.agent_id, self.queue, 0.0)
                return
            bridge_id = f"ccapp-{self.call.call_id}-cb{self.entry}"
            await svc.tel.bridge(bridge_id, [leg.leg_id, customer.leg_id])
            connected = svc.clock.monotonic()
            wait_s = round(connected - self.entered_mono, 3)
            record(
                self,
                EventKind.AGENT_CONNECTED,
                agent_id=agent.agent_id,
                leg_id=leg.leg_id,
                wait_s=wait_s,
                ring_s=round(connected - start, 3),
                bridge_id=bridge_id,
            )
            await _first_to_end(leg, customer)
            by = "agent" if leg.ended else "caller"
            await leg.hangup()
            await customer.hangup()
            await svc.tel.destroy_bridge(bridge_id)
            talk_s = round(svc.clock.monotonic() - connected, 3)
            record(
                self,
                EventKind.AGENT_DISCONNECTED,
                agent_id=agent.agent_id,
                leg_id=leg.leg_id,
                talk_s=talk_s,
                hold_s=0.0,
                by=by,
            )
            svc.agent_call_ended(agent.agent_id, self.queue, talk_s)
        except (CallGone, CcappError) as exc:
            log.warning("callback of call %s failed: %s", self.call.call_id, exc)
            for dialled in legs:
                await dialled.hangup()
            a = svc.desk.agents.get(agent.agent_id)
            if a is not None and a.state is AgentState.ON_CALL:
                svc.agent_call_ended(agent.agent_id, self.queue, 0.0)
            else:
                svc.agent_released(agent.agent_id)
        finally:
            if self.waiting is not None and svc.router.position(self.call.call_id) is None:
                svc.callback_done(self.call.call_id)
                svc.remember(self.call)


async def _within(aw: Awaitable[DialOutcome], seconds: float) -> DialOutcome | None:
    try:
        async with asyncio.timeout(seconds):
            return await aw
    except TimeoutError:
        return None


async def _first_to_end(*legs: Leg) -> None:
    waits = [asyncio.ensure_future(leg.wait_ended()) for leg in legs]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
