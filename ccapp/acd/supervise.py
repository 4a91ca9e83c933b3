"""Supervisor listen / whisper / barge on a connected call, through ARI snoop channels."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ccapp.acd.errors import NotPermitted
from ccapp.calls.model import EventKind

if TYPE_CHECKING:
    from ccapp.acd.service import AcdService
    from ccapp.acd.session import QueueSession

MODES = ("listen", "whisper", "barge")


async def supervise(
    service: AcdService, session: QueueSession, *, mode: str, endpoint: str, supervisor: str
) -> str:
    """Ring ``endpoint``; when it answers, it hears the call (listen), also talks to the agent only
    (whisper) or joins the call (barge). Returns the supervisor's leg id."""
    if mode not in MODES:
        raise NotPermitted(f"mode must be one of {', '.join(MODES)}")
    talk = session.talk
    if talk is None or talk.party.agent_id is None:
        raise NotPermitted("the call is not connected to an agent")
    tel = service.tel
    leg = await tel.dial(
        endpoint, caller_id=f'"supervise {mode}" <{session.call.caller_number or ""}>', timeout_s=30
    )
    outcome = await leg.wait_answer()
    if not outcome.answered:
        raise NotPermitted(f"the supervisor's phone did not answer (cause {outcome.cause})")
    party = talk.party.leg
    snoop: str | None = None
    bridge_id = f"ccapp-sv-{leg.leg_id}"
    if mode == "barge":
        await tel.bridge(talk.bridge_id, [leg.leg_id])
    else:
        # a snoop on the agent's channel hears both sides of the bridge; "whisper" also speaks into
        # the agent's ear only
        snoop = await tel.snoop(party.leg_id, spy="both", whisper="out" if mode == "whisper" else "none")
        await tel.bridge(bridge_id, [snoop, leg.leg_id])

    async def end_with_the_call() -> None:
        # the supervisor leaves when the agent's leg does (the call ended or was transferred away)
        ended = asyncio.ensure_future(party.wait_ended())
        mine = asyncio.ensure_future(leg.wait_ended())
        try:
            await asyncio.wait({ended, mine}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            mine.cancel()
            await leg.hangup()
            if snoop is not None:
                await tel.hangup(snoop)
                await tel.destroy_bridge(bridge_id)

    service.spawn(end_with_the_call(), name=f"supervise-{leg.leg_id}")
    session.call.record(
        EventKind.SUPERVISOR,
        {"mode": mode, "supervisor": supervisor, "agent_id": talk.party.agent_id, "leg_id": leg.leg_id},
    )
    return leg.leg_id
