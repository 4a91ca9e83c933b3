"""Recordings HTTP API: metadata and the audio file, for admins and supervisors only.

The client's recording id is checked against ``^[0-9a-f-]{8,64}$`` before anything else sees it; the
file path comes from the store (`RecordingsSource.file_path`), never from client text, so there is
nothing to traverse. A deleted recording (retention, purge) answers 410.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from ccapp.errors import CcappError
from ccapp.web.acd_api import iso
from ccapp.web.auth import ADMIN, SUPERVISOR, TokenTable, json_error, map_errors, require

Metadata = dict[str, Any]
Listing = list[Metadata]

RECORDING_ID = re.compile(r"[0-9a-f-]{8,64}")
_CALL_ID = re.compile(r"[\w.-]{1,128}")
#: every CcappError of the store (StorageError…) is a 500 with its error id
STATUSES: Mapping[type[CcappError], int] = {}


class RecordingsSource(Protocol):
    """What the API reads of the recording store.

    Metadata keys: ``recording_id``, ``call_id``, ``queue``, ``agent_id``, ``started_at``,
    ``duration_s``, ``paused_spans``, ``size_bytes``, ``deleted_at`` (datetimes may be `datetime`).
    """

    async def get(self, recording_id: str) -> Metadata | None: ...

    async def list(self, call_id: str | None) -> Listing:
        """Every recording, or those of one call."""
        ...

    def file_path(self, recording_id: str) -> Path | None:
        """The audio file inside the store, or None when there is none."""
        ...


def jsonable(value: Any) -> Any:
    """Metadata made JSON-ready: datetimes as ISO-8601 UTC, tuples as lists."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def _recording_id(request: web.Request) -> str:
    value = request.match_info["recording_id"]
    if not RECORDING_ID.fullmatch(value):
        raise json_error(404, "recording_unknown", "no such recording")
    return value


class _RecordingsApi:
    def __init__(self, recordings: RecordingsSource, tokens: TokenTable) -> None:
        self._recordings = recordings
        self._tokens = tokens

    async def _found(self, request: web.Request) -> tuple[str, Metadata]:
        require(self._tokens.authenticate(request), ADMIN, SUPERVISOR)
        recording_id = _recording_id(request)
        meta = await self._recordings.get(recording_id)
        if meta is None:
            raise json_error(404, "recording_unknown", "no such recording")
        return recording_id, meta

    async def list_recordings(self, request: web.Request) -> web.StreamResponse:
        require(self._tokens.authenticate(request), ADMIN, SUPERVISOR)
        unknown = sorted(set(request.query) - {"call_id"})
        if unknown:
            raise json_error(422, "invalid_query", f"{unknown[0]}: unknown parameter")
        call_ids = request.query.getall("call_id", [])
        if len(call_ids) > 1 or (call_ids and not _CALL_ID.fullmatch(call_ids[0])):
            raise json_error(422, "invalid_query", "call_id: one call id (letters, digits, '.', '_', '-')")
        listing = await self._recordings.list(call_ids[0] if call_ids else None)
        return web.json_response({"recordings": jsonable(listing)})

    async def get_recording(self, request: web.Request) -> web.StreamResponse:
        _, meta = await self._found(request)
        return web.json_response({"recording": jsonable(meta)})

    async def get_file(self, request: web.Request) -> web.StreamResponse:
        recording_id, meta = await self._found(request)
        if meta.get("deleted_at") is not None:
            raise json_error(410, "recording_deleted", "the recording was deleted")
        path = self._recordings.file_path(recording_id)
        if path is None or not await asyncio.to_thread(path.is_file):
            raise json_error(404, "recording_file_missing", "the recording has no file")
        return web.FileResponse(
            path,
            headers={
                "Content-Type": "audio/wav",
                "Content-Disposition": f'attachment; filename="{recording_id}.wav"',
            },
        )


def add_recording_routes(app: web.Application, recordings: RecordingsSource, tokens: TokenTable) -> None:
    """Add ``/api/v1/recordings``, ``…/{recording_id}`` and ``…/{recording_id}/file``."""
    api = _RecordingsApi(recordings, tokens)
    guard = map_errors(STATUSES)
    app.router.add_get("/api/v1/recordings", guard(api.list_recordings))
    app.router.add_get("/api/v1/recordings/{recording_id}", guard(api.get_recording))
    app.router.add_get("/api/v1/recordings/{recording_id}/file", guard(api.get_file))
