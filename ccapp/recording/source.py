"""The recordings API's view of the store: metadata from SQL, files from `RecordingStore`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccapp.recording.store import RecordingStore
from ccapp.storage import Database
from ccapp.storage.acd_queries import recording_row, recording_rows

_FIELDS = (
    "recording_id",
    "call_id",
    "queue",
    "agent_id",
    "started_at",
    "ended_at",
    "duration_s",
    "paused_s",
    "paused_spans",
    "size_bytes",
    "deleted_at",
)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    # the file's path on the server is not the client's business
    return {key: row.get(key) for key in _FIELDS}


class SqlRecordings:
    def __init__(self, db: Database, store: RecordingStore) -> None:
        self._db = db
        self._store = store

    async def get(self, recording_id: str) -> dict[str, Any] | None:
        row = await recording_row(self._db, recording_id)
        return _public(row) if row is not None else None

    async def list(self, call_id: str | None) -> list[dict[str, Any]]:
        return [_public(row) for row in await recording_rows(self._db, call_id)]

    def file_path(self, recording_id: str) -> Path | None:
        try:
            path = self._store.path_for(recording_id)
        except ValueError:
            return None
        return path if path.is_file() else None
