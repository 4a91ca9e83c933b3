"""`Talk`: a connected call — caller and agent in a mixing bridge — until one side leaves, with
blind and attended transfers asked through the API (`TransferRequest` signals)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ccapp.acd.commands import TransferView
from ccapp.acd.errors import NotPermitted
from ccapp.acd.journal import record
from ccapp.acd.ports import Leg
from ccapp.acd.signals import Offer, Overdue, TransferRequest
from ccapp.calls.model import EventKind
from ccapp.errors import CallGone

if TYPE_CHECKING:
    from ccapp.acd.session import QueueSession


@dataclass(slots=True)
class Party:
    """Who the caller talks to: an agent's leg, or (``agent_id`` None) a number dialled by a transfer."""

    agent_id: str | None
    leg: Leg
    since: float
    answered: bool = True


class Talk:
    def __init__(self, session: QueueSession, bridge_id: str, party: Party) -> None:
        self.s = session
        self.bridge_id = bridge_id
        self.party = party
        self.consult: Party | None = None
        self.consult_request: TransferRequest | None = None
        self._consult_answer: asyncio.Future[Any] | None = None
        self._consult_deadline = 0.0

    async def run(self) -> tuple[str, str | None]:
        s = self.s
        svc = s.service
        while True:
            watch = s._ensure_watch()
            ended = asyncio.ensure_future(self.party.leg.wait_ended())
            get = asyncio.ensure_future(s.signals.get())
            waits: set[asyncio.Future[Any]] = {watch, ended, get}
            timeout = None
            if self._consult_answer is not None:
                waits.add(self._consult_answer)
                timeout = max(0.0, self._consult_deadline - svc.clock.monotonic())
            consult_ended: asyncio.Future[Any] | None = None
            if self.consult is not None and self.consult.answered:
                consult_ended = asyncio.ensure_future(self.consult.leg.wait_ended())
                waits.add(consult_ended)
            try:
                done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (ended, get, consult_ended):
                    if task is not None and not task.done():
                        task.cancel()
            try:
                if watch in done:
                    s._watch = None
                    watch.result()  # CallGone: the caller hung up; keys are for the agent, not us
                if get in done:
                    outcome = await self._signal(get.result())
                    if outcome is not None:
                        return outcome
                if self._consult_answer is not None and (
                    self._consult_answer in done or svc.clock.monotonic() >= self._consult_deadline
                ):
                    await self._consult_progress()
                if consult_ended is not None and consult_ended in done and not self.party.leg.ended:
                    # the consulted party hung up: the agent is back with the caller
                    await self._cancel_consult(outcome="failed")
                if ended in done and self.party.leg.ended:
                    if self.consult is not None and self.consult.answered:
                        await self._complete(by_hangup=True)
                        continue
                    await self._cancel_consult()
                    await svc.tel.stop_moh(s.caller_channel)  # held for a consultation or a dial
                    self._party_left("agent")
                    await svc.tel.destroy_bridge(self.bridge_id)
                    return "answered", None
            except CallGone:
                if getattr(s.control, "gone", True):
                    await self._caller_left()
                    raise
                # an agent or target leg vanished mid-operation: the caller is still here
                await self._cancel_consult()
                await svc.tel.stop_moh(s.caller_channel)
                self._party_left("agent")
                await svc.tel.destroy_bridge(self.bridge_id)
                return "answered", None

    async def _caller_left(self) -> None:
        await self._cancel_consult()
        await self.party.leg.hangup()
        self._party_left("caller")
        await self.s.service.tel.destroy_bridge(self.bridge_id)

    def _party_left(self, by: str) -> None:
        s = self.s
        party = self.party
        talk_s = round(s.service.clock.monotonic() - party.since, 3)
        record(
            s,
            EventKind.AGENT_DISCONNECTED,
            agent_id=party.agent_id,
            leg_id=party.leg.leg_id,
            talk_s=talk_s,
            hold_s=0.0,
            by=by,
        )
        if party.agent_id is not None:
            s.service.agent_call_ended(party.agent_id, s.queue, talk_s)

    # ------------------------------------------------------------------------------ transfers
    async def _signal(self, signal: Any) -> tuple[str, str | None] | None:
        if isinstance(signal, Offer | Overdue):
            return None  # stale: the call was already taken
        assert isinstance(signal, TransferRequest)
        try:
            if signal.action == "blind":
                return await self._blind(signal)
            if signal.action == "attended":
                await self._attended(signal)
            elif signal.action == "complete":
                await self._complete()
                signal.reply.set_result(self._view("attended", "completed"))
            elif signal.action == "cancel":
                if self.consult is None:
                    raise NotPermitted("no attended transfer in progress")
                target = self._target
                await self._cancel_consult(outcome="cancelled")
                signal.reply.set_result(TransferView(self.s.call_id, "attended", target, "cancelled"))
            return None
        except CallGone as exc:
            if not signal.reply.done():  # the API caller waits for an answer
                signal.reply.set_exception(NotPermitted(f"a party of the call hung up: {exc}"))
            raise
        except Exception as exc:
            if not signal.reply.done():
                signal.reply.set_exception(exc)
            return None

    _target = ""

    def _view(self, kind: str, state: str) -> TransferView:
        return TransferView(self.s.call_id, kind, self._target, state)

    def _journal(self, kind: str, target: str, by: str | None, outcome: str) -> None:
        s = self.s
        target_type, _, name = target.partition(":")
        topic = s.variables.get("topic")
        judged = s.service.escalation(s.variables, target)
        s.call.record(
            EventKind.TRANSFER,
            {
                "kind": kind,
                "by_agent": by,
                "target_type": target_type,
                "target": name,
                "topic": topic,
                "expected": judged.expected,
                "correct": judged.correct,
                "outcome": outcome,
            },
        )

    async def _blind(self, request: TransferRequest) -> tuple[str, str | None] | None:
        s = self.s
        svc = s.service
        target = request.target
        kind, _, name = target.partition(":")
        if self.consult is not None:
            raise NotPermitted("an attended transfer is in progress: complete or cancel it first")
        if kind == "queue":
            svc.queue_settings(name)  # unknown queue → error before anything changes
        elif kind == "agent":
            svc.reserve_direct(name, s)
        elif kind == "number":
            pass
        else:
            raise NotPermitted(f"unknown transfer target {target!r}")
        self._target = target
        await self.party.leg.hangup()
        self._party_left("transfer")
        await svc.tel.destroy_bridge(self.bridge_id)
        if kind == "number":
            await svc.tel.start_moh(s.caller_channel, svc.queue_settings(s.queue).moh_class)
            leg = await svc.dial_number(name, s)
            outcome = await leg.wait_answer()
            self._journal("blind", target, request.by, "completed" if outcome.answered else "failed")
            request.reply.set_result(self._view("blind", "completed" if outcome.answered else "failed"))
            await svc.tel.stop_moh(s.caller_channel)
            if not outcome.answered:
                return "transfer_failed", None
            self.bridge_id = f"{self.bridge_id}-x"
            await svc.tel.bridge(self.bridge_id, [s.caller_channel, leg.leg_id])
            self.party = Party(None, leg, svc.clock.monotonic())
            return None
        self._journal("blind", target, request.by, "completed")
        request.reply.set_result(self._view("blind", "completed"))
        return "transferred", target if kind == "agent" else name

    async def _attended(self, request: TransferRequest) -> None:
        s = self.s
        svc = s.service
        if self.consult is not None:
            raise NotPermitted("an attended transfer is already in progress")
        kind, _, name = request.target.partition(":")
        if kind == "agent":
            svc.reserve_direct(name, s)
            leg = await svc.dial_agent(name, s)
        elif kind == "number":
            leg = await svc.dial_number(name, s)
        else:
            raise NotPermitted("attended transfers go to an agent or a number")
        self._target = request.target
        self.consult = Party(name if kind == "agent" else None, leg, svc.clock.monotonic(), answered=False)
        self.consult_request = request
        self._consult_answer = asyncio.ensure_future(leg.wait_answer())
        self._consult_deadline = svc.clock.monotonic() + svc.queue_settings(s.queue).ring_timeout_s
        # the caller holds (music) while the agent consults
        await svc.tel.unbridge(self.bridge_id, s.caller_channel)
        await svc.tel.start_moh(s.caller_channel, svc.queue_settings(s.queue).moh_class)
        request.reply.set_result(self._view("attended", "consulting"))

    async def _consult_progress(self) -> None:
        s = self.s
        svc = s.service
        consult = self.consult
        answer = self._consult_answer
        if consult is None or answer is None:
            return
        self._consult_answer = None
        if answer.done() and answer.result().answered:
            consult.answered = True
            consult.since = svc.clock.monotonic()
            if consult.agent_id is not None:
                svc.direct_answered(consult.agent_id)
            await svc.tel.unbridge(self.bridge_id, self.party.leg.leg_id)
            await svc.tel.bridge(f"{self.bridge_id}-consult", [self.party.leg.leg_id, consult.leg.leg_id])
            return
        answer.cancel()
        await consult.leg.hangup()
        if consult.agent_id is not None:
            svc.agent_missed(consult.agent_id)
        await self._back_to_caller()
        self._journal("attended", self._target, None, "failed")
        self.consult = None

    async def _complete(self, *, by_hangup: bool = False) -> None:
        s = self.s
        svc = s.service
        consult = self.consult
        if consult is None or not consult.answered:
            raise NotPermitted("the transfer target has not answered")
        if consult.leg.ended:
            # nobody to hand the caller to: back with the agent, who stays on the call
            await self._cancel_consult(outcome="failed")
            raise NotPermitted("the transfer target hung up")
        if not by_hangup:
            await self.party.leg.hangup()
        self._party_left("transfer")
        await svc.tel.destroy_bridge(f"{self.bridge_id}-consult")
        await svc.tel.stop_moh(s.caller_channel)
        await svc.tel.bridge(self.bridge_id, [s.caller_channel, consult.leg.leg_id])
        self._journal(
            "attended", self._target, self.consult_request.by if self.consult_request else None, "completed"
        )
        consult.since = svc.clock.monotonic()
        self.party = consult
        self.consult = None
        self.consult_request = None

    async def _cancel_consult(self, outcome: str | None = None) -> None:
        consult = self.consult
        if consult is None:
            return
        svc = self.s.service
        if self._consult_answer is not None:
            self._consult_answer.cancel()
            self._consult_answer = None
        await consult.leg.hangup()
        if consult.agent_id is not None:
            if consult.answered:
                talk_s = round(svc.clock.monotonic() - consult.since, 3)
                record(
                    self.s,
                    EventKind.AGENT_DISCONNECTED,
                    agent_id=consult.agent_id,
                    leg_id=consult.leg.leg_id,
                    talk_s=talk_s,
                    hold_s=0.0,
                    by="consultation",
                )
                svc.agent_call_ended(consult.agent_id, self.s.queue, talk_s)
            else:
                svc.agent_released(consult.agent_id)
        await svc.tel.destroy_bridge(f"{self.bridge_id}-consult")
        self.consult = None
        if outcome is not None:
            by = self.consult_request.by if self.consult_request else None
            self._journal("attended", self._target, by, outcome)
            await self._back_to_caller()
        self.consult_request = None

    async def _back_to_caller(self) -> None:
        s = self.s
        svc = s.service
        await svc.tel.stop_moh(s.caller_channel)
        with contextlib.suppress(CallGone):
            await svc.tel.bridge(self.bridge_id, [s.caller_channel, self.party.leg.leg_id])
