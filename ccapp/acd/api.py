"""The API's half of `AcdService`: `AcdCommands` — agent log-in and states, views of agents and
queues, dispositions, transfers, supervision and recording control. A mixin of the service (which
holds the state it reads); every agent state change still goes through `AgentDesk.change`."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, cast

from ccapp.acd.commands import CODE_WORD, MAX_NOTES, AgentView, QueueView, TransferView
from ccapp.acd.errors import InvalidDisposition, NotPermitted, UnknownCall
from ccapp.acd.model import Agent, AgentState
from ccapp.acd.signals import TransferRequest
from ccapp.calls.call import Call
from ccapp.calls.model import EventKind

log = logging.getLogger("ccapp.acd.api")

if TYPE_CHECKING:
    from ccapp.acd.service import AcdService
    from ccapp.acd.session import QueueSession

S = AgentState
BUSY = frozenset({S.RESERVED, S.RINGING, S.ON_CALL, S.WRAP_UP})
#: the not-ready reason of an agent whose phone Asterisk cannot reach
UNREACHABLE = "unreachable"


def tracked_endpoint(endpoint: str) -> str | None:
    """``PJSIP/<name>`` (technology case-folded) for a PJSIP endpoint name, else None: the agent
    phones whose reachability Asterisk reports."""
    tech, _, resource = endpoint.partition("/")
    if tech.upper() != "PJSIP" or not resource or "/" in resource or "@" in resource:
        return None
    return f"PJSIP/{resource}"


def _not_on_a_call(agent: Agent) -> None:
    """Ready / not ready by request only between calls: a call being offered or answered is the
    session's to finish (it moves the agent on), or the agent's phone would be left answered."""
    if agent.state in (S.RESERVED, S.RINGING, S.ON_CALL):
        raise NotPermitted(f"agent {agent.agent_id!r} is {agent.state.value}: finish the call first")


def _check_disposition(outcome: str, topic: str | None, notes: str | None, right_party: bool | None) -> None:
    """The API checks the same with its body model; this guards the other callers (CLI, tests)."""
    if not isinstance(outcome, str) or not re.fullmatch(CODE_WORD, outcome):
        raise InvalidDisposition("outcome: a short code word (letters, digits, '.', '_', '-'; 1-40)")
    if topic is not None and (not isinstance(topic, str) or not re.fullmatch(CODE_WORD, topic)):
        raise InvalidDisposition("topic: a short code word (letters, digits, '.', '_', '-'; 1-40)")
    if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
        raise InvalidDisposition(f"notes: text of at most {MAX_NOTES} characters")
    if right_party is not None and not isinstance(right_party, bool):
        raise InvalidDisposition("right_party: true or false")


class AcdCommandsMixin:
    @property
    def _svc(self) -> AcdService:
        return cast("AcdService", self)

    def _view(self, agent: Agent) -> AgentView:
        svc = self._svc
        work = svc.desk.work(agent.agent_id)
        return AgentView(
            agent_id=agent.agent_id,
            name=agent.name,
            endpoint=agent.endpoint,
            state=agent.state.value,
            reason=agent.not_ready_reason,
            state_since=agent.state_since,
            skills=dict(agent.skills),
            queues=sorted(agent.queues),
            call_id=work[0] if work else None,
            calls_today=agent.calls_today,
        )

    def agent(self, agent_id: str) -> AgentView:
        svc = self._svc
        return self._view(svc.desk.get(agent_id))

    def agents(self) -> list[AgentView]:
        svc = self._svc
        return [self._view(a) for a in sorted(svc.desk.agents.values(), key=lambda a: a.agent_id)]

    def queues(self) -> list[QueueView]:
        svc = self._svc
        now = svc.clock.now()
        views = []
        for name in sorted(svc._queues):
            waiting = svc.router.waiting(name)
            states: dict[str, int] = {}
            for agent in svc.desk.in_queue(name):
                states[agent.state.value] = states.get(agent.state.value, 0) + 1
            longest = max(((now - c.entered_at).total_seconds() for c in waiting), default=0.0)
            views.append(
                QueueView(
                    name,
                    len(waiting),
                    round(longest, 1),
                    states,
                    svc.expected_wait(name, len(waiting) + 1),
                )
            )
        return views

    async def login(self, agent_id: str, *, ready: bool = True, reason: str | None = None) -> AgentView:
        svc = self._svc
        agent = svc.desk.get(agent_id)
        if agent.state is not S.LOGGED_OUT:
            raise NotPermitted(f"agent {agent_id!r} is already logged in ({agent.state.value})")
        if ready and tracked_endpoint(agent.endpoint) in svc._offline:
            ready, reason = False, UNREACHABLE
        svc.desk.change(agent, S.READY if ready else S.NOT_READY, None if ready else (reason or "login"))
        svc.kick()
        return self._view(agent)

    async def set_ready(self, agent_id: str) -> AgentView:
        svc = self._svc
        agent = svc.desk.get(agent_id)
        _not_on_a_call(agent)
        svc.desk.change(agent, S.READY)
        svc.kick()
        return self._view(agent)

    async def set_not_ready(self, agent_id: str, reason: str) -> AgentView:
        svc = self._svc
        agent = svc.desk.get(agent_id)
        _not_on_a_call(agent)
        svc.desk.change(agent, S.NOT_READY, reason)
        return self._view(agent)

    async def logout(self, agent_id: str, reason: str = "logout") -> AgentView:
        svc = self._svc
        agent = svc.desk.get(agent_id)
        if agent.state in (S.RINGING, S.ON_CALL, S.RESERVED):
            raise NotPermitted(f"agent {agent_id!r} is {agent.state.value}: finish the call first")
        svc.desk.change(agent, S.LOGGED_OUT, reason)
        return self._view(agent)

    async def upsert_agent(self, agent: Agent) -> AgentView:
        svc = self._svc
        svc.desk.put(agent)
        svc.agent_defined(agent, agent.agent_id)
        svc.kick()
        return self._view(svc.desk.get(agent.agent_id))

    async def remove_agent(self, agent_id: str) -> None:
        svc = self._svc
        agent = svc.desk.get(agent_id)
        if agent.state in BUSY - {S.WRAP_UP}:
            raise NotPermitted(f"agent {agent_id!r} is {agent.state.value}")
        svc.desk.remove(agent_id)
        svc.agent_defined(None, agent_id)

    def agent_call(self, agent_id: str) -> str | None:
        svc = self._svc
        work = svc.desk.work(agent_id)
        return work[0] if work else None

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
        svc = self._svc
        _check_disposition(outcome, topic, notes, right_party)
        if callback_at is not None and callback_at.tzinfo is None:
            raise InvalidDisposition("callback_at: a date and time with its UTC offset")
        session = svc.sessions.get(call_id)
        call = session.call if session is not None else None
        if call is None and call_id in svc.callbacks:
            call = svc.callbacks[call_id].call
        if call is None:
            call = self._recent_call(call_id)
        data = {
            "agent_id": agent_id,
            "outcome": outcome,
            "resolved": resolved,
            "topic": topic,
            "notes": notes,
            "right_party": right_party,
        }
        if callback_at is not None:
            data["callback_at"] = callback_at.isoformat()
        call.record(EventKind.DISPOSITION, data)
        for hook in list(svc.disposition_hooks):
            try:
                hook(call_id, agent_id, outcome, right_party, callback_at)
            except Exception:
                log.exception("disposition hook failed on call %s", call_id)

    def _recent_call(self, call_id: str) -> Call:
        svc = self._svc
        call = svc._recent.get(call_id)
        if call is None:
            raise UnknownCall(f"no recent call {call_id!r}")
        return call

    async def transfer(self, call_id: str, *, kind: str, target: str, by: str | None) -> TransferView:
        if kind not in ("blind", "attended"):
            raise NotPermitted(f"unknown transfer type {kind!r}")
        return await self._session(call_id).request(TransferRequest(kind, target, by))  # type: ignore[no-any-return]

    async def complete_transfer(self, call_id: str) -> TransferView:
        return await self._session(call_id).request(TransferRequest("complete"))  # type: ignore[no-any-return]

    async def cancel_transfer(self, call_id: str) -> TransferView:
        return await self._session(call_id).request(TransferRequest("cancel"))  # type: ignore[no-any-return]

    def _session(self, call_id: str) -> QueueSession:
        svc = self._svc
        session = svc.sessions.get(call_id)
        if session is None:
            raise UnknownCall(f"no call {call_id!r} in the ACD")
        return session

    async def supervise(self, call_id: str, *, mode: str, endpoint: str, supervisor: str) -> str:
        from ccapp.acd.supervise import supervise

        return await supervise(
            self._svc, self._session(call_id), mode=mode, endpoint=endpoint, supervisor=supervisor
        )

    async def start_recording(self, call_id: str, *, reason: str) -> None:
        svc = self._svc
        session = self._session(call_id)
        talk = session.talk
        if talk is None or talk.party.agent_id is None:
            raise NotPermitted("the call is not connected to an agent")
        settings = svc.queue_settings(session.queue)
        if settings.recording == "none":
            raise NotPermitted(f"queue {session.queue!r} does not record calls (recording: none)")
        if svc.recordings.active(call_id):
            raise NotPermitted("the call is already being recorded")
        if settings.consent_prompt:
            # the notice goes to both sides and onto the recording itself
            await svc.tel.play_bridge(talk.bridge_id, [await svc.render(settings.consent_prompt)])
        await svc.recordings.connected(
            session.call, session.caller_channel, session.queue, talk.party.agent_id, "all", requested=reason
        )

    async def pause_recording(self, call_id: str, *, reason: str) -> None:
        svc = self._svc
        await svc.recordings.pause(call_id, reason)

    async def resume_recording(self, call_id: str, *, reason: str) -> None:
        svc = self._svc
        await svc.recordings.resume(call_id, reason)
