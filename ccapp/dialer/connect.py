"""A line from its dial to its end: answer → AMD → a person to an agent within 2 s (or the abandon
message), a machine to its treatment; then the agent's disposition decides the lead's next attempt.

`run_line` runs in the line's own task until the dialplan hands the answered call back;
`outbound_route` is the call service's handler of ``Stasis(<app>,outbound,<attempt>,<AMDSTATUS>,
<AMDCAUSE>)`` and runs in the call's task. The 2-second clock starts at the answer as Asterisk
reported it (the line's first StasisStart): the agent must be talking, or the message playing,
before ``answered + connect_within_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ccapp.acd.model import AgentState
from ccapp.acd.session import QueueSession
from ccapp.acd.talk import Talk
from ccapp.calls.call import Call
from ccapp.calls.model import EventKind
from ccapp.calls.ports import CallControl
from ccapp.dialer.attempt import MACHINE, Attempt, disposition_result
from ccapp.dialer.campaign import CampaignRun
from ccapp.dialer.retry import AttemptResult
from ccapp.errors import CallGone

if TYPE_CHECKING:
    from ccapp.dialer.service import DialerService

log = logging.getLogger("ccapp.dialer.connect")

S = AgentState
#: the abandon message must be *heard* by the deadline: the decision is taken this much earlier (a
#: playback takes ~0.1 s to start and its audio a few frames to reach the caller; measured on the test
#: bed: without a margin the message began 2.06 s after the answer)
PLAY_MARGIN_S = 0.5
#: played when the campaign's own abandon message cannot be (asterisk-conf/sounds)
DEFAULT_ABANDON_MESSAGE = "ccapp/ccapp-abandon"
#: an agent freed later than this before the decision is not rung: the phone could not answer in time
_RING_MARGIN_S = 0.25
#: after the talk, how long past the wrap-up a disposition is waited for
_DISPOSITION_GRACE_S = 120.0
AMD_TIMEOUT_S = 12.0


async def run_line(svc: DialerService, run: CampaignRun, attempt: Attempt) -> None:
    """Dial the lead; on answer hold an agent (predictive) and send the line to AMD; record a line
    that was not answered, or that hung up (or stalled) during AMD."""
    s = run.settings
    amd = "1" if s.amd and not attempt.preview else "0"
    try:
        line = await svc.tel.originate(
            s.dial_string(attempt.phone),
            attempt_id=attempt.attempt_id,
            caller_id=s.caller_id,
            timeout_s=s.ring_timeout_s,
            variables={
                "CCAPP_APP": svc.app_name,
                "CCAPP_ATTEMPT": attempt.attempt_id,
                "CCAPP_CAMPAIGN": run.campaign_id,
                "CCAPP_AMD": amd,
                "CCAPP_AMD_PARAMS": s.amd_params,
            },
        )
        attempt.line = line
        answer = await line.wait_answer()
        if not answer.answered:
            svc.line_unanswered(run, attempt, answer.cause, answer.cause_text)
            return
        # the 2-second clock starts at Asterisk's answer, not when ccapp heard of it (a busy event
        # loop can be a few hundred milliseconds behind)
        now, mono = svc.clock.now(), svc.clock.monotonic()
        lag = min(1.0, max(0.0, (now - answer.at).total_seconds())) if answer.at is not None else 0.0
        attempt.answered_mono = mono - lag
        attempt.answered_at = answer.at or now
        if attempt.agent_id is None and run.mode == "predictive":
            attempt.agent_id = svc.reserve(run, attempt.attempt_id)
        if attempt.agent_id is not None and attempt.agent_leg is None and s.ring_agent_at == "answer":
            await ring_agent(svc, run, attempt)
        with contextlib.suppress(CallGone):  # gone already: wait_gone below tells
            await line.detect({})
        await svc.store.attempt_updated(attempt.attempt_id, answered_at=attempt.answered_at)
        back = asyncio.ensure_future(attempt.handed_back.wait())
        gone = asyncio.ensure_future(line.wait_gone())
        try:
            done, _ = await asyncio.wait(
                {back, gone}, timeout=AMD_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            back.cancel()
            gone.cancel()
        if attempt.handed_back.is_set():
            return  # the call's own task (outbound_route) has it now
        cause: int | None = gone.result()[0] if gone in done and not gone.cancelled() else None
        if gone not in done:
            log.warning(
                "attempt %s: no AMD verdict after %.0f s; hanging up", attempt.attempt_id, AMD_TIMEOUT_S
            )
            await line.hangup()
        # the person (or machine) hung up while AMD listened: not a live answer ccapp could serve
        attempt.resolved = True
        run.history.dial_ended(
            svc.clock.monotonic(), outcome="failed", after_s=attempt.answered_mono - attempt.dialled_mono
        )
        svc.release_agent(attempt)
        await svc.finish(
            attempt,
            AttemptResult.NO_ANSWER,
            last_result="hung_up_during_amd",
            result="failed",
            hangup_cause=cause,
            ended_at=svc.clock.now(),
        )
    except asyncio.CancelledError:
        svc.release_agent(attempt)
        raise
    except Exception:
        log.exception("attempt %s failed", attempt.attempt_id)
        svc.release_agent(attempt)
        if attempt.line is not None and not attempt.handed_back.is_set():
            await attempt.line.hangup()  # never a person left on an answered line in silence
        if attempt.attempt_id in svc.attempts and not attempt.handed_back.is_set():
            await svc.finish(attempt, AttemptResult.FAILED, result="failed", ended_at=svc.clock.now())


async def ring_agent(svc: DialerService, run: CampaignRun, attempt: Attempt) -> None:
    """Ring the attempt's held agent; the leg's answer is awaited later (`attempt.agent_answered`)."""
    acd = svc.acd
    assert attempt.agent_id is not None
    agent = acd.desk.get(attempt.agent_id)
    acd.desk.change(agent, S.RINGING)
    leg = await acd.tel.dial(
        agent.endpoint,
        caller_id=f'"{run.campaign_id}" <{attempt.phone}>',
        timeout_s=acd.queue_settings(run.queue).ring_timeout_s,
        variables={"CCAPP_ATTEMPT": attempt.attempt_id, "CCAPP_CAMPAIGN": run.campaign_id},
    )
    attempt.agent_leg = leg
    attempt.agent_rung_mono = svc.clock.monotonic()
    attempt.agent_answered = asyncio.ensure_future(leg.wait_answer())


class OutboundSession(QueueSession):
    """A campaign call's stay with the ACD: a `QueueSession` that never waits in line (the dialer
    picked its agent) and tells when the bridge is up (`QueueSession._connected` starts the talk)."""

    on_bridged: Callable[[], None] | None = None
    _talk: Talk | None = None

    @property
    def talk(self) -> Talk | None:
        return self._talk

    @talk.setter
    def talk(self, value: Talk | None) -> None:
        if value is not None and self._talk is None and self.on_bridged is not None:
            self.on_bridged()
        self._talk = value


# ---------------------------------------------------------------------------------- after AMD
async def outbound_route(
    svc: DialerService, call: Call, control: CallControl, params: tuple[str, ...]
) -> str:
    """The answered line is back from AMD with its verdict: a person goes to an agent, a machine
    to the campaign's treatment."""
    attempt = svc.attempts.get(params[0]) if params else None
    if attempt is None:
        log.warning("outbound call for unknown attempt %r (from before a restart?): hanging up", params[:1])
        with contextlib.suppress(CallGone):
            await control.hangup()
        return "orphan"
    run = svc.runs[attempt.campaign_id]
    verdict = (params[1] if len(params) > 1 else "") or "NOTSURE"
    attempt.verdict = verdict
    attempt.call_id = call.call_id
    attempt.handed_back.set()
    mono = svc.clock.monotonic()
    answered_mono = attempt.answered_mono if attempt.answered_mono is not None else mono
    call.record(
        EventKind.VARIABLE,
        {"name": "outbound", "value": f"{run.campaign_id}/{attempt.lead_id}/{attempt.attempt_id}"},
    )
    call.record(
        EventKind.VARIABLE,
        {
            "name": "amd",
            "value": f"{verdict}/{params[2] if len(params) > 2 else ''}",
            "after_answer_s": round(mono - answered_mono, 3),
        },
    )
    after = answered_mono - attempt.dialled_mono
    audit = verdict == MACHINE and svc.rng.random() < run.settings.amd_audit_fraction
    if audit:
        # an audit sample: an agent hears this "machine" and dispositions it (the AMD report's truth)
        call.record(EventKind.VARIABLE, {"name": "amd_audit", "value": "1"})
    if verdict == MACHINE and not audit:
        run.history.dial_ended(mono, outcome="machine", after_s=after)
        svc.release_agent(attempt)
        return await _machine(svc, run, attempt, control)
    # the pacer and the abandon budget count what AMD said: an audited machine is not a live answer
    run.history.dial_ended(mono, outcome="machine" if audit else "live", after_s=after)
    if not audit:
        run.window_live += 1
    await svc.store.attempt_updated(
        attempt.attempt_id,
        call_id=call.call_id,
        amd=verdict if run.settings.amd and not attempt.preview else None,
        result="machine" if audit else "notsure" if verdict == "NOTSURE" else "human",
    )
    return await _person(svc, run, attempt, call, control)


async def _machine(svc: DialerService, run: CampaignRun, attempt: Attempt, control: CallControl) -> str:
    s = run.settings
    outcome = "machine_hangup"
    try:
        if s.machine == "message" and s.machine_message:
            message = await svc.acd.render(s.machine_message)
            await control.set_variable("CCAPP_MACHINE_MESSAGE", message)
            await control.continue_in_dialplan("ccapp-outbound", "machine", 1)
            outcome = "machine_message"
        else:
            await control.hangup()
    except CallGone:
        pass
    except Exception:
        log.exception(
            "attempt %s: machine message %r failed; hanging up", attempt.attempt_id, s.machine_message
        )
        with contextlib.suppress(CallGone):
            await control.hangup()
    await svc.finish(
        attempt,
        AttemptResult.MACHINE,
        last_result=outcome,
        call_id=attempt.call_id,
        amd=MACHINE,
        result="machine",
        ended_at=svc.clock.now(),
    )
    return outcome


async def _person(
    svc: DialerService, run: CampaignRun, attempt: Attempt, call: Call, control: CallControl
) -> str:
    acd = svc.acd
    answered = attempt.answered_mono if attempt.answered_mono is not None else svc.clock.monotonic()
    deadline = answered + run.settings.connect_within_s - PLAY_MARGIN_S
    session = OutboundSession(
        acd,
        call,
        control,
        queue=run.queue,
        priority=0,
        variables={"campaign": run.campaign_id, "lead_id": attempt.lead_id},
    )
    session.entry = acd.next_entry(call.call_id)
    acd.sessions[call.call_id] = session
    svc.by_call[call.call_id] = attempt
    try:
        got = await _agent_for(svc, run, attempt, deadline)
        if got is None:
            return await _abandon(svc, run, attempt, call, control)
        agent_id, leg, ring_s = got
        acd.desk.reassign(agent_id, call.call_id, run.queue)

        def bridged() -> None:
            attempt.connected = True
            connect_s = round(svc.clock.monotonic() - answered, 3)
            call.record(EventKind.VARIABLE, {"name": "connected_after_answer_s", "value": str(connect_s)})
            svc.spawn(
                svc.store.attempt_updated(
                    attempt.attempt_id, agent_id=agent_id, connected_at=svc.clock.now()
                ),
                name=f"connected-{attempt.attempt_id}",
            )

        session.on_bridged = bridged
        start = svc.clock.monotonic()
        try:
            result = await session._connected(agent_id, leg, ring_s)
        except CallGone:
            if not attempt.connected:
                raise  # the person hung up before the bridge (the agent is wrapping up already)
            result = ("answered", None)  # the person hung up during the talk
        if not attempt.connected:
            # the agent's phone hung up before the bridge: the person is still there, alone
            attempt.agent_id, attempt.agent_leg = None, None
            await acd.tel.stop_moh(session.caller_channel)
            return await _abandon(svc, run, attempt, call, control)
        talk_s = round(svc.clock.monotonic() - start, 3)
        run.history.handled(svc.clock.monotonic(), talk_s + acd.queue_settings(run.queue).wrap_up_s)
        with contextlib.suppress(CallGone):
            await control.hangup()  # the agent left first: the call is over for the lead too
        svc.spawn(_after_talk(svc, run, attempt, talk_s), name=f"disposition-{attempt.attempt_id}")
        return "answered" if result is not None else "agent_gone"
    except CallGone:
        # the person hung up before an agent came: not an abandon by ccapp, but not reached either
        svc.release_agent(attempt)
        await svc.finish(
            attempt, AttemptResult.NO_ANSWER, last_result="hung_up_before_agent", ended_at=svc.clock.now()
        )
        return "caller_hangup"
    finally:
        await session._stop_watch()  # a pending read of the keys (it also saw the hang-up)
        acd.session_done(session)


async def _agent_for(
    svc: DialerService, run: CampaignRun, attempt: Attempt, deadline: float
) -> tuple[str, Any, float] | None:
    """The agent who will talk to the person, their answered leg and ring time; None when no agent
    can be talking by ``deadline``. An agent whose phone fails is replaced while time remains."""
    while True:
        if attempt.agent_id is None:
            attempt.agent_id = await _wait_agent(svc, run, attempt, deadline - _RING_MARGIN_S)
            if attempt.agent_id is None:
                return None
        if attempt.agent_leg is None:
            await ring_agent(svc, run, attempt)
        assert attempt.agent_answered is not None
        remaining = deadline - svc.clock.monotonic()
        try:
            async with asyncio.timeout(max(0.01, remaining)):
                outcome = await asyncio.shield(attempt.agent_answered)
        except TimeoutError:
            outcome = None
        agent_id = attempt.agent_id
        if outcome is not None and outcome.answered:
            return agent_id, attempt.agent_leg, round(svc.clock.monotonic() - attempt.agent_rung_mono, 3)
        log.warning("attempt %s: agent %s did not answer in time", attempt.attempt_id, agent_id)
        leg = attempt.agent_leg
        attempt.agent_id, attempt.agent_leg = None, None
        svc.spawn(leg.hangup(), name=f"agent-leg-{attempt.attempt_id}")  # the message comes first
        svc.acd.agent_missed(agent_id)
        if outcome is None:
            return None  # the deadline came


async def _wait_agent(svc: DialerService, run: CampaignRun, attempt: Attempt, until: float) -> str | None:
    while True:
        agent_id = svc.reserve(run, attempt.attempt_id)
        if agent_id is not None:
            return agent_id
        left = until - svc.clock.monotonic()
        if left <= 0:
            return None
        run.agent_freed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(left):
                await run.agent_freed.wait()


async def _abandon(
    svc: DialerService, run: CampaignRun, attempt: Attempt, call: Call, control: CallControl
) -> str:
    """No agent in time: the short recorded message, then hang up; counted against the budget."""
    attempt.abandoned = True
    if attempt.verdict != MACHINE:  # an audited machine is not a live answer (see outbound_route)
        run.window_abandoned += 1
    answered = attempt.answered_mono if attempt.answered_mono is not None else svc.clock.monotonic()
    message = run.settings.abandon_message
    call.record(
        EventKind.PROMPT,
        {
            "prompts": [message],
            "purpose": "abandon",
            "after_answer_s": round(svc.clock.monotonic() - answered, 3),
        },
    )
    svc.spawn(
        svc.store.attempt_updated(attempt.attempt_id, abandoned=True), name=f"abandoned-{attempt.attempt_id}"
    )
    try:
        with contextlib.suppress(CallGone):
            await control.play([await svc.acd.render(message)])
    except Exception:
        # a message that cannot be rendered or played must not keep the person on a silent line; the
        # law still wants a message: the recorded default
        log.exception("attempt %s: abandon message %r failed", attempt.attempt_id, message)
        with contextlib.suppress(Exception):
            await control.play([DEFAULT_ABANDON_MESSAGE])
    finally:
        with contextlib.suppress(CallGone):
            await control.hangup()
        # an audited machine no agent took is retried as a machine, not after the abandon delay
        result = AttemptResult.MACHINE if attempt.verdict == MACHINE else AttemptResult.ABANDONED
        await svc.finish(attempt, result, abandoned=True, ended_at=svc.clock.now())
    return "abandoned"


async def _after_talk(svc: DialerService, run: CampaignRun, attempt: Attempt, talk_s: float) -> None:
    """Wait for the agent's disposition (during the talk or the wrap-up), then close the attempt."""
    wait = svc.acd.queue_settings(run.queue).wrap_up_s + _DISPOSITION_GRACE_S
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(wait):
            await attempt.disposed.wait()
    fields: dict[str, Any] = {"talk_s": talk_s, "ended_at": svc.clock.now()}
    if attempt.disposition is None:
        log.info("attempt %s: no disposition; lead closed as contacted", attempt.attempt_id)
        await svc.finish(attempt, None, last_result="no_disposition", **fields)
        return
    outcome, right_party, callback_at = attempt.disposition
    retry = disposition_result(outcome, right_party, callback_at)
    await svc.finish(
        attempt,
        retry,
        right_party=right_party,
        callback_at=callback_at,
        outcome=outcome,
        **fields,
    )
