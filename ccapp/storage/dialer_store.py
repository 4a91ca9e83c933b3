"""`DialerStore`: the dialer's repository (campaign status and journal, lead scheduling, dial attempts).

Every method is one short transaction, so the dialer never holds a lock across a call. Datetimes go in
and come out timezone-aware UTC (`ccapp.storage.models.UTCDateTime`). The lead import's bulk write and
the do-not-call lists live in `ccapp.storage.dialer_leads`; `DialerStore` exposes them too, so the
runtime needs one object.

Lead status: ``new`` → ``dialling`` (claimed) → ``scheduled`` (retry or callback later) | ``done`` (final)
| ``exhausted`` (max attempts) | ``dnc`` (blocked at dial time). Campaign status: ``stopped`` (default),
``running``, ``paused``, ``finished``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select, true, update

from ccapp.clock import Clock, SystemClock
from ccapp.dialer.amd_report import AmdAttempt
from ccapp.dialer.dnc import BadEntry, DncLists
from ccapp.storage import dialer_leads
from ccapp.storage.db import Database
from ccapp.storage.dialer_leads import append_event, ensure_campaign_row
from ccapp.storage.models import CampaignEventRow, CampaignRow, DialAttemptRow, LeadRow

CAMPAIGN_STATUSES = ("stopped", "running", "paused", "finished")
#: the journal action written for each status change
STATUS_ACTIONS = {"running": "start", "paused": "pause", "stopped": "stop", "finished": "finished"}
LEAD_STATUSES = ("new", "scheduled", "dialling", "done", "exhausted", "dnc")
#: statuses a lead may be claimed from
DIALLABLE = ("new", "scheduled")
#: dial results that mean a person (per AMD) answered
LIVE_RESULTS = ("human", "notsure")
#: dial_attempts columns `DialerStore.attempt_updated` may change
ATTEMPT_FIELDS = frozenset(
    {
        "answered_at",
        "ended_at",
        "result",
        "amd",
        "hangup_cause",
        "agent_id",
        "connected_at",
        "abandoned",
        "right_party",
        "outcome",
        "talk_s",
        "wrap_s",
        "call_id",
    }
)


@dataclass(frozen=True, slots=True)
class LeadRecord:
    """What the dialer needs of a lead to decide whether and when to dial it."""

    lead_id: str
    campaign_id: str
    phone: str
    time_zone: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    callback_at: datetime | None
    last_attempt_at: datetime | None
    line: int | None
    name: str | None


_LEAD_COLUMNS = (
    LeadRow.lead_id,
    LeadRow.campaign_id,
    LeadRow.phone,
    LeadRow.time_zone,
    LeadRow.status,
    LeadRow.attempts,
    LeadRow.next_attempt_at,
    LeadRow.callback_at,
    LeadRow.last_attempt_at,
    LeadRow.line,
    LeadRow.name,
)


class DialerStore:
    """Async repository of the dialer's tables over one `Database`."""

    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self._clock = clock or SystemClock()

    # -- campaigns -------------------------------------------------------------------------------

    async def ensure_campaign(self, campaign_id: str, *, mode: str, queue: str | None) -> None:
        """Create the campaign (status ``stopped``) if new, else refresh its mode and queue from config."""
        async with self.db.engine.begin() as conn:
            await ensure_campaign_row(conn, self.db.dialect, campaign_id, self._clock.now(), mode, queue)

    async def campaign_status(self, campaign_id: str) -> str | None:
        """The campaign's status, or None when there is no such campaign."""
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(select(CampaignRow.status).where(CampaignRow.campaign_id == campaign_id))
            ).first()
        if row is None:
            return None
        return row.status or "stopped"

    async def set_campaign_status(
        self,
        campaign_id: str,
        status: str,
        *,
        at: datetime,
        actor: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Change the status (creating the campaign when unknown) and journal it, in one transaction.

        Raises `ValueError` for a status outside `CAMPAIGN_STATUSES`.
        """
        if status not in CAMPAIGN_STATUSES:
            raise ValueError(f"unknown campaign status {status!r} (one of {', '.join(CAMPAIGN_STATUSES)})")
        async with self.db.engine.begin() as conn:
            await ensure_campaign_row(conn, self.db.dialect, campaign_id, at, None, None)
            await conn.execute(
                update(CampaignRow)
                .where(CampaignRow.campaign_id == campaign_id)
                .values(status=status, status_at=at, updated_by=actor)
            )
            await append_event(conn, campaign_id, STATUS_ACTIONS[status], at=at, actor=actor, detail=detail)

    async def add_campaign_event(
        self, campaign_id: str, action: str, *, at: datetime, actor: str | None, detail: dict[str, Any] | None
    ) -> None:
        """Journal something that is not a status change (e.g. a pacing alarm)."""
        async with self.db.engine.begin() as conn:
            await append_event(conn, campaign_id, action, at=at, actor=actor, detail=detail)

    async def campaign_events(self, campaign_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The campaign journal, oldest first (the last ``limit`` when given): id, at, action, actor,
        detail (a dict, or None)."""
        query = select(CampaignEventRow).where(CampaignEventRow.campaign_id == campaign_id)
        if limit is not None:
            query = query.order_by(CampaignEventRow.id.desc()).limit(limit)
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        events = [
            {
                "id": row["id"],
                "at": row["at"],
                "action": row["action"],
                "actor": row["actor"],
                "detail": json.loads(row["detail"]) if row["detail"] else None,
            }
            for row in rows
        ]
        return sorted(events, key=lambda e: (e["at"], e["id"]))

    async def campaigns(self) -> list[dict[str, Any]]:
        """Every campaign row (campaign_id, mode, queue, status, created_at, status_at, updated_by)."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(select(CampaignRow).order_by(CampaignRow.campaign_id))
            return [dict(row) for row in rows.mappings()]

    # -- leads -----------------------------------------------------------------------------------

    async def due_leads(self, campaign_id: str, now: datetime, limit: int) -> list[LeadRecord]:
        """Up to ``limit`` leads that may be dialled at ``now`` (status new or scheduled, next attempt
        unset or past), in this order: due callbacks (by time), due retries (by next attempt time,
        then line), new leads (by line in the file).

        Three indexed queries with LIMIT rather than one sort of every diallable lead: the dialer asks
        every pacing tick, and a campaign may hold a million new leads.
        """
        c = LeadRow
        is_due = c.next_attempt_at.is_(None) | (c.next_attempt_at <= now)
        queries = (
            select(*_LEAD_COLUMNS)
            .where(c.campaign_id == campaign_id, c.status == "scheduled", c.callback_at.is_not(None), is_due)
            .order_by(func.coalesce(c.next_attempt_at, c.callback_at), c.line, c.lead_id),
            # scheduled without a time (not written by this store, but allowed): due since ever
            select(*_LEAD_COLUMNS)
            .where(
                c.campaign_id == campaign_id,
                c.status == "scheduled",
                c.callback_at.is_(None),
                c.next_attempt_at.is_(None),
            )
            .order_by(c.line, c.lead_id),
            select(*_LEAD_COLUMNS)
            .where(
                c.campaign_id == campaign_id,
                c.status == "scheduled",
                c.callback_at.is_(None),
                c.next_attempt_at <= now,
            )
            .order_by(c.next_attempt_at, c.line, c.lead_id),
            select(*_LEAD_COLUMNS)
            .where(
                c.campaign_id == campaign_id,
                c.status == "new",
                c.callback_at.is_(None),
                c.next_attempt_at.is_(None) | (c.next_attempt_at <= now),
            )
            .order_by(c.line, c.lead_id),
        )
        found: list[LeadRecord] = []
        async with self.db.engine.connect() as conn:
            for query in queries:
                if len(found) >= limit:
                    break
                rows = (await conn.execute(query.limit(limit - len(found)))).all()
                found.extend(_record(row) for row in rows)
        return found

    async def lead(self, lead_id: str) -> LeadRecord | None:
        """One lead, or None."""
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(*_LEAD_COLUMNS).where(LeadRow.lead_id == lead_id))).first()
        return None if row is None else _record(row)

    async def claim(self, lead_id: str, now: datetime) -> bool:
        """Mark the lead ``dialling`` if it is still new or scheduled; False when another dialler (or a
        status change) got there first. One conditional UPDATE, so two claimers cannot both win."""
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(LeadRow)
                .where(LeadRow.lead_id == lead_id, LeadRow.status.in_(DIALLABLE))
                .values(status="dialling", claimed_at=now)
            )
        return bool(result.rowcount == 1)

    async def release(
        self, lead_id: str, *, status: str, next_attempt_at: datetime | None, reason: str | None = None
    ) -> None:
        """Hand a claimed lead back without an attempt (out of window → ``scheduled`` at the next
        opening; blocked → ``dnc``). ``reason``, when given, becomes ``last_result``."""
        _check_lead_status(status)
        values: dict[str, Any] = {"status": status, "next_attempt_at": next_attempt_at, "claimed_at": None}
        if reason is not None:
            values["last_result"] = reason
        async with self.db.engine.begin() as conn:
            await conn.execute(update(LeadRow).where(LeadRow.lead_id == lead_id).values(**values))

    async def lead_done_attempt(
        self,
        lead_id: str,
        *,
        status: str,
        attempts: int,
        last_attempt_at: datetime,
        last_result: str,
        next_attempt_at: datetime | None,
        callback_at: datetime | None = None,
        right_party: bool | None = None,
    ) -> None:
        """Record the end of an attempt on the lead: its new status and when to try again. A right-party
        contact sets ``right_party_reached`` for good (a later attempt never clears it)."""
        _check_lead_status(status)
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "last_attempt_at": last_attempt_at,
            "last_result": last_result,
            "next_attempt_at": next_attempt_at,
            "callback_at": callback_at,
            "claimed_at": None,
        }
        if right_party:
            values["right_party_reached"] = true()
        async with self.db.engine.begin() as conn:
            await conn.execute(update(LeadRow).where(LeadRow.lead_id == lead_id).values(**values))

    async def lead_counts(self, campaign_id: str) -> dict[str, int]:
        """Leads per status (only statuses that have leads)."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(LeadRow.status, func.count())
                .where(LeadRow.campaign_id == campaign_id)
                .group_by(LeadRow.status)
            )
            return {status or "new": count for status, count in rows.all()}

    async def reset_stale_dialling(self, campaign_id: str, *, now: datetime) -> int:
        """After a crash: leads left ``dialling`` become ``scheduled`` at ``now``; returns how many."""
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(LeadRow)
                .where(LeadRow.campaign_id == campaign_id, LeadRow.status == "dialling")
                .values(status="scheduled", next_attempt_at=now, claimed_at=None)
            )
        return int(result.rowcount)

    # -- dial attempts ---------------------------------------------------------------------------

    async def dialled_since(self, phone: str, since: datetime) -> list[datetime]:
        """Start times of every attempt on ``phone`` (any campaign) since ``since``, oldest first."""
        async with self.db.engine.connect() as conn:
            rows = await conn.scalars(
                select(DialAttemptRow.started_at)
                .where(DialAttemptRow.phone == phone, DialAttemptRow.started_at >= since)
                .order_by(DialAttemptRow.started_at)
            )
            return [at for at in rows.all() if at is not None]

    async def attempt_started(
        self,
        *,
        attempt_id: str,
        campaign_id: str,
        lead_id: str,
        phone: str,
        started_at: datetime,
        call_id: str | None = None,
    ) -> None:
        """Insert the attempt row when the dialler originates the call."""
        async with self.db.engine.begin() as conn:
            await conn.execute(
                insert(DialAttemptRow).values(
                    attempt_id=attempt_id,
                    campaign_id=campaign_id,
                    lead_id=lead_id,
                    phone=phone,
                    started_at=started_at,
                    call_id=call_id,
                )
            )

    async def attempt_updated(self, attempt_id: str, **fields: Any) -> None:
        """Set some of `ATTEMPT_FIELDS` on the attempt; raises `ValueError` naming any other field."""
        unknown = sorted(set(fields) - ATTEMPT_FIELDS)
        if unknown:
            raise ValueError(f"not a dial_attempts field: {', '.join(unknown)}")
        if not fields:
            return
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(DialAttemptRow).where(DialAttemptRow.attempt_id == attempt_id).values(**fields)
            )

    async def attempt(self, attempt_id: str) -> dict[str, Any] | None:
        """Every column of the attempt, or None."""
        async with self.db.engine.connect() as conn:
            row = (
                (await conn.execute(select(DialAttemptRow).where(DialAttemptRow.attempt_id == attempt_id)))
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    async def abandon_window(self, campaign_id: str, since: datetime) -> tuple[int, int]:
        """(live answers, abandoned) among the campaign's attempts started since ``since``: live means
        AMD said human or not sure; abandoned counts live answers that got no agent in time."""
        live = DialAttemptRow.result.in_(LIVE_RESULTS)
        query = select(
            func.coalesce(func.sum(case((live, 1), else_=0)), 0),
            func.coalesce(func.sum(case((live & DialAttemptRow.abandoned.is_(True), 1), else_=0)), 0),
        ).where(DialAttemptRow.campaign_id == campaign_id, DialAttemptRow.started_at >= since)
        async with self.db.engine.connect() as conn:
            answered, abandoned = (await conn.execute(query)).one()
        return int(answered), int(abandoned)

    # -- do-not-call lists (ccapp.storage.dialer_leads) ------------------------------------------

    async def dnc_lists(self) -> DncLists:
        """Every list and entry, loaded into a `DncLists` for dial-time checks."""
        return await dialer_leads.dnc_lists(self.db)

    async def dnc_add(
        self, list_name: str, entries: list[str], *, source: str | None, default_region: str
    ) -> tuple[int, list[BadEntry]]:
        """Add entries (numbers in any form, or ``+digits*`` prefixes); returns (newly added, bad)."""
        return await dialer_leads.dnc_add(
            self.db, list_name, entries, source=source, default_region=default_region, at=self._clock.now()
        )

    async def dnc_remove(self, list_name: str, entries: list[str], *, default_region: str) -> int:
        """Remove entries; returns how many were there. Raises `ValueError` on an unreadable entry."""
        return await dialer_leads.dnc_remove(self.db, list_name, entries, default_region=default_region)

    async def dnc_entries(self, list_name: str | None = None) -> list[tuple[str, str]]:
        """(list, entry) pairs, sorted; only ``list_name``'s when given."""
        return await dialer_leads.dnc_entries(self.db, list_name)


def _record(row: Any) -> LeadRecord:
    return LeadRecord(*row)


def _check_lead_status(status: str) -> None:
    if status not in LEAD_STATUSES:
        raise ValueError(f"unknown lead status {status!r} (one of {', '.join(LEAD_STATUSES)})")


async def amd_attempts(
    db: Database, start: datetime, end: datetime, campaign_id: str | None = None
) -> list[AmdAttempt]:
    """The attempts started in [start, end) (one campaign's when given), as the AMD report reads them."""
    query = select(
        DialAttemptRow.campaign_id,
        DialAttemptRow.phone,
        DialAttemptRow.amd,
        DialAttemptRow.outcome,
        DialAttemptRow.right_party,
    ).where(DialAttemptRow.started_at >= start, DialAttemptRow.started_at < end)
    if campaign_id is not None:
        query = query.where(DialAttemptRow.campaign_id == campaign_id)
    async with db.engine.connect() as conn:
        return [AmdAttempt(*row) for row in (await conn.execute(query)).all()]
