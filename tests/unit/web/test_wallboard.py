"""GET /api/v1/wallboard over a real `RealtimeBoard`: roles, the JSON body, unknown parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ccapp.calls.model import CallEvent, EventKind
from ccapp.clock import FakeClock
from ccapp.kpi.definitions import Thresholds
from ccapp.kpi.realtime import RealtimeBoard
from ccapp.web.auth import Principal, TokenTable
from ccapp.web.realtime_api import add_wallboard_routes

Client = TestClient[web.Request, web.Application]
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ROLES = {"admin": "admin", "supervisor": "supervisor", "read_only": "read_only", "agent": "agent"}


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {who}-token"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def board(clock: FakeClock) -> RealtimeBoard:
    board = RealtimeBoard(clock, zone="Europe/Paris", thresholds=Thresholds(20.0, 5.0), queues=["sales"])
    board.agent_state("1001", "ready", ["sales"])
    board.agent_state("1002", "on_call", ["sales", "support"])
    board.queue_event(CallEvent("c1", 1, START, EventKind.QUEUE_ENTERED, {"queue": "sales", "entry": 1}))
    board.queue_event(CallEvent("c2", 1, START, EventKind.QUEUE_ENTERED, {"queue": "sales", "entry": 1}))
    clock.advance(12)
    board.queue_event(
        CallEvent(
            "c2",
            2,
            START + timedelta(seconds=12),
            EventKind.QUEUE_LEFT,
            {"queue": "sales", "entry": 1, "reason": "answered", "wait_s": 12.0},
        )
    )
    clock.advance(3)
    return board


@pytest.fixture
async def client(board: RealtimeBoard) -> AsyncIterator[Client]:
    tokens = TokenTable(
        {
            f"{who}-token": Principal(who, role, "1001" if role == "agent" else None)
            for who, role in ROLES.items()
        }
    )
    app = web.Application()
    add_wallboard_routes(app, board, tokens)
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.mark.parametrize("who", ["admin", "supervisor", "read_only"])
async def test_admins_supervisors_and_read_only_tokens_see_the_wallboard(client: Client, who: str) -> None:
    resp = await client.get("/api/v1/wallboard", headers=auth(who))
    assert resp.status == 200
    board = (await resp.json())["wallboard"]
    assert board["at"] == "2026-11-26T09:00:15+00:00"
    assert board["day_start"] == "2026-11-25T23:00:00+00:00"  # midnight in Paris
    assert (board["zone"], board["sl_threshold_s"], board["short_abandon_s"]) == ("Europe/Paris", 20.0, 5.0)
    assert (board["waiting"], board["longest_wait_s"]) == (1, 15.0)
    assert board["agents"] == {"on_call": 1, "ready": 1}
    sales, support = board["queues"]
    assert sales["queue"] == "sales" and support["queue"] == "support"
    assert (sales["waiting"], sales["longest_wait_s"], sales["agents"]) == (
        1,
        15.0,
        {"on_call": 1, "ready": 1},
    )
    assert support == {
        "queue": "support",
        "waiting": 0,
        "longest_wait_s": 0.0,
        "agents": {"on_call": 1},
        "today": support["today"],
    }
    today = sales["today"]
    assert {
        k: today[k] for k in ("entries", "offered", "answered", "service_level", "asa_s", "abandon_rate")
    } == {
        "entries": 2,
        "offered": 2,
        "answered": 1,
        "service_level": 0.5,
        "asa_s": 12.0,
        "abandon_rate": 0.0,
    }
    assert support["today"]["service_level"] is None  # nothing offered
    assert board["today"]["entries"] == 2


async def test_an_agent_token_is_refused_and_no_token_is_unauthorized(client: Client) -> None:
    resp = await client.get("/api/v1/wallboard", headers=auth("agent"))
    assert (resp.status, (await resp.json())["error"]) == (403, "forbidden")
    resp = await client.get("/api/v1/wallboard")
    assert resp.status == 401


async def test_an_unknown_query_parameter_is_refused(client: Client) -> None:
    resp = await client.get("/api/v1/wallboard?queue=sales", headers=auth("admin"))
    assert resp.status == 422
    assert await resp.json() == {"error": "invalid_query", "message": "queue: unknown parameter"}
