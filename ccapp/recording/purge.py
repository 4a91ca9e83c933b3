"""Retention: delete recordings older than ``recording.retention_days`` and mark their rows.

``ccapp recordings purge`` runs `purge_command` once; ``ccapp run`` calls `purge_expired` daily.
The file goes first and the row is marked after, so a crash in between leaves a row that the next
purge finds again (its file already gone, which is fine) — never a file nobody knows about.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ccapp.errors import CcappError
from ccapp.recording.store import RecordingStore

if TYPE_CHECKING:
    from ccapp.config.settings import Settings
    from ccapp.storage.db import Database

log = logging.getLogger(__name__)


class RecordingQueries(Protocol):
    """The storage functions purge uses; ``ccapp.storage.acd_queries`` is the real one. Rows carry
    at least ``recording_id`` and ``path`` (the store path `RecordingStore.collect` returned)."""

    async def expired_recordings(self, db: Database, before: datetime) -> Sequence[Mapping[str, Any]]: ...

    async def mark_recording_deleted(self, db: Database, recording_id: str, at: datetime) -> bool: ...


async def purge_expired(
    db: Database,
    store: RecordingStore,
    now: datetime,
    retention_days: int,
    *,
    queries: RecordingQueries | None = None,
) -> int:
    """Delete the files of recordings started before ``now - retention_days`` and mark their rows
    deleted at ``now``; how many rows this run marked. A file already gone is fine; a file that
    cannot be deleted (or a saved path outside the store) is logged and its row left for the
    next run."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    if queries is None:
        from ccapp.storage import acd_queries

        queries = acd_queries
    before = now - timedelta(days=retention_days)
    purged = 0
    for row in await queries.expired_recordings(db, before):
        recording_id = str(row["recording_id"])
        path = row.get("path")
        if path:
            try:
                store.delete(Path(path))
            except (ValueError, OSError) as exc:
                log.error("recording %s not purged: %s", recording_id, exc)
                continue
        if await queries.mark_recording_deleted(db, recording_id, now):
            purged += 1
    if purged:
        log.info("purged %d recordings started before %s", purged, before.isoformat())
    return purged


async def purge_command(settings: Settings, now: datetime) -> int:
    """``ccapp recordings purge``: purge once with the configured retention; the exit status."""
    from sqlalchemy.exc import SQLAlchemyError

    from ccapp.storage.db import Database

    rec = settings.recording
    store = RecordingStore(rec.dir, rec.asterisk_dir, rec.fetch)
    db = Database(settings.database.url)
    try:
        purged = await purge_expired(db, store, now, rec.retention_days)
    except (CcappError, SQLAlchemyError, OSError) as exc:
        print(f"recordings purge failed: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print(f"purged {purged} recording(s) older than {rec.retention_days} days")
    return 0
