"""A campaign at run time: its settings, status, pacing history, lines in flight and abandon budget.

The status changes only through `CampaignRun.transition` (the one choke point: it validates, and the
service journals the change in ``campaign_events`` and logs it). Agents are read from the ACD desk;
`floor` turns them and the lines in flight into the pacer's `Floor`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from ccapp.acd.errors import NotPermitted
from ccapp.acd.model import Agent, AgentState
from ccapp.config.campaigns import CampaignSettings
from ccapp.dialer.attempt import Attempt
from ccapp.dialer.pacing import AbandonBudget, Floor, PacingHistory
from ccapp.dialer.retry import RetryPolicy
from ccapp.dialer.windows import CallingWindows

S = AgentState

STOPPED, RUNNING, PAUSED, FINISHED = "stopped", "running", "paused", "finished"
#: action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({STOPPED, PAUSED, FINISHED}), RUNNING),
    "pause": (frozenset({RUNNING}), PAUSED),
    "stop": (frozenset({RUNNING, PAUSED, FINISHED}), STOPPED),
    "finish": (frozenset({RUNNING}), FINISHED),
}


@dataclass(eq=False)
class CampaignRun:
    campaign_id: str
    settings: CampaignSettings
    status: str = STOPPED
    history: PacingHistory = field(default_factory=PacingHistory)
    attempts: dict[str, Attempt] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    #: set whenever one of the campaign's agents becomes ready (a live person may be waiting)
    agent_freed: asyncio.Event = field(default_factory=asyncio.Event)
    #: abandon budget: the window's counts as last read from the database, plus what happened since
    window_live: int = 0
    window_abandoned: int = 0
    window_read_mono: float = float("-inf")
    #: status commands of this process so far (a status read from the database during one is stale)
    commands: int = 0
    windows: CallingWindows = field(init=False)
    policy: RetryPolicy = field(init=False)
    _zones: dict[str, ZoneInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.windows = self.settings.windows()
        self.policy = self.settings.retry_policy()

    @property
    def queue(self) -> str:
        return self.settings.queue

    @property
    def mode(self) -> str:
        return self.settings.mode

    def transition(self, action: str) -> str:
        """The status ``action`` leads to from the current one; `NotPermitted` if it may not."""
        if action not in TRANSITIONS:
            raise NotPermitted(f"unknown campaign action {action!r} (start, pause, stop)")
        sources, target = TRANSITIONS[action]
        if self.status not in sources:
            raise NotPermitted(f"campaign {self.campaign_id!r} is {self.status}: cannot {action}")
        return target

    def zone(self, name: str | None) -> ZoneInfo:
        key = name or self.settings.default_zone
        zone = self._zones.get(key)
        if zone is None:
            try:
                zone = ZoneInfo(key)
            except (KeyError, ValueError):
                zone = ZoneInfo(self.settings.default_zone)
            self._zones[key] = zone
        return zone

    def budget(self) -> AbandonBudget:
        return AbandonBudget(self.settings.abandon_target, self.window_live, self.window_abandoned)

    def floor(self, agents: Iterable[Agent], now: datetime, mono: float, wrap_up_s: float) -> Floor:
        ready = reserved = 0
        wrapping: list[float] = []
        on_call: list[float] = []
        for agent in agents:
            since = (now - agent.state_since).total_seconds() if agent.state_since else 0.0
            if agent.state is S.READY:
                ready += 1
            elif agent.state in (S.RESERVED, S.RINGING) and self.mode == "progressive":
                reserved += 1  # held from the dial for a line still in flight: that line's agent
            elif agent.state in (S.RESERVED, S.RINGING):
                # predictive: held for a line that was answered (no longer in flight), or an inbound
                # call of the queue: busy from now on, like a call that has just started
                on_call.append(0.0)
            elif agent.state is S.WRAP_UP:
                wrapping.append(max(0.0, wrap_up_s - since))
            elif agent.state is S.ON_CALL:
                on_call.append(since)
        in_flight = tuple(mono - a.dialled_mono for a in self.attempts.values() if a.in_flight)
        waiting = sum(1 for a in self.attempts.values() if a.waiting_for_agent and a.agent_id is None)
        return Floor(
            ready=ready,
            wrapping_left_s=tuple(wrapping),
            on_call_s=tuple(on_call),
            in_flight_s=in_flight,
            live_waiting=waiting,
            reserved=reserved,
        )
