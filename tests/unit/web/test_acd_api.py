"""ACD HTTP API over a fake `AcdCommands`: every route, every role, bad bodies, error mapping."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ccapp.acd.commands import AcdCommands, AgentView, QueueView, TransferView
from ccapp.acd.errors import InvalidAcdConfig, InvalidTransition, NotPermitted, UnknownAgent, UnknownCall
from ccapp.acd.model import Agent
from ccapp.errors import CcappError, StorageError
from ccapp.web.acd_api import add_acd_routes
from ccapp.web.auth import Principal, TokenTable

Client = TestClient[web.Request, web.Application]

SINCE = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


def agent_view(agent_id: str, *, state: str = "ready", since: datetime | None = SINCE) -> AgentView:
    return AgentView(
        agent_id=agent_id,
        name=f"Agent {agent_id}",
        endpoint=f"PJSIP/{agent_id}",
        state=state,
        reason=None,
        state_since=since,
        skills={"sales": 3},
        queues=["sales"],
        call_id=None,
        calls_today=2,
    )


class FakeAcd:
    """Records every command; ``fail`` makes the next commands raise it. Agent 1001 is on call-1."""

    def __init__(self) -> None:
        self.views = {"1001": agent_view("1001", state="on_call"), "1002": agent_view("1002")}
        self.on_call: dict[str, str] = {"1001": "call-1"}
        self.commands: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.fail: Exception | None = None

    def _do(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.commands.append((name, args, kwargs))
        if self.fail is not None:
            raise self.fail

    def _view(self, agent_id: str) -> AgentView:
        if agent_id not in self.views:
            raise UnknownAgent(f"agent {agent_id!r}: unknown")
        return self.views[agent_id]

    def agent(self, agent_id: str) -> AgentView:
        self._do("agent", agent_id)
        return self._view(agent_id)

    def agents(self) -> list[AgentView]:
        self._do("agents")
        return list(self.views.values())

    def queues(self) -> list[QueueView]:
        self._do("queues")
        return [QueueView("sales", 2, 31.5, {"ready": 1, "on_call": 1}, 12.0)]

    async def login(self, agent_id: str, *, ready: bool = True, reason: str | None = None) -> AgentView:
        self._do("login", agent_id, ready=ready, reason=reason)
        return self._view(agent_id)

    async def set_ready(self, agent_id: str) -> AgentView:
        self._do("set_ready", agent_id)
        return self._view(agent_id)

    async def set_not_ready(self, agent_id: str, reason: str) -> AgentView:
        self._do("set_not_ready", agent_id, reason)
        return self._view(agent_id)

    async def logout(self, agent_id: str, reason: str = "logout") -> AgentView:
        self._do("logout", agent_id)
        return self._view(agent_id)

    async def upsert_agent(self, agent: Agent) -> AgentView:
        self._do("upsert_agent", agent)
        return agent_view(agent.agent_id, state="logged_out", since=None)

    async def remove_agent(self, agent_id: str) -> None:
        self._do("remove_agent", agent_id)

    def agent_call(self, agent_id: str) -> str | None:
        # a read for authorisation, not a command: not recorded
        self._view(agent_id)
        return self.on_call.get(agent_id)

    async def disposition(
        self,
        agent_id: str,
        call_id: str,
        *,
        outcome: str,
        resolved: bool | None = None,
        topic: str | None = None,
        notes: str | None = None,
        right_party: bool | None = None,
        callback_at: object = None,
    ) -> None:
        assert callback_at is None  # outbound callbacks: tests/unit/web/test_disposition_api.py
        self._do(
            "disposition",
            agent_id,
            call_id,
            outcome=outcome,
            resolved=resolved,
            topic=topic,
            notes=notes,
            right_party=right_party,
        )

    async def transfer(self, call_id: str, *, kind: str, target: str, by: str | None) -> TransferView:
        self._do("transfer", call_id, kind=kind, target=target, by=by)
        return TransferView(call_id, kind, target, "completed" if kind == "blind" else "consulting")

    async def complete_transfer(self, call_id: str) -> TransferView:
        self._do("complete_transfer", call_id)
        return TransferView(call_id, "attended", "agent:1002", "completed")

    async def cancel_transfer(self, call_id: str) -> TransferView:
        self._do("cancel_transfer", call_id)
        return TransferView(call_id, "attended", "agent:1002", "cancelled")

    async def supervise(self, call_id: str, *, mode: str, endpoint: str, supervisor: str) -> str:
        self._do("supervise", call_id, mode=mode, endpoint=endpoint, supervisor=supervisor)
        return "leg-7"

    async def start_recording(self, call_id: str, *, reason: str) -> None:
        self._do("start_recording", call_id, reason=reason)

    async def pause_recording(self, call_id: str, *, reason: str) -> None:
        self._do("pause_recording", call_id, reason=reason)

    async def resume_recording(self, call_id: str, *, reason: str) -> None:
        self._do("resume_recording", call_id, reason=reason)


PRINCIPALS = {
    "admin": Principal("admin", "admin"),
    "supervisor": Principal("boss", "supervisor"),
    "read_only": Principal("wallboard", "read_only"),
    "agent1001": Principal("1001", "agent", "1001"),
    "agent1002": Principal("1002", "agent", "1002"),
}


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {who}-token"}


@pytest.fixture
def acd() -> FakeAcd:
    return FakeAcd()


@pytest.fixture
def tokens() -> TokenTable:
    return TokenTable({f"{who}-token": principal for who, principal in PRINCIPALS.items()})


@pytest.fixture
async def client(acd: FakeAcd, tokens: TokenTable) -> AsyncIterator[Client]:
    app = web.Application()
    commands: AcdCommands = acd
    add_acd_routes(app, commands, tokens)
    async with TestClient(TestServer(app)) as client:
        yield client


async def call(
    client: Client,
    method: str,
    path: str,
    body: Any = None,
    who: str | None = "admin",
    raw: str | None = None,
) -> tuple[int, Any]:
    headers = auth(who) if who else {}
    if raw is not None:
        resp = await client.request(method, path, data=raw, headers=headers)
    else:
        resp = await client.request(method, path, json=body, headers=headers)
    if resp.status == 204:
        return 204, None
    assert resp.content_type == "application/json"
    return resp.status, await resp.json()


# -- every route, every role ------------------------------------------------------------------------

VIEWERS = {"admin", "supervisor", "read_only"}
STAFF = {"admin", "supervisor"}
ROUTES: list[tuple[str, str, Any, set[str]]] = [
    ("GET", "/api/v1/agents", None, VIEWERS),
    ("GET", "/api/v1/agents/1001", None, VIEWERS | {"agent1001"}),
    ("POST", "/api/v1/agents/1001/login", {"ready": True}, STAFF | {"agent1001"}),
    ("POST", "/api/v1/agents/1001/ready", None, STAFF | {"agent1001"}),
    ("POST", "/api/v1/agents/1001/not_ready", {"reason": "break"}, STAFF | {"agent1001"}),
    ("POST", "/api/v1/agents/1001/logout", None, STAFF | {"agent1001"}),
    (
        "POST",
        "/api/v1/agents/1001/disposition",
        {"call_id": "call-1", "outcome": "sale"},
        {"admin", "agent1001"},
    ),
    ("PUT", "/api/v1/admin/agents/1003", {"endpoint": "PJSIP/1003"}, {"admin"}),
    ("DELETE", "/api/v1/admin/agents/1002", None, {"admin"}),
    ("GET", "/api/v1/queues", None, VIEWERS),
    (
        "POST",
        "/api/v1/calls/call-1/transfer",
        {"type": "blind", "target": "queue:sales"},
        STAFF | {"agent1001"},
    ),
    ("POST", "/api/v1/calls/call-1/transfer/complete", None, STAFF | {"agent1001"}),
    ("POST", "/api/v1/calls/call-1/transfer/cancel", None, STAFF | {"agent1001"}),
    ("POST", "/api/v1/calls/call-1/supervise", {"mode": "listen", "endpoint": "PJSIP/2001"}, STAFF),
    ("POST", "/api/v1/calls/call-1/recording/pause", None, STAFF | {"agent1001"}),
    ("POST", "/api/v1/calls/call-1/recording/resume", None, STAFF | {"agent1001"}),
    ("POST", "/api/v1/calls/call-1/recording/start", None, STAFF | {"agent1001"}),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed", "who"),
    [(*route, who) for route, who in itertools.product(ROUTES, PRINCIPALS)],
    ids=[f"{route[0]} {route[1]} as {who}" for route, who in itertools.product(ROUTES, PRINCIPALS)],
)
async def test_each_route_lets_in_exactly_its_roles(
    client: Client, acd: FakeAcd, method: str, path: str, body: Any, allowed: set[str], who: str
) -> None:
    status, answer = await call(client, method, path, body, who=who)
    if who in allowed:
        assert status in (200, 204), answer
        assert len(acd.commands) == 1
    else:
        assert status == 403
        assert answer["error"] == "forbidden"
        assert acd.commands == []


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROUTES]
)
@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic admin-token"])
async def test_each_route_wants_a_good_token(
    client: Client, acd: FakeAcd, method: str, path: str, body: Any, allowed: set[str], header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    resp = await client.request(method, path, json=body, headers=headers)
    assert resp.status == 401
    assert await resp.json() == {"error": "unauthorized", "message": "bad or missing bearer token"}
    assert acd.commands == []


async def test_replaced_tokens_take_effect_at_once(client: Client, tokens: TokenTable) -> None:
    tokens.replace(TokenTable({"fresh-token": Principal("admin", "admin")}))
    assert (await call(client, "GET", "/api/v1/agents", who="admin"))[0] == 401
    resp = await client.get("/api/v1/agents", headers={"Authorization": "Bearer fresh-token"})
    assert resp.status == 200


# -- agents -----------------------------------------------------------------------------------------


async def test_agents_are_listed_with_iso_utc_times(client: Client, acd: FakeAcd) -> None:
    acd.views["1003"] = agent_view(
        "1003", since=datetime(2026, 11, 26, 7, 0, tzinfo=timezone(timedelta(hours=2)))
    )
    acd.views["1004"] = agent_view("1004", since=datetime(2026, 11, 26, 5, 30))  # naive: UTC
    acd.views["1005"] = agent_view("1005", since=None)
    status, body = await call(client, "GET", "/api/v1/agents", who="read_only")
    assert status == 200
    assert body["agents"][0] == {
        "agent_id": "1001",
        "name": "Agent 1001",
        "endpoint": "PJSIP/1001",
        "state": "on_call",
        "reason": None,
        "state_since": "2026-11-26T05:00:00+00:00",
        "skills": {"sales": 3},
        "queues": ["sales"],
        "call_id": None,
        "calls_today": 2,
    }
    assert [agent["state_since"] for agent in body["agents"][2:]] == [
        "2026-11-26T05:00:00+00:00",
        "2026-11-26T05:30:00+00:00",
        None,
    ]


async def test_an_agent_sees_itself(client: Client) -> None:
    status, body = await call(client, "GET", "/api/v1/agents/1001", who="agent1001")
    assert status == 200
    assert body["agent"]["agent_id"] == "1001"


async def test_an_unknown_agent_is_404(client: Client) -> None:
    status, body = await call(client, "GET", "/api/v1/agents/9999")
    assert status == 404
    assert body == {"error": "agent_unknown", "message": "agent '9999': unknown"}


@pytest.mark.parametrize("agent_id", ["a%20b", "x" * 65, "%C3%A9%E2%80%AE", "a;b"])
async def test_a_malformed_agent_id_is_404_without_asking_the_acd(
    client: Client, acd: FakeAcd, agent_id: str
) -> None:
    status, body = await call(client, "POST", f"/api/v1/agents/{agent_id}/ready")
    assert status == 404
    assert body["error"] == "agent_unknown"
    assert acd.commands == []


async def test_login_passes_ready_and_reason(client: Client, acd: FakeAcd) -> None:
    status, body = await call(
        client, "POST", "/api/v1/agents/1001/login", {"ready": False, "reason": "training"}, who="agent1001"
    )
    assert status == 200
    assert body["agent"]["agent_id"] == "1001"
    assert acd.commands == [("login", ("1001",), {"ready": False, "reason": "training"})]


async def test_login_without_a_body_makes_the_agent_ready(client: Client, acd: FakeAcd) -> None:
    assert (await call(client, "POST", "/api/v1/agents/1002/login", who="supervisor"))[0] == 200
    assert acd.commands == [("login", ("1002",), {"ready": True, "reason": None})]


async def test_ready_not_ready_and_logout_call_their_commands(client: Client, acd: FakeAcd) -> None:
    await call(client, "POST", "/api/v1/agents/1002/ready", {}, who="agent1002")
    await call(client, "POST", "/api/v1/agents/1002/not_ready", {"reason": "lunch break"}, who="agent1002")
    await call(client, "POST", "/api/v1/agents/1002/logout", who="agent1002")
    assert acd.commands == [
        ("set_ready", ("1002",), {}),
        ("set_not_ready", ("1002", "lunch break"), {}),
        ("logout", ("1002",), {}),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "reason: required"),
        ({"reason": ""}, "reason: String should match pattern"),
        ({"reason": "x" * 41}, "reason: String should match pattern"),
        ({"reason": "break;rm -rf"}, "reason: String should match pattern"),
        ({"reason": 5}, "reason: Input should be a valid string"),
        ({"reason": "break", "until": "noon"}, "until: unknown key"),
    ],
)
async def test_not_ready_wants_a_short_plain_reason(
    client: Client, acd: FakeAcd, body: dict[str, Any], message: str
) -> None:
    status, answer = await call(client, "POST", "/api/v1/agents/1001/not_ready", body)
    assert status == 422
    assert answer["error"] == "invalid_body"
    assert answer["message"].startswith(message)
    assert acd.commands == []


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/v1/agents/1001/login", {"ready": "yes"}, "ready: Input should be a valid boolean"),
        ("/api/v1/agents/1001/login", {"ready": 1}, "ready: Input should be a valid boolean"),
        ("/api/v1/agents/1001/login", {"token": "x"}, "token: unknown key"),
        ("/api/v1/agents/1001/ready", {"now": True}, "now: unknown key"),
        ("/api/v1/agents/1001/logout", [], "the body must be a JSON object"),
        ("/api/v1/agents/1001/logout", "bye", "the body must be a JSON object"),
        ("/api/v1/calls/call-1/transfer/complete", {"x": 1}, "x: unknown key"),
        ("/api/v1/calls/call-1/recording/pause", {"reason": "pci"}, "reason: unknown key"),
    ],
)
async def test_bodies_are_checked_strictly(
    client: Client, acd: FakeAcd, path: str, body: Any, message: str
) -> None:
    status, answer = await call(client, "POST", path, body)
    assert (status, answer["error"]) == (422, "invalid_body")
    assert answer["message"].startswith(message)
    assert acd.commands == []


@pytest.mark.parametrize("raw", ["{", "{'ready': true}", "nul", "\xff"])
async def test_a_body_that_is_not_json_is_400(client: Client, acd: FakeAcd, raw: str) -> None:
    status, answer = await call(client, "POST", "/api/v1/agents/1001/login", raw=raw)
    assert status == 400
    assert answer == {"error": "bad_json", "message": "the body is not valid JSON"}
    assert acd.commands == []


async def test_an_illegal_state_change_is_409(client: Client, acd: FakeAcd) -> None:
    acd.fail = InvalidTransition("1001", "on_call", "ready")
    status, body = await call(client, "POST", "/api/v1/agents/1001/ready", who="agent1001")
    assert status == 409
    assert body == {
        "error": "agent_invalid_transition",
        "message": "agent '1001': on_call → ready: not allowed",
    }


# -- disposition ------------------------------------------------------------------------------------


async def test_the_agent_on_the_call_records_its_disposition(client: Client, acd: FakeAcd) -> None:
    body = {"call_id": "call-1", "outcome": "sale", "resolved": True, "topic": "billing", "notes": "ok é"}
    status, _ = await call(client, "POST", "/api/v1/agents/1001/disposition", body, who="agent1001")
    assert status == 204
    assert acd.commands == [
        (
            "disposition",
            ("1001", "call-1"),
            {"outcome": "sale", "resolved": True, "topic": "billing", "notes": "ok é", "right_party": None},
        )
    ]


async def test_an_agent_cannot_dispose_a_call_it_is_not_on(client: Client, acd: FakeAcd) -> None:
    body = {"call_id": "call-2", "outcome": "sale"}
    status, answer = await call(client, "POST", "/api/v1/agents/1001/disposition", body, who="agent1001")
    assert status == 409
    assert answer["error"] == "acd_not_permitted"
    status, _ = await call(client, "POST", "/api/v1/agents/1002/disposition", body, who="agent1002")
    assert status == 409
    assert acd.commands == []


async def test_an_admin_disposes_any_call_and_the_acd_decides(client: Client, acd: FakeAcd) -> None:
    body = {"call_id": "call-9", "outcome": "callback"}
    assert (await call(client, "POST", "/api/v1/agents/1002/disposition", body))[0] == 204
    assert acd.commands[0][1] == ("1002", "call-9")
    acd.fail = UnknownCall("call 'call-9': unknown")
    status, answer = await call(client, "POST", "/api/v1/agents/1002/disposition", body)
    assert (status, answer["error"]) == (404, "call_unknown")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"outcome": "sale"}, "call_id: required"),
        ({"call_id": "call-1"}, "outcome: required"),
        ({"call_id": "call-1", "outcome": "no sale"}, "outcome: String should match pattern"),
        ({"call_id": "call-1", "outcome": "x" * 41}, "outcome: String should match pattern"),
        (
            {"call_id": "call-1", "outcome": "sale", "resolved": "true"},
            "resolved: Input should be a valid boolean",
        ),
        ({"call_id": "call-1", "outcome": "sale", "topic": "a/b"}, "topic: String should match pattern"),
        (
            {"call_id": "call-1", "outcome": "sale", "notes": "n" * 501},
            "notes: String should have at most 500",
        ),
        ({"call_id": "call-1", "outcome": "sale", "score": 5}, "score: unknown key"),
        ({"call_id": "../x", "outcome": "sale"}, "call_id: String should match pattern"),
    ],
)
async def test_a_bad_disposition_is_422(
    client: Client, acd: FakeAcd, body: dict[str, Any], message: str
) -> None:
    status, answer = await call(client, "POST", "/api/v1/agents/1001/disposition", body, who="agent1001")
    assert status == 422
    assert answer["message"].startswith(message)
    assert acd.commands == []


# -- admin: agent definitions -----------------------------------------------------------------------


async def test_put_defines_an_agent(client: Client, acd: FakeAcd) -> None:
    body = {
        "name": "Ann",
        "endpoint": "Local/1003@agents",
        "skills": {"sales": 5, "fr": 1},
        "queues": ["sales"],
    }
    status, answer = await call(client, "PUT", "/api/v1/admin/agents/1003", body)
    assert status == 200
    assert answer["agent"]["agent_id"] == "1003"
    [(name, (agent,), _)] = acd.commands
    assert name == "upsert_agent"
    assert agent == Agent("1003", "Ann", "Local/1003@agents", {"sales": 5, "fr": 1}, frozenset({"sales"}))


async def test_put_names_an_agent_after_its_id_by_default(client: Client, acd: FakeAcd) -> None:
    await call(client, "PUT", "/api/v1/admin/agents/ann.b", {"endpoint": "PJSIP/ann"})
    agent = acd.commands[0][1][0]
    assert (agent.name, agent.skills, agent.queues) == ("ann.b", {}, frozenset())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "endpoint: required"),
        ({"endpoint": "1003"}, "endpoint: String should match pattern"),
        ({"endpoint": "PJSIP/"}, "endpoint: String should match pattern"),
        ({"endpoint": "PJSIP/10 03"}, "endpoint: String should match pattern"),
        ({"endpoint": "9X/1003"}, "endpoint: String should match pattern"),
        (
            {"endpoint": "PJSIP/1003", "skills": {"sales": 6}},
            "skills.sales: Input should be less than or equal to 5",
        ),
        (
            {"endpoint": "PJSIP/1003", "skills": {"sales": 0}},
            "skills.sales: Input should be greater than or equal",
        ),
        (
            {"endpoint": "PJSIP/1003", "skills": {"sales": 2.0}},
            "skills.sales: Input should be a valid integer",
        ),
        ({"endpoint": "PJSIP/1003", "skills": {"a b": 2}}, "skills.a b.[key]: String should match pattern"),
        ({"endpoint": "PJSIP/1003", "queues": "sales"}, "queues: Input should be a valid list"),
        ({"endpoint": "PJSIP/1003", "queues": ["s/x"]}, "queues.0: String should match pattern"),
        ({"endpoint": "PJSIP/1003", "name": ""}, "name: String should have at least 1 character"),
        ({"endpoint": "PJSIP/1003", "max_calls": 2}, "max_calls: unknown key"),
    ],
)
async def test_a_bad_agent_definition_is_422(
    client: Client, acd: FakeAcd, body: dict[str, Any], message: str
) -> None:
    status, answer = await call(client, "PUT", "/api/v1/admin/agents/1003", body)
    assert status == 422
    assert answer["message"].startswith(message)
    assert acd.commands == []


async def test_put_refuses_a_malformed_agent_id(client: Client, acd: FakeAcd) -> None:
    status, answer = await call(client, "PUT", "/api/v1/admin/agents/a%20b", {"endpoint": "PJSIP/1"})
    assert status == 422
    assert answer["message"].startswith("agent_id:")
    assert acd.commands == []


async def test_a_definition_the_acd_refuses_is_422(client: Client, acd: FakeAcd) -> None:
    acd.fail = InvalidAcdConfig("agent '1003': unknown queue 'nope'")
    status, answer = await call(
        client, "PUT", "/api/v1/admin/agents/1003", {"endpoint": "PJSIP/1", "queues": ["nope"]}
    )
    assert status == 422
    assert answer == {"error": "acd_config_invalid", "message": "agent '1003': unknown queue 'nope'"}


async def test_delete_removes_an_agent_unless_it_is_busy(client: Client, acd: FakeAcd) -> None:
    assert (await call(client, "DELETE", "/api/v1/admin/agents/1002"))[0] == 204
    assert acd.commands == [("remove_agent", ("1002",), {})]
    acd.fail = NotPermitted("agent '1001' is on a call")
    status, answer = await call(client, "DELETE", "/api/v1/admin/agents/1001")
    assert (status, answer["error"]) == (409, "acd_not_permitted")
    acd.fail = UnknownAgent("agent '77': unknown")
    assert (await call(client, "DELETE", "/api/v1/admin/agents/77"))[0] == 404


# -- queues -----------------------------------------------------------------------------------------


async def test_queues_are_listed(client: Client) -> None:
    status, body = await call(client, "GET", "/api/v1/queues", who="supervisor")
    assert status == 200
    assert body == {
        "queues": [
            {
                "name": "sales",
                "waiting": 2,
                "longest_wait_s": 31.5,
                "agents_by_state": {"ready": 1, "on_call": 1},
                "expected_wait_s": 12.0,
            }
        ]
    }


# -- calls ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["queue:sales", "agent:1002", "number:+4930123456", "number:0800"])
async def test_the_agent_on_a_call_transfers_it(client: Client, acd: FakeAcd, target: str) -> None:
    body = {"type": "attended", "target": target}
    status, answer = await call(client, "POST", "/api/v1/calls/call-1/transfer", body, who="agent1001")
    assert status == 200
    assert answer == {
        "transfer": {"call_id": "call-1", "kind": "attended", "target": target, "state": "consulting"}
    }
    assert acd.commands == [("transfer", ("call-1",), {"kind": "attended", "target": target, "by": "1001"})]


async def test_a_supervisor_transfer_is_by_the_supervisor(client: Client, acd: FakeAcd) -> None:
    await call(
        client,
        "POST",
        "/api/v1/calls/call-5/transfer",
        {"type": "blind", "target": "queue:x"},
        who="supervisor",
    )
    assert acd.commands == [("transfer", ("call-5",), {"kind": "blind", "target": "queue:x", "by": "boss"})]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"target": "queue:sales"}, "type: required"),
        ({"type": "warm", "target": "queue:sales"}, "type: Input should be 'blind' or 'attended'"),
        ({"type": "blind"}, "target: required"),
        ({"type": "blind", "target": "queue:"}, "target: String should match pattern"),
        ({"type": "blind", "target": "sales"}, "target: String should match pattern"),
        ({"type": "blind", "target": "number:12a"}, "target: String should match pattern"),
        ({"type": "blind", "target": "number:+"}, "target: String should match pattern"),
        ({"type": "blind", "target": "sip:x@evil"}, "target: String should match pattern"),
        ({"type": "blind", "target": "queue:a/../b"}, "target: String should match pattern"),
        ({"type": "blind", "target": "queue:x", "kind": "blind"}, "kind: unknown key"),
    ],
)
async def test_a_bad_transfer_is_422(
    client: Client, acd: FakeAcd, body: dict[str, Any], message: str
) -> None:
    status, answer = await call(client, "POST", "/api/v1/calls/call-1/transfer", body)
    assert status == 422
    assert answer["message"].startswith(message)
    assert acd.commands == []


async def test_an_agent_cannot_act_on_another_agents_call(client: Client, acd: FakeAcd) -> None:
    for path in ("transfer/complete", "transfer/cancel", "recording/pause", "recording/resume"):
        status, answer = await call(client, "POST", f"/api/v1/calls/call-1/{path}", who="agent1002")
        assert status == 403
        assert answer["message"] == "an agent may act only on its own call"
    assert acd.commands == []


async def test_an_agent_removed_from_the_acd_is_refused_calls(client: Client, acd: FakeAcd) -> None:
    del acd.views["1001"]
    status, _ = await call(client, "POST", "/api/v1/calls/call-1/recording/pause", who="agent1001")
    assert status == 403


async def test_attended_transfers_complete_and_cancel(client: Client, acd: FakeAcd) -> None:
    status, body = await call(client, "POST", "/api/v1/calls/call-1/transfer/complete", who="agent1001")
    assert (status, body["transfer"]["state"]) == (200, "completed")
    status, body = await call(client, "POST", "/api/v1/calls/call-1/transfer/cancel", who="supervisor")
    assert (status, body["transfer"]["state"]) == (200, "cancelled")
    assert [name for name, _, _ in acd.commands] == ["complete_transfer", "cancel_transfer"]


async def test_completing_a_transfer_nobody_started_is_409(client: Client, acd: FakeAcd) -> None:
    acd.fail = NotPermitted("call 'call-1': no transfer in progress")
    status, body = await call(client, "POST", "/api/v1/calls/call-1/transfer/complete")
    assert status == 409
    assert body == {"error": "acd_not_permitted", "message": "call 'call-1': no transfer in progress"}


async def test_an_unknown_call_is_404(client: Client, acd: FakeAcd) -> None:
    acd.fail = UnknownCall("call 'gone': unknown")
    status, body = await call(client, "POST", "/api/v1/calls/gone/transfer/cancel")
    assert (status, body["error"]) == (404, "call_unknown")


@pytest.mark.parametrize("call_id", ["a%20b", "..%2f..%2fetc", "c" * 129])
async def test_a_malformed_call_id_is_404_without_asking_the_acd(
    client: Client, acd: FakeAcd, call_id: str
) -> None:
    status, body = await call(client, "POST", f"/api/v1/calls/{call_id}/recording/pause", who="supervisor")
    assert (status, body["error"]) == (404, "call_unknown")
    assert acd.commands == []


@pytest.mark.parametrize("mode", ["listen", "whisper", "barge"])
async def test_a_supervisor_listens_whispers_or_barges(client: Client, acd: FakeAcd, mode: str) -> None:
    body = {"mode": mode, "endpoint": "PJSIP/2001"}
    status, answer = await call(client, "POST", "/api/v1/calls/call-1/supervise", body, who="supervisor")
    assert status == 200
    assert answer == {"call_id": "call-1", "mode": mode, "leg_id": "leg-7"}
    assert acd.commands == [
        ("supervise", ("call-1",), {"mode": mode, "endpoint": "PJSIP/2001", "supervisor": "boss"})
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"mode": "spy", "endpoint": "PJSIP/2001"}, "mode: Input should be 'listen', 'whisper' or 'barge'"),
        ({"mode": "listen"}, "endpoint: required"),
        ({"mode": "listen", "endpoint": "PJSIP/2001 extra"}, "endpoint: String should match pattern"),
        ({"mode": "listen", "endpoint": "PJSIP/" + "1" * 300}, "endpoint: String should have at most 200"),
    ],
)
async def test_a_bad_supervise_request_is_422(
    client: Client, acd: FakeAcd, body: dict[str, Any], message: str
) -> None:
    status, answer = await call(client, "POST", "/api/v1/calls/call-1/supervise", body)
    assert status == 422
    assert answer["message"].startswith(message)
    assert acd.commands == []


async def test_recording_pause_and_resume_name_who_asked(client: Client, acd: FakeAcd) -> None:
    assert (await call(client, "POST", "/api/v1/calls/call-1/recording/pause", who="agent1001"))[0] == 204
    assert (await call(client, "POST", "/api/v1/calls/call-1/recording/resume", who="supervisor"))[0] == 204
    assert acd.commands == [
        ("pause_recording", ("call-1",), {"reason": "api:1001"}),
        ("resume_recording", ("call-1",), {"reason": "api:boss"}),
    ]


# -- other errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "error_id"),
    [
        (StorageError("db down"), "storage_error"),
        (CcappError("x"), "ccapp_error"),
        (RuntimeError("bug"), "internal_error"),
    ],
)
async def test_any_other_error_is_500_with_an_error_id_and_no_details(
    client: Client, acd: FakeAcd, error: Exception, error_id: str
) -> None:
    acd.fail = error
    resp = await client.post("/api/v1/calls/call-1/recording/pause", headers=auth("admin"))
    assert resp.status == 500
    body = await resp.json()
    assert body["error"] == error_id
    assert body["message"].startswith("internal error (ref ")
    assert str(error) not in body["message"]
