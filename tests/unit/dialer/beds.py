"""Builders shared by the dialer runtime's tests: campaign and queue settings with short timers,
agents of the campaign's queue, a `DialerBed` on them, and steps most call tests begin with."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ccapp.acd.fakes import Script, eventually
from ccapp.acd.model import Agent
from ccapp.config.campaigns import CampaignSettings
from ccapp.config.settings import QueueSettings
from ccapp.dialer.fakes import DialerBed, FakeLine, LineScript, ShiftedClock

QUEUE = "out"
TRUNK = "PJSIP/{number}@trunk"


def campaign(**kw: Any) -> CampaignSettings:
    """A campaign of queue "out" (progressive unless told), a person's agent due within 1 s."""
    values: dict[str, Any] = {
        "queue": QUEUE,
        "trunk": TRUNK,
        "connect_within_s": 1.0,
        "caller_id": "+15550000",
    }
    values.update(kw)
    return CampaignSettings(**values)


def queue(**kw: Any) -> QueueSettings:
    """The agents' queue: wrap-up 0.2 s; agent phones are dialled with a 0.3 s ring timeout (the
    ACD's fake phones ignore it: they follow their `Script`)."""
    values: dict[str, Any] = {"ring_timeout_s": 0.3, "wrap_up_s": 0.2, "announce_every_s": None}
    values.update(kw)
    return QueueSettings(**values)


def agent(agent_id: str) -> Agent:
    return Agent(agent_id, agent_id.upper(), f"PJSIP/{agent_id}", queues=frozenset({QUEUE}))


def number(n: int) -> str:
    return f"+1212555{n:04d}"


def bed(
    db_url: str,
    clock: ShiftedClock,
    *,
    campaigns: Mapping[str, CampaignSettings] | None = None,
    agents: tuple[str, ...] = ("a1",),
    lines: Mapping[str, LineScript] | None = None,
    agent_phones: Mapping[str, Script] | None = None,
    queue_settings: QueueSettings | None = None,
    tick_s: float = 0.02,
) -> DialerBed:
    return DialerBed(
        db_url,
        campaigns if campaigns is not None else {"c1": campaign()},
        [agent(a) for a in agents],
        queues={QUEUE: queue_settings or queue()},
        clock=clock,
        lines=lines,
        agent_phones=agent_phones,
        tick_s=tick_s,
    )


async def answered(b: DialerBed, campaign_id: str = "c1") -> tuple[str, FakeLine]:
    """Import one lead, start the campaign, wait until its answered line is in AMD."""
    [lead] = await b.add_leads(campaign_id, [number(1)])
    await b.svc.command(campaign_id, "start", actor="ann")
    [line] = await b.out.wait_dials(1)
    await eventually(lambda: line.detected, what="the line in AMD")
    return lead, line


async def finished(b: DialerBed, lead_id: str) -> dict[str, Any]:
    """Wait until the lead's attempt is over (the lead left 'dialling'); its attempt row."""
    for _ in range(300):
        if (await b.lead(lead_id)).status != "dialling":
            [row] = await b.attempts(lead_id)
            return row
        await asyncio.sleep(0.01)
    raise AssertionError(f"lead {lead_id} still dialling")


async def predictive_line_without_agent(b: DialerBed) -> tuple[str, FakeLine]:
    """Predictive: a line dialled while a1 was ready, who then went on a break before the answer."""
    await b.acd.login("a1")
    [lead] = await b.add_leads("c1", [number(1)])
    await b.svc.command("c1", "start", actor="ann")
    [line] = await b.out.wait_dials(1)
    await b.acd.service.set_not_ready("a1", "break")
    line.answer()
    await eventually(lambda: line.detected, what="the line in AMD")
    return lead, line
