"""What the HTTP API (and the CLI) may ask of the ACD: the `AcdCommands` protocol and the views it
returns. `ccapp.acd.service.AcdService` implements it; web tests use a fake.

Errors: `UnknownAgent` / `UnknownCall` (404), `InvalidTransition` / `NotPermitted` (409),
`InvalidAcdConfig`, `InvalidDisposition` (422) — all in ``ccapp.acd.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ccapp.acd.model import Agent

#: a disposition's outcome and topic: a short code word
CODE_WORD = r"^[\w.-]{1,40}$"
#: a disposition's notes, at most this many characters
MAX_NOTES = 500


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    name: str
    endpoint: str
    state: str
    reason: str | None
    state_since: datetime | None
    skills: dict[str, int]
    queues: list[str]
    call_id: str | None  # the call the agent is reserved for, ringing for, on or wrapping up
    calls_today: int


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    waiting: int
    longest_wait_s: float
    agents_by_state: dict[str, int]  # members of the queue by state
    expected_wait_s: float | None  # for a call joining now


@dataclass(frozen=True, slots=True)
class TransferView:
    call_id: str
    kind: str  # blind | attended
    target: str  # queue:<name> | agent:<id> | number:<digits>
    state: str  # completed | consulting | cancelled | failed


class AcdCommands(Protocol):
    def agent(self, agent_id: str) -> AgentView: ...

    def agents(self) -> list[AgentView]: ...

    def queues(self) -> list[QueueView]: ...

    async def login(self, agent_id: str, *, ready: bool = True, reason: str | None = None) -> AgentView: ...

    async def set_ready(self, agent_id: str) -> AgentView: ...

    async def set_not_ready(self, agent_id: str, reason: str) -> AgentView: ...

    async def logout(self, agent_id: str, reason: str = "logout") -> AgentView: ...

    async def upsert_agent(self, agent: Agent) -> AgentView:
        """Add an agent (logged out) or change one's name, endpoint, skills and queues."""
        ...

    async def remove_agent(self, agent_id: str) -> None:
        """Delete an agent; refused (`NotPermitted`) while it is on a call or ringing."""
        ...

    def agent_call(self, agent_id: str) -> str | None:
        """The call the agent is connected to (or wrapping up), for authorising agent requests."""
        ...

    async def disposition(
        self,
        agent_id: str,
        call_id: str,
        *,
        outcome: str,
        resolved: bool | None = None,
        topic: str | None = None,
        notes: str | None = None,
        right_party: bool | None = None,
        callback_at: datetime | None = None,
    ) -> None:
        """Record what the agent concluded about a call it had (during wrap-up, or after): ``outcome``
        and ``topic`` are short code words, ``notes`` at most `MAX_NOTES` characters, ``right_party``
        whether the intended person was reached (outbound). `InvalidDisposition` otherwise."""
        ...

    async def transfer(self, call_id: str, *, kind: str, target: str, by: str | None) -> TransferView:
        """Blind: the caller goes to ``target`` at once. Attended: the agent consults ``target``
        while the caller holds; then `complete_transfer` or `cancel_transfer`."""
        ...

    async def complete_transfer(self, call_id: str) -> TransferView: ...

    async def cancel_transfer(self, call_id: str) -> TransferView: ...

    async def supervise(self, call_id: str, *, mode: str, endpoint: str, supervisor: str) -> str:
        """Ring ``endpoint`` and let it listen, whisper to the agent or barge in; returns its leg id."""
        ...

    async def start_recording(self, call_id: str, *, reason: str) -> None:
        """Start recording a connected call of an ``on_demand`` queue (the consent notice plays to
        both sides first); `NotPermitted` when the queue records nothing or it is already recording."""
        ...

    async def pause_recording(self, call_id: str, *, reason: str) -> None: ...

    async def resume_recording(self, call_id: str, *, reason: str) -> None: ...
