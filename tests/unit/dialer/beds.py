"""Builders shared by the dialer runtime's tests: campaign and queue settings with short timers,
agents of the campaign's queue, and a `DialerBed` on them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccapp.acd.fakes import Script
from ccapp.acd.model import Agent
from ccapp.config.campaigns import CampaignSettings
from ccapp.config.settings import QueueSettings
from ccapp.dialer.fakes import DialerBed, LineScript, ShiftedClock

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
    """The agents' queue: agent phones ring 0.3 s at most, wrap-up 0.2 s."""
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
