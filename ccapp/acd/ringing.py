"""Ringing the agents the router chose for a call: the first to answer wins, the others are
released (`agent.released`), those who do not answer in time go not ready "missed"
(`agent.no_answer`) and the call goes back to the head of its line."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ccapp.acd.journal import record
from ccapp.acd.ports import Leg
from ccapp.acd.signals import Offer
from ccapp.calls.model import EventKind
from ccapp.errors import CallGone

if TYPE_CHECKING:
    from ccapp.acd.session import QueueSession


async def ring(session: QueueSession, offer: Offer) -> tuple[str, Leg, float] | None:
    """Ring the offered agents; the first to answer wins. None: nobody did (call requeued)."""
    svc = session.service
    assignment = offer.assignment
    settings = svc.queue_settings(session.queue)
    start = svc.clock.monotonic()
    legs: dict[asyncio.Future[Any], tuple[str, Leg]] = {}
    for agent in assignment.agents:
        leg = await svc.dial_agent(agent.agent_id, session)
        record(
            session,
            EventKind.AGENT_OFFERED,
            agent_id=agent.agent_id,
            leg_id=leg.leg_id,
            endpoint=agent.endpoint,
        )
        legs[asyncio.ensure_future(leg.wait_answer())] = (agent.agent_id, leg)
    winner: tuple[str, Leg] | None = None
    deadline = start + settings.ring_timeout_s
    pending = set(legs)
    try:
        while pending and winner is None:
            watch = session._ensure_watch()
            remaining = deadline - svc.clock.monotonic()
            if remaining <= 0:
                break
            done, pending = await asyncio.wait(
                pending | {watch}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            pending.discard(watch)
            if watch in done:
                session._watch = None
                watch.result()  # CallGone propagates; a key while ringing is ignored
            for task in done - {watch}:
                agent_id, leg = legs[task]
                if task.result().answered and winner is None:
                    winner = (agent_id, leg)
                elif task.result().answered:
                    await release(session, agent_id, leg, "other_answered")
                else:
                    missed(session, agent_id, leg, start, task.result().cause)
    except CallGone:
        # the phones still ringing (or answered just now) stop; those that already missed are done
        for task, (agent_id, leg) in legs.items():
            if task in pending or (task.done() and not task.cancelled() and task.result().answered):
                task.cancel()
                await release(session, agent_id, leg, "caller_gone")
        raise
    for task in pending:
        task.cancel()
        agent_id, leg = legs[task]
        if winner is None:
            await leg.hangup()
            missed(session, agent_id, leg, start, None)
        else:
            await release(session, agent_id, leg, "other_answered")
    if winner is None:
        # back to the head of the line: same arrival time, so it goes first again
        if session.waiting is not None:
            svc.router.add_call(session.waiting)
        svc.kick()
        return None
    return winner[0], winner[1], round(svc.clock.monotonic() - start, 3)


def missed(session: QueueSession, agent_id: str, leg: Leg, start: float, cause: int | None) -> None:
    svc = session.service
    record(
        session,
        EventKind.AGENT_NO_ANSWER,
        agent_id=agent_id,
        leg_id=leg.leg_id,
        ring_s=round(svc.clock.monotonic() - start, 3),
        cause=cause,
    )
    svc.agent_missed(agent_id)


async def release(session: QueueSession, agent_id: str, leg: Leg, reason: str) -> None:
    await leg.hangup()
    record(session, EventKind.AGENT_RELEASED, agent_id=agent_id, leg_id=leg.leg_id, reason=reason)
    session.service.agent_released(agent_id)
