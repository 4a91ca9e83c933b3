"""The dialer's bulk writes: a lead import in one transaction, do-not-call entries, campaign rows/journal.

`store_import` is all or nothing: the leads, the ``lead_imports`` row and the ``import`` journal entry
commit together, so a crash (even SIGKILL) mid-import leaves no lead behind and the import can simply be
run again. Leads go in with chunked ``executemany`` inside that one transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ccapp.dialer.dnc import BadEntry, DncEntry, DncLists, parse_entry
from ccapp.dialer.leads import Lead
from ccapp.dialer.phone import PhoneNumberError
from ccapp.storage.db import Database, insert_for
from ccapp.storage.models import CampaignEventRow, CampaignRow, DncEntryRow, LeadImportRow, LeadRow

#: rows per executemany / IN list: well under SQLite's and asyncpg's bound-parameter limits
CHUNK = 1000
#: leads imported at once after which PostgreSQL's statistics of ``leads`` are refreshed
ANALYZE_AFTER = 10_000

_CAMPAIGNS = cast(Table, CampaignRow.__table__)
_DNC = cast(Table, DncEntryRow.__table__)


async def ensure_campaign_row(
    conn: AsyncConnection,
    dialect: str,
    campaign_id: str,
    at: datetime,
    mode: str | None,
    queue: str | None,
) -> None:
    """Insert the campaign (``stopped``) when missing; with a mode, refresh mode and queue."""
    stmt = insert_for(dialect)(_CAMPAIGNS).values(
        campaign_id=campaign_id, mode=mode, queue=queue, status="stopped", created_at=at
    )
    if mode is None:
        await conn.execute(stmt.on_conflict_do_nothing(index_elements=["campaign_id"]))
    else:
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["campaign_id"], set_={"mode": mode, "queue": queue})
        )


async def append_event(
    conn: AsyncConnection,
    campaign_id: str,
    action: str,
    *,
    at: datetime,
    actor: str | None,
    detail: dict[str, Any] | None,
) -> None:
    """Append one campaign-journal row inside the caller's transaction (``detail`` stored as JSON)."""
    await conn.execute(
        insert(CampaignEventRow).values(
            campaign_id=campaign_id,
            at=at,
            action=action,
            actor=actor,
            detail=json.dumps(detail, sort_keys=True, default=str) if detail is not None else None,
        )
    )


# -- lead import ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """What the file held besides the valid leads (from `ccapp.dialer.leads.ImportResult`)."""

    rows: int
    rejected: int  # invalid rows (not duplicates)
    file_duplicates: int  # rows repeating an earlier row's number in the same file


@dataclass(frozen=True, slots=True)
class StoredImport:
    """What `store_import` wrote: the import's id, the leads inserted, and the leads skipped because the
    campaign already had their number (each with the line of the existing lead's own import)."""

    import_id: str
    imported: int
    defaulted_zone: int
    existing: list[tuple[Lead, int | None]]


async def store_import(
    db: Database,
    campaign_id: str,
    leads: Sequence[Lead],
    counts: ImportCounts,
    *,
    file_name: str | None,
    started_at: datetime,
    now: Callable[[], datetime],
    actor: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    import_id: str | None = None,
) -> StoredImport:
    """Insert ``leads`` (status ``new``) into the campaign (created ``stopped`` if unknown), skipping
    numbers it already has, plus a ``lead_imports`` row and an ``import`` journal entry: one transaction.

    ``progress(done, total)`` is called after each chunk; an exception from it (or anything else) rolls
    the whole import back.
    """
    import_id = import_id or uuid.uuid4().hex
    total = len(leads)
    async with db.engine.begin() as conn:
        await ensure_campaign_row(conn, db.dialect, campaign_id, started_at, None, None)
        known = await _existing_lines(conn, campaign_id, [lead.phone for lead in leads])
        fresh = [lead for lead in leads if lead.phone not in known]
        existing = [(lead, known[lead.phone]) for lead in leads if lead.phone in known]
        done = len(existing)
        if progress is not None:
            progress(done, total)
        for start in range(0, len(fresh), CHUNK):
            chunk = fresh[start : start + CHUNK]
            await conn.execute(
                insert(LeadRow), [_lead_row(campaign_id, import_id, started_at, x) for x in chunk]
            )
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        defaulted = sum(1 for lead in fresh if lead.zone_source == "default")
        summary = {
            "rows": counts.rows,
            "imported": len(fresh),
            "duplicates": counts.file_duplicates + len(existing),
            "rejected": counts.rejected,
            "defaulted_zone": defaulted,
        }
        finished_at = now()
        await conn.execute(
            insert(LeadImportRow).values(
                import_id=import_id,
                campaign_id=campaign_id,
                file_name=file_name,
                started_at=started_at,
                finished_at=finished_at,
                status="done",
                **summary,
            )
        )
        detail = {"import_id": import_id, "file": file_name, **summary}
        await append_event(conn, campaign_id, "import", at=finished_at, actor=actor, detail=detail)
    if db.dialect == "postgresql" and len(fresh) >= ANALYZE_AFTER:
        # fresh statistics, else the planner may sort every new lead for each due_leads() poll
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE leads")
            await conn.commit()
    return StoredImport(import_id, len(fresh), defaulted, existing)


async def record_failed_import(
    db: Database,
    campaign_id: str,
    *,
    file_name: str | None,
    started_at: datetime,
    finished_at: datetime,
    rows: int,
    actor: str | None = None,
    error: str,
) -> str:
    """Journal an import that was rolled back (its own transaction, after the rollback); returns its id."""
    import_id = uuid.uuid4().hex
    async with db.engine.begin() as conn:
        await ensure_campaign_row(conn, db.dialect, campaign_id, started_at, None, None)
        await conn.execute(
            insert(LeadImportRow).values(
                import_id=import_id,
                campaign_id=campaign_id,
                file_name=file_name,
                started_at=started_at,
                finished_at=finished_at,
                rows=rows,
                status="failed",
            )
        )
        detail = {"import_id": import_id, "file": file_name, "status": "failed", "error": error}
        await append_event(conn, campaign_id, "import", at=finished_at, actor=actor, detail=detail)
    return import_id


async def lead_imports(db: Database, campaign_id: str) -> list[dict[str, Any]]:
    """The campaign's imports, oldest first."""
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            select(LeadImportRow)
            .where(LeadImportRow.campaign_id == campaign_id)
            .order_by(LeadImportRow.started_at, LeadImportRow.import_id)
        )
        return [dict(row) for row in rows.mappings()]


async def _existing_lines(
    conn: AsyncConnection, campaign_id: str, phones: list[str]
) -> dict[str, int | None]:
    """Phone → line of the lead the campaign already has with that number (the unique index serves it)."""
    found: dict[str, int | None] = {}
    for start in range(0, len(phones), CHUNK):
        rows = await conn.execute(
            select(LeadRow.phone, LeadRow.line).where(
                LeadRow.campaign_id == campaign_id, LeadRow.phone.in_(phones[start : start + CHUNK])
            )
        )
        found.update((phone, line) for phone, line in rows.all())
    return found


def _lead_row(campaign_id: str, import_id: str, at: datetime, lead: Lead) -> dict[str, Any]:
    data: dict[str, str] = dict(lead.extra)
    if lead.external_id is not None:
        data["external_id"] = lead.external_id
    return {
        "lead_id": uuid.uuid4().hex,
        "campaign_id": campaign_id,
        "phone": lead.phone,
        "time_zone": lead.zone,
        "status": "new",
        "attempts": 0,
        "created_at": at,
        "line": lead.line,
        "name": lead.name,
        "data": json.dumps(data, ensure_ascii=False) if data else None,
        "zone_source": lead.zone_source,
        "import_id": import_id,
        "right_party_reached": False,
    }


# -- do-not-call lists ------------------------------------------------------------------------------


def _entry_from_text(text: str) -> DncEntry:
    """A stored entry (``+15551234567`` or ``+1900*``) back into a `DncEntry`."""
    return DncEntry(text[:-1], prefix=True) if text.endswith("*") else DncEntry(text)


def parse_entries(entries: Iterable[str], *, default_region: str) -> tuple[list[DncEntry], list[BadEntry]]:
    """Parse entries (1-based positions; blank lines and ``#`` comments skipped), like `DncLists.load`."""
    good: list[DncEntry] = []
    bad: list[BadEntry] = []
    for index, raw in enumerate(entries, start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            good.append(parse_entry(text, default_region=default_region))
        except PhoneNumberError as exc:
            bad.append(BadEntry(index, exc.reason, raw.rstrip("\n")))
        except ValueError as exc:
            bad.append(BadEntry(index, str(exc), raw.rstrip("\n")))
    return good, bad


async def dnc_lists(db: Database) -> DncLists:
    """Every list and entry, loaded into a `DncLists`."""
    lists = DncLists()
    async with db.engine.connect() as conn:
        rows = await conn.execute(select(DncEntryRow.list_name, DncEntryRow.entry))
        for list_name, entry in rows.all():
            lists.add(list_name, _entry_from_text(entry))
    return lists


async def dnc_add(
    db: Database,
    list_name: str,
    entries: Iterable[str],
    *,
    source: str | None,
    default_region: str,
    at: datetime,
) -> tuple[int, list[BadEntry]]:
    """Add the readable entries to ``list_name`` (one transaction); returns (newly added, bad entries)."""
    good, bad = parse_entries(entries, default_region=default_region)
    texts = list(dict.fromkeys(str(entry) for entry in good))
    added = 0
    async with db.engine.begin() as conn:
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            present = set(
                (
                    await conn.scalars(
                        select(DncEntryRow.entry).where(
                            DncEntryRow.list_name == list_name, DncEntryRow.entry.in_(chunk)
                        )
                    )
                ).all()
            )
            new = [t for t in chunk if t not in present]
            if new:
                stmt = insert_for(db.dialect)(_DNC).on_conflict_do_nothing()
                rows = [{"list_name": list_name, "entry": t, "added_at": at, "source": source} for t in new]
                await conn.execute(stmt, rows)
            added += len(new)
    return added, bad


async def dnc_remove(db: Database, list_name: str, entries: Iterable[str], *, default_region: str) -> int:
    """Remove entries from ``list_name``; returns how many were there. Raises `ValueError` naming the
    first unreadable entry, before removing anything."""
    good, bad = parse_entries(entries, default_region=default_region)
    if bad:
        raise ValueError(f"cannot read {bad[0].raw!r}: {bad[0].reason}")
    texts = list(dict.fromkeys(str(entry) for entry in good))
    removed = 0
    async with db.engine.begin() as conn:
        for start in range(0, len(texts), CHUNK):
            result = await conn.execute(
                delete(DncEntryRow).where(
                    DncEntryRow.list_name == list_name, DncEntryRow.entry.in_(texts[start : start + CHUNK])
                )
            )
            removed += int(result.rowcount)
    return removed


async def dnc_entries(db: Database, list_name: str | None = None) -> list[tuple[str, str]]:
    """(list, entry) pairs sorted by list then entry; only ``list_name``'s when given."""
    query = select(DncEntryRow.list_name, DncEntryRow.entry).order_by(
        DncEntryRow.list_name, DncEntryRow.entry
    )
    if list_name is not None:
        query = query.where(DncEntryRow.list_name == list_name)
    async with db.engine.connect() as conn:
        return [(name, entry) for name, entry in (await conn.execute(query)).all()]
