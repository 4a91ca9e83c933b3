"""Preview mode: the agent sees the lead first and the line is dialled only when the agent accepts.

Each round, every ready agent of the campaign's queue without an offer is held (reserved) for one
due, checked and claimed lead, which the agent reads through the API (`DialerService.preview_of`).
Accept: ccapp rings the agent's phone, and once the agent answers it re-checks the lead (do-not-call
and window, at dial time) and dials it without AMD; the answered lead is bridged to the agent who is
already on the line. Skip, or no answer within ``preview_timeout_s``: the lead goes back (due again in
10 minutes) and the agent gets the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ccapp.acd.errors import NotPermitted
from ccapp.acd.model import AgentState
from ccapp.dialer.attempt import Attempt, new_attempt_id
from ccapp.dialer.campaign import CampaignRun
from ccapp.storage.dialer_store import LeadRecord

if TYPE_CHECKING:
    from ccapp.dialer.service import DialerService

log = logging.getLogger("ccapp.dialer.preview")

S = AgentState
#: a skipped or expired lead is due again this much later
SKIP_DELAY = timedelta(minutes=10)


@dataclass(eq=False)
class PreviewOffer:
    agent_id: str
    campaign_id: str
    attempt_id: str
    lead: LeadRecord
    offered_mono: float
    offered_at: datetime
    accepted: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "attempt_id": self.attempt_id,
            "lead_id": self.lead.lead_id,
            "phone": self.lead.phone,
            "name": self.lead.name,
            "time_zone": self.lead.time_zone,
            "attempts": self.lead.attempts,
            "offered_at": self.offered_at.isoformat(),
            "accepted": self.accepted,
        }


async def offer_leads(svc: DialerService, run: CampaignRun) -> None:
    """Expire stale offers, then hold each free agent of the campaign for one lead."""
    mono = svc.clock.monotonic()
    for offer in [o for o in svc.previews.values() if o.campaign_id == run.campaign_id]:
        if not offer.accepted and mono - offer.offered_mono > run.settings.preview_timeout_s:
            log.info("preview of lead %s to agent %s expired", offer.lead.lead_id, offer.agent_id)
            await _give_back(svc, offer)
    free = [
        a for a in svc.acd.desk.in_queue(run.queue) if a.state is S.READY and a.agent_id not in svc.previews
    ]
    if not free:
        return
    leads = await svc.store.due_leads(run.campaign_id, svc.clock.now(), limit=4 * len(free) + 4)
    for lead in leads:
        if not free or run.status != "running":
            break
        if not await svc.dialable(run, lead) or not await svc.store.claim(lead.lead_id, svc.clock.now()):
            continue
        agent = free.pop(0)
        attempt_id = new_attempt_id()
        svc.acd.desk.change(agent, S.RESERVED, call_id=attempt_id, queue=run.queue)
        svc.previews[agent.agent_id] = PreviewOffer(
            agent.agent_id, run.campaign_id, attempt_id, lead, mono, svc.clock.now()
        )
        log.info("preview: lead %s offered to agent %s", lead.lead_id, agent.agent_id)
    if (
        not leads
        and not run.attempts
        and not any(o.campaign_id == run.campaign_id for o in svc.previews.values())
    ):
        await svc.maybe_finished(run)


async def withdraw(svc: DialerService, run: CampaignRun) -> None:
    """The campaign was paused or stopped: offers not yet accepted go back, their agents are free."""
    for offer in [o for o in svc.previews.values() if o.campaign_id == run.campaign_id]:
        if not offer.accepted:
            await _give_back(svc, offer, reason="withdrawn")


async def accept(svc: DialerService, agent_id: str) -> dict[str, Any]:
    offer = _offer(svc, agent_id)
    if offer.accepted:
        raise NotPermitted("the lead is being dialled already")
    run = svc.run_of(offer.campaign_id)
    if run.status != "running":
        await _give_back(svc, offer, reason="withdrawn")
        raise NotPermitted(f"campaign {run.campaign_id!r} is {run.status}: the lead was not dialled")
    offer.accepted = True
    from ccapp.dialer.connect import ring_agent

    async def agent_first(attempt: Attempt) -> bool:
        """Ring the agent, wait for the answer, check the lead again (at dial time)."""
        await ring_agent(svc, run, attempt)
        assert attempt.agent_answered is not None
        answered = await attempt.agent_answered
        if not answered.answered:
            svc.previews.pop(agent_id, None)
            leg, attempt.agent_leg, attempt.agent_id = attempt.agent_leg, None, None
            await leg.hangup()
            svc.acd.agent_missed(agent_id)
            await svc.store.release(offer.lead.lead_id, status="scheduled", next_attempt_at=svc.clock.now())
            svc.forget(attempt)
            return False
        if run.status != "running":  # paused while the agent's phone rang: not one more dial
            svc.previews.pop(agent_id, None)
            svc.release_agent(attempt)
            svc.forget(attempt)
            await svc.store.release(offer.lead.lead_id, status="scheduled", next_attempt_at=svc.clock.now())
            return False
        if not await svc.dialable(run, offer.lead):
            svc.previews.pop(agent_id, None)
            svc.release_agent(attempt)
            svc.forget(attempt)
            return False
        svc.previews.pop(agent_id, None)
        return True

    await svc.launch(run, offer.lead, offer.attempt_id, agent_id, preview=True, before=agent_first)
    return offer.view()


async def skip(svc: DialerService, agent_id: str) -> None:
    offer = _offer(svc, agent_id)
    if offer.accepted:
        raise NotPermitted("the lead is being dialled already")
    await _give_back(svc, offer)


async def _give_back(svc: DialerService, offer: PreviewOffer, *, reason: str = "skipped") -> None:
    svc.previews.pop(offer.agent_id, None)
    # a withdrawn lead (the campaign paused) is due again as soon as it runs; a skipped one later
    due = svc.clock.now() + (SKIP_DELAY if reason == "skipped" else timedelta(0))
    await svc.store.release(offer.lead.lead_id, status="scheduled", next_attempt_at=due, reason=reason)
    svc.acd.agent_released(offer.agent_id)


def _offer(svc: DialerService, agent_id: str) -> PreviewOffer:
    offer = svc.previews.get(agent_id)
    if offer is None:
        raise NotPermitted(f"agent {agent_id!r} has no lead to preview")
    return offer
