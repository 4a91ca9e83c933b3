"""Wallboard HTTP API: ``GET /api/v1/wallboard``, the live figures of `ccapp.kpi.realtime`, for the
admin, supervisor and read-only roles. No query parameters; the body is `wallboard_json`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Protocol

from aiohttp import web

from ccapp.errors import CcappError
from ccapp.kpi.realtime import Wallboard
from ccapp.web.acd_api import iso
from ccapp.web.auth import ADMIN, READ_ONLY, SUPERVISOR, TokenTable, json_error, map_errors, require

STATUSES: Mapping[type[CcappError], int] = {}


class BoardSource(Protocol):
    """What the API reads: `ccapp.kpi.realtime.RealtimeBoard`."""

    def snapshot(self) -> Wallboard: ...


def wallboard_json(board: Wallboard) -> dict[str, Any]:
    """The board as JSON: times as ISO-8601 UTC, figures as numbers (null when undefined)."""
    body = asdict(board)
    body["at"] = iso(board.at)
    body["day_start"] = iso(board.day_start)
    return body


def add_wallboard_routes(app: web.Application, board: BoardSource, tokens: TokenTable) -> None:
    """Add ``GET /api/v1/wallboard``."""

    async def wallboard(request: web.Request) -> web.StreamResponse:
        require(tokens.authenticate(request), ADMIN, SUPERVISOR, READ_ONLY)
        if request.query:
            raise json_error(422, "invalid_query", f"{sorted(request.query)[0]}: unknown parameter")
        return web.json_response({"wallboard": wallboard_json(board.snapshot())})

    app.router.add_get("/api/v1/wallboard", map_errors(STATUSES)(wallboard))
