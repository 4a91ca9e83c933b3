"""`DialerService`: runs the campaigns — pacing, lead checks at dial time, lines, agents, results.

One task per campaign wakes once a second (or when an agent frees, a line resolves, a command
arrives), re-reads the campaign's status from the database (so ``ccapp campaign pause`` from another
process takes effect within a second; the API's commands take effect at once), asks the pacer
(`ccapp.dialer.pacing.lines_to_dial`) how many lines to dial and dials that many due leads. Every
lead is checked just before its line is originated: do-not-call lists (one database query, so an
entry added a moment ago counts), its calling window in its own zone, and the per-number daily cap.

Each line runs in a task of its own (`_run_line`) until its answer; then the dialplan's AMD hands
the answered call back as a new Stasis call, which `ccapp.dialer.connect` takes to an agent, to the
abandon message, or to the machine treatment. Results go to ``dial_attempts`` and the lead is
rescheduled by the campaign's `RetryPolicy` (`finish`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ccapp.acd.errors import NotPermitted
from ccapp.acd.model import Agent, AgentState
from ccapp.acd.service import AcdService
from ccapp.acd.states import StateChange
from ccapp.clock import Clock
from ccapp.config.campaigns import CampaignSettings
from ccapp.dialer import preview
from ccapp.dialer.attempt import Attempt, network_result, new_attempt_id
from ccapp.dialer.campaign import RUNNING, CampaignRun
from ccapp.dialer.pacing import lines_to_dial
from ccapp.dialer.ports import OutboundTelephony
from ccapp.dialer.preview import PreviewOffer
from ccapp.dialer.retry import AttemptResult
from ccapp.dialer.windows import local_day_bounds
from ccapp.storage.dialer_store import DialerStore, LeadRecord
from ccapp.storage.dnc_check import dnc_blocked

log = logging.getLogger("ccapp.dialer")

S = AgentState
#: the abandon window's counts are re-read from the database this often (in between: counted here)
_WINDOW_REFRESH_S = 60.0


class DialerService:
    def __init__(
        self,
        *,
        campaigns: Mapping[str, CampaignSettings],
        acd: AcdService,
        tel: OutboundTelephony,
        store: DialerStore,
        clock: Clock,
        app_name: str,
        tick_s: float = 1.0,
    ) -> None:
        self.acd = acd
        self.tel = tel
        self.store = store
        self.clock = clock
        self.app_name = app_name
        self.tick_s = tick_s
        #: draws the AMD audit sample (`CampaignSettings.amd_audit_fraction`); seeded in tests
        self.rng = random.Random()
        self.runs = {cid: CampaignRun(cid, settings) for cid, settings in campaigns.items()}
        #: every attempt in progress, by id (lines ringing, in AMD, with a person, waiting a disposition)
        self.attempts: dict[str, Attempt] = {}
        #: connected attempts by call id, until their disposition (or the wrap-up's end)
        self.by_call: dict[str, Attempt] = {}
        #: preview mode: the lead each agent is looking at
        self.previews: dict[str, PreviewOffer] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        acd.desk.campaign_of = self._campaign_of
        acd.desk.subscribers.append(self._agent_changed)
        acd.disposition_hooks.append(self._disposition)
        acd.work_owners.append(self._owns)

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        now = self.clock.now()
        for run in self.runs.values():
            s = run.settings
            await self.store.ensure_campaign(run.campaign_id, mode=s.mode, queue=s.queue)
            stale = await self.store.reset_stale_dialling(run.campaign_id, now=now)
            if stale:
                log.warning(
                    "campaign %s: %d lead(s) left dialling by a stop; rescheduled", run.campaign_id, stale
                )
            run.status = await self.store.campaign_status(run.campaign_id) or "stopped"
            self.spawn(self._loop(run), name=f"campaign-{run.campaign_id}")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("dialer task %s failed", task.get_name(), exc_info=task.exception())

    def run_of(self, campaign_id: str) -> CampaignRun:
        run = self.runs.get(campaign_id)
        if run is None:
            raise NotPermitted(f"no campaign {campaign_id!r} in the configuration")
        return run

    # ------------------------------------------------------------------ commands (API, CLI)
    async def command(self, campaign_id: str, action: str, *, actor: str | None) -> str:
        """Start, pause or stop a campaign (the one choke point of its status); returns the new status.
        Pausing stops new dials at once; lines already ringing or talking go on."""
        run = self.run_of(campaign_id)
        target = run.transition(action)
        before = run.status
        # in memory first: no round may dial once a pause is asked for, even while it is written
        run.status = target
        run.commands += 1
        try:
            await self.store.set_campaign_status(
                campaign_id, target, at=self.clock.now(), actor=actor, detail={"from": before}
            )
        except BaseException:
            run.status = before
            raise
        log.info("campaign %s: %s → %s (by %s)", campaign_id, before, target, actor or "?")
        if target != RUNNING:
            await preview.withdraw(self, run)
        run.wake.set()
        return target

    def preview_of(self, agent_id: str) -> dict[str, Any] | None:
        """The lead offered to ``agent_id`` (preview mode), or None."""
        offer = self.previews.get(agent_id)
        return None if offer is None else offer.view()

    async def preview_accept(self, agent_id: str) -> dict[str, Any]:
        """The agent takes the lead: ring the agent, then dial the lead."""
        return await preview.accept(self, agent_id)

    async def preview_skip(self, agent_id: str) -> None:
        """The agent passes on the lead: it is due again later; the agent gets the next one."""
        await preview.skip(self, agent_id)

    async def view(self, campaign_id: str) -> dict[str, Any]:
        run = self.run_of(campaign_id)
        s = run.settings
        return {
            "campaign_id": campaign_id,
            "mode": s.mode,
            "queue": s.queue,
            "status": run.status,
            "lines_in_flight": sum(1 for a in run.attempts.values() if a.in_flight),
            "attempts_in_progress": len(run.attempts),
            "leads": await self.store.lead_counts(campaign_id),
            "abandon": {
                "target": s.abandon_target,
                "window": s.abandon_window,
                "live_answers": run.window_live,
                "abandoned": run.window_abandoned,
            },
        }

    # ------------------------------------------------------------------ the campaign loop
    async def _loop(self, run: CampaignRun) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tick_s):
                    await run.wake.wait()
            run.wake.clear()
            try:
                await self._tick(run)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("campaign %s: dialling round failed", run.campaign_id)

    async def _tick(self, run: CampaignRun) -> None:
        commands = run.commands
        stored = await self.store.campaign_status(run.campaign_id)
        if run.commands != commands:
            return  # a command changed the status while it was read: that read is stale
        if stored is not None and stored != run.status:
            log.info(
                "campaign %s: status %s → %s (changed outside this process)",
                run.campaign_id,
                run.status,
                stored,
            )
            run.status = stored
        if run.status != RUNNING:
            return
        await self._refresh_window(run)
        if run.mode == "preview":
            await preview.offer_leads(self, run)
            return
        wanted = self.lines_wanted(run)
        if wanted <= 0:
            if not run.attempts:
                await self.maybe_finished(run)
            return
        now = self.clock.now()
        leads = await self.store.due_leads(run.campaign_id, now, limit=max(4 * wanted, 20))
        dialled = 0
        for lead in leads:
            if dialled >= wanted or run.status != RUNNING:
                break
            if await self.dial_lead(run, lead):
                dialled += 1
        if not leads and not run.attempts:
            await self.maybe_finished(run)

    def lines_wanted(self, run: CampaignRun) -> int:
        """What the pacer says, under the guard of at most ``max_lines_per_agent`` lines per agent."""
        members = self.acd.desk.in_queue(run.queue)
        logged_in = [a for a in members if a.state is not S.LOGGED_OUT]
        if not logged_in:
            return 0
        wrap = self.acd.queue_settings(run.queue).wrap_up_s
        floor = run.floor(logged_in, self.clock.now(), self.clock.monotonic(), wrap)
        if run.mode == "progressive":
            # one line per ready agent, each reserved for its line from the dial (never an abandon)
            return floor.ready
        stats = run.history.stats(self.clock.monotonic())
        budget = run.budget()
        n = lines_to_dial("predictive", stats, floor, budget)
        cap = int(run.settings.max_lines_per_agent * len(logged_in)) - len(floor.in_flight_s)
        return max(0, min(n, cap))

    async def maybe_finished(self, run: CampaignRun) -> None:
        counts = await self.store.lead_counts(run.campaign_id)
        if not any(counts.get(s, 0) for s in ("new", "scheduled", "dialling")):
            await self.command(run.campaign_id, "finish", actor="dialer")

    async def _refresh_window(self, run: CampaignRun) -> None:
        mono = self.clock.monotonic()
        if mono - run.window_read_mono < _WINDOW_REFRESH_S:
            return
        since = self.clock.now() - timedelta(seconds=run.settings.abandon_window_s)
        run.window_live, run.window_abandoned = await self.store.abandon_window(run.campaign_id, since)
        run.window_read_mono = mono

    # ------------------------------------------------------------------ checks at dial time
    async def dial_lead(self, run: CampaignRun, lead: LeadRecord, agent_id: str | None = None) -> bool:
        """Check ``lead`` (do-not-call, window, daily cap), claim it and dial it; False when it was not
        dialled (it is then rescheduled, blocked or taken by someone else)."""
        if not await self.dialable(run, lead):
            return False
        now = self.clock.now()
        if not await self.store.claim(lead.lead_id, now):
            return False
        if run.status != RUNNING:  # paused while this lead was being checked: not one more dial
            await self.store.release(lead.lead_id, status=lead.status, next_attempt_at=lead.next_attempt_at)
            return False
        attempt_id = new_attempt_id()
        if run.mode == "progressive" and agent_id is None:
            agent_id = self.reserve(run, attempt_id)
            if agent_id is None:
                await self.store.release(
                    lead.lead_id, status=lead.status, next_attempt_at=lead.next_attempt_at
                )
                return False
        await self.launch(run, lead, attempt_id, agent_id)
        return True

    async def launch(
        self,
        run: CampaignRun,
        lead: LeadRecord,
        attempt_id: str,
        agent_id: str | None,
        *,
        preview: bool = False,
        before: Any = None,
    ) -> Attempt:
        """Start the line of a checked and claimed lead in a task of its own; ``before`` (a coroutine
        function of the attempt) runs first in that task (preview: ring the agent)."""
        now = self.clock.now()
        attempt = Attempt(
            attempt_id=attempt_id,
            campaign_id=run.campaign_id,
            lead_id=lead.lead_id,
            phone=lead.phone,
            zone=lead.time_zone or run.settings.default_zone,
            attempts_before=lead.attempts,
            dialled_mono=self.clock.monotonic(),
            started_at=now,
            agent_id=agent_id,
            callback_at=lead.callback_at,
            preview=preview,
        )
        self.attempts[attempt_id] = attempt
        run.attempts[attempt_id] = attempt
        self.spawn(self._run_line(run, attempt, before), name=f"line-{attempt_id}")
        return attempt

    @staticmethod
    def dnc_lists_of(run: CampaignRun) -> tuple[str, ...]:
        """The do-not-call lists a campaign's numbers are checked against."""
        return (*run.settings.dnc_lists, f"campaign:{run.campaign_id}")

    async def listed(self, run: CampaignRun, lead_id: str, phone: str) -> bool:
        """True (and the lead closed as ``dnc``) when a do-not-call list of the campaign has ``phone``."""
        blocked = await dnc_blocked(self.store.db, phone, self.dnc_lists_of(run))
        if blocked is None:
            return False
        log.info("campaign %s: lead %s blocked by do-not-call list %s", run.campaign_id, lead_id, blocked)
        await self.store.release(lead_id, status="dnc", next_attempt_at=None, reason=f"dnc:{blocked}")
        return True

    async def dialable(self, run: CampaignRun, lead: LeadRecord) -> bool:
        """Whether ``lead`` may be dialled now: not listed do-not-call, inside its calling window,
        under the daily cap. Otherwise it is closed (``dnc``, ``exhausted``) or rescheduled."""
        if await self.listed(run, lead.lead_id, lead.phone):
            return False
        now = self.clock.now()
        zone = run.zone(lead.time_zone)
        today = await self.store.dialled_since(lead.phone, local_day_bounds(now, zone)[0])
        # the retry policy's own placement: the next instant in a window under the daily cap
        opens = run.policy.place(now, zone, today)
        if opens == now:
            return True
        window_open = run.windows.open_at(now, zone)
        reason = "daily_cap" if window_open else "outside_window" if opens else "no_window"
        await self.store.release(
            lead.lead_id, status="scheduled" if opens else "exhausted", next_attempt_at=opens, reason=reason
        )
        return False

    # ------------------------------------------------------------------ agents
    def reserve(self, run: CampaignRun, work_id: str) -> str | None:
        """Hold the campaign's longest-idle ready agent for ``work_id``; None when nobody is ready."""
        ready = [a for a in self.acd.desk.in_queue(run.queue) if a.state is S.READY]
        if not ready:
            return None
        agent = min(ready, key=lambda a: (a.state_since or datetime.min.replace(tzinfo=None), a.agent_id))
        self.acd.desk.change(agent, S.RESERVED, call_id=work_id, queue=run.queue)
        return agent.agent_id

    def release_agent(self, attempt: Attempt) -> None:
        """The attempt no longer needs its agent (machine, no answer, gone): hang up a rung phone."""
        agent_id, leg = attempt.agent_id, attempt.agent_leg
        attempt.agent_id, attempt.agent_leg = None, None
        if leg is not None:
            self.spawn(leg.hangup(), name=f"agent-leg-{attempt.attempt_id}")
        if agent_id is not None:
            self.acd.agent_released(agent_id)

    def _owns(self, work_id: str) -> bool:
        """Whether an agent's work id is the dialer's (a line, a connected call, a preview offer)."""
        if work_id in self.attempts or work_id in self.by_call:
            return True
        return any(offer.attempt_id == work_id for offer in self.previews.values())

    def _campaign_of(self, agent_id: str) -> str | None:
        agent = self.acd.desk.agents.get(agent_id)
        if agent is None or agent.state is S.LOGGED_OUT:
            return None
        for run in self.runs.values():
            if run.status == RUNNING and run.queue in agent.queues:
                return run.campaign_id
        return None

    def _agent_changed(self, change: StateChange, agent: Agent) -> None:
        if change.to_state is not S.READY:
            return
        for run in self.runs.values():
            if run.queue in agent.queues:
                run.agent_freed.set()
                run.wake.set()

    # ------------------------------------------------------------------ one line
    async def _run_line(self, run: CampaignRun, attempt: Attempt, before: Any = None) -> None:
        from ccapp.dialer.connect import run_line

        if before is not None and not await before(attempt):
            return
        # The do-not-call lists once more, as the last step before the originate: the attempt's time
        # is taken before this read, so any entry committed before that time is seen and no attempt
        # ever starts after an entry for its number went in (the earlier check only spares claims).
        attempt.dialled_mono = self.clock.monotonic()
        attempt.started_at = self.clock.now()
        if await self.listed(run, attempt.lead_id, attempt.phone):
            self.release_agent(attempt)
            self.forget(attempt)
            return
        await self.store.attempt_started(
            attempt_id=attempt.attempt_id,
            campaign_id=run.campaign_id,
            lead_id=attempt.lead_id,
            phone=attempt.phone,
            started_at=attempt.started_at,
        )
        await run_line(self, run, attempt)

    def line_unanswered(
        self, run: CampaignRun, attempt: Attempt, cause: int | None, text: str | None
    ) -> None:
        retry, result = network_result(cause)
        after = self.clock.monotonic() - attempt.dialled_mono
        run.history.dial_ended(self.clock.monotonic(), outcome=_pacing_outcome(result), after_s=after)
        attempt.resolved = True
        self.release_agent(attempt)
        self.spawn(
            self.finish(attempt, retry, result=result, hangup_cause=cause, ended_at=self.clock.now()),
            name=f"finish-{attempt.attempt_id}",
        )

    def forget(self, attempt: Attempt) -> None:
        """Drop an attempt that never dialled (preview: the agent did not answer, or the lead is
        no longer dialable)."""
        self.attempts.pop(attempt.attempt_id, None)
        self.runs[attempt.campaign_id].attempts.pop(attempt.attempt_id, None)

    async def finish(
        self,
        attempt: Attempt,
        retry: AttemptResult | None,
        *,
        last_result: str | None = None,
        right_party: bool | None = None,
        callback_at: datetime | None = None,
        **fields: Any,
    ) -> None:
        """The attempt is over: record its row and reschedule (or close) its lead by the retry policy.
        ``retry`` None: the lead is closed as ``done`` with ``last_result``."""
        run = self.runs[attempt.campaign_id]
        self.attempts.pop(attempt.attempt_id, None)
        run.attempts.pop(attempt.attempt_id, None)
        if attempt.call_id is not None:
            self.by_call.pop(attempt.call_id, None)
        run.wake.set()
        now = self.clock.now()
        if right_party is not None:
            fields["right_party"] = right_party
        try:
            if fields:
                await self.store.attempt_updated(attempt.attempt_id, **fields)
            attempts = attempt.attempts_before + 1
            if retry is None:
                status, nxt = "done", None
            else:
                if retry is AttemptResult.DO_NOT_CALL:
                    await self.store.dnc_add(
                        f"campaign:{run.campaign_id}",
                        [attempt.phone],
                        source=f"disposition:{attempt.attempt_id}",
                        default_region=run.settings.default_region,
                    )
                dialled = await self.store.dialled_since(attempt.phone, now - timedelta(days=2))
                nxt = run.policy.next_attempt(
                    retry, attempts, now, callback_at, zone=run.zone(attempt.zone), dialled_at=dialled
                )
                status = "done" if run.policy.is_final(retry) else "scheduled" if nxt else "exhausted"
            await self.store.lead_done_attempt(
                attempt.lead_id,
                status=status,
                attempts=attempts,
                last_attempt_at=attempt.started_at,
                last_result=last_result or (retry.value if retry else "done"),
                next_attempt_at=nxt,
                callback_at=callback_at if status == "scheduled" else None,
                right_party=right_party,
            )
        except Exception:
            log.exception("campaign %s: recording attempt %s failed", run.campaign_id, attempt.attempt_id)

    # ------------------------------------------------------------------ dispositions
    def _disposition(
        self,
        call_id: str,
        agent_id: str,
        outcome: str,
        right_party: bool | None,
        callback_at: datetime | None,
    ) -> None:
        attempt = self.by_call.get(call_id)
        if attempt is None:
            return
        attempt.disposition = (outcome, right_party, callback_at)
        attempt.disposed.set()


def _pacing_outcome(result: str) -> str:
    return {"busy": "busy", "no_answer": "no_answer", "congestion": "failed"}.get(result, "failed")
