"""Dialer HTTP API over an in-memory fake dialer: every route, every role, bad bodies, error mapping."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ccapp.acd.errors import NotPermitted
from ccapp.dialer.dnc import BadEntry, parse_entry
from ccapp.errors import StorageError
from ccapp.web.acd_api import add_acd_routes
from ccapp.web.auth import Principal, TokenTable
from ccapp.web.dialer_api import EVENTS_SHOWN, DialerCommands, add_dialer_routes
from tests.unit.web.test_acd_api import FakeAcd

Client = TestClient[web.Request, web.Application]

AT = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
#: action → (statuses it may start from, status it leads to), as in ccapp.dialer.campaign
TRANSITIONS = {
    "start": ({"stopped", "paused", "finished"}, "running"),
    "pause": ({"running"}, "paused"),
    "stop": ({"running", "paused", "finished"}, "stopped"),
}


class FakeStore:
    """The dialer store's journal and do-not-call lists, in memory."""

    def __init__(self, dialer: FakeDialer) -> None:
        self._dialer = dialer
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.dnc: dict[str, dict[str, str | None]] = {"global": {"+12025550100": None, "+1900*": None}}

    async def campaign_events(self, campaign_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        self._dialer.do("campaign_events", campaign_id, limit=limit)
        events = self.events.get(campaign_id, [])
        return events[-limit:] if limit is not None else events

    async def dnc_add(
        self, list_name: str, entries: list[str], *, source: str | None, default_region: str
    ) -> tuple[int, list[BadEntry]]:
        self._dialer.do("dnc_add", list_name, entries, source=source, default_region=default_region)
        found = self.dnc.setdefault(list_name, {})
        added = 0
        for raw in entries:
            text = str(parse_entry(raw, default_region=default_region))
            if text not in found:
                found[text] = source
                added += 1
        return added, []

    async def dnc_remove(self, list_name: str, entries: list[str], *, default_region: str) -> int:
        self._dialer.do("dnc_remove", list_name, entries, default_region=default_region)
        found = self.dnc.get(list_name, {})
        texts = {str(parse_entry(raw, default_region=default_region)) for raw in entries}
        return sum(1 for text in texts if found.pop(text, "absent") != "absent")

    async def dnc_entries(self, list_name: str | None = None) -> list[tuple[str, str]]:
        self._dialer.do("dnc_entries", list_name)
        return sorted(
            (name, entry)
            for name, entries in self.dnc.items()
            if list_name in (None, name)
            for entry in entries
        )


class FakeDialer:
    """Campaign ``sales`` is stopped, ``survey`` is running; agent 1001 has a lead to preview.
    Records every call; ``fail`` makes the next ones raise it."""

    def __init__(self) -> None:
        self.statuses = {"sales": "stopped", "survey": "running"}
        self.previews: dict[str, dict[str, Any]] = {"1001": offer("1001")}
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.fail: Exception | None = None
        self.store = FakeStore(self)

    @property
    def runs(self) -> dict[str, str]:
        return self.statuses

    def do(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, args, kwargs))
        if self.fail is not None:
            raise self.fail

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]

    async def command(self, campaign_id: str, action: str, *, actor: str | None) -> str:
        self.do("command", campaign_id, action, actor=actor)
        if campaign_id not in self.statuses:
            raise NotPermitted(f"no campaign {campaign_id!r} in the configuration")
        sources, target = TRANSITIONS[action]
        if self.statuses[campaign_id] not in sources:
            raise NotPermitted(f"campaign {campaign_id!r} is {self.statuses[campaign_id]}: cannot {action}")
        self.store.events.setdefault(campaign_id, []).append(
            {"id": 1, "at": AT.replace(tzinfo=None), "action": action, "actor": actor, "detail": None}
        )
        self.statuses[campaign_id] = target
        return target

    async def view(self, campaign_id: str) -> dict[str, Any]:
        self.do("view", campaign_id)
        return {
            "campaign_id": campaign_id,
            "mode": "predictive",
            "queue": "sales",
            "status": self.statuses[campaign_id],
            "lines_in_flight": 0,
            "attempts_in_progress": 0,
            "leads": {"new": 3, "done": 1},
            "abandon": {"target": 0.03, "window": "30d", "live_answers": 40, "abandoned": 1},
        }

    def preview_of(self, agent_id: str) -> dict[str, Any] | None:
        self.do("preview_of", agent_id)
        return self.previews.get(agent_id)

    async def preview_accept(self, agent_id: str) -> dict[str, Any]:
        self.do("preview_accept", agent_id)
        found = self.previews.get(agent_id)
        if found is None:
            raise NotPermitted(f"agent {agent_id!r} has no lead to preview")
        if found["accepted"]:
            raise NotPermitted("the lead is being dialled already")
        found["accepted"] = True
        return found

    async def preview_skip(self, agent_id: str) -> None:
        self.do("preview_skip", agent_id)
        if self.previews.pop(agent_id, None) is None:
            raise NotPermitted(f"agent {agent_id!r} has no lead to preview")


def offer(agent_id: str) -> dict[str, Any]:
    return {
        "campaign_id": "sales",
        "attempt_id": f"att-{agent_id}",
        "lead_id": "lead-7",
        "phone": "+12025550123",
        "name": "Ada",
        "time_zone": "America/New_York",
        "attempts": 0,
        "offered_at": AT.isoformat(),
        "accepted": False,
    }


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
def dialer() -> FakeDialer:
    return FakeDialer()


@pytest.fixture
def tokens() -> TokenTable:
    return TokenTable({f"{who}-token": principal for who, principal in PRINCIPALS.items()})


@pytest.fixture
async def client(dialer: FakeDialer, tokens: TokenTable) -> AsyncIterator[Client]:
    app = web.Application()
    commands: DialerCommands = dialer
    add_dialer_routes(app, commands, tokens)
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
NUMBERS = {"numbers": ["+12025550100"]}
ROUTES: list[tuple[str, str, Any, set[str]]] = [
    ("GET", "/api/v1/campaigns", None, VIEWERS),
    ("GET", "/api/v1/campaigns/sales", None, VIEWERS),
    ("POST", "/api/v1/campaigns/sales/start", None, STAFF),
    ("POST", "/api/v1/campaigns/survey/pause", None, STAFF),
    ("POST", "/api/v1/campaigns/survey/stop", {}, STAFF),
    ("GET", "/api/v1/agents/1001/preview", None, STAFF | {"agent1001"}),
    ("POST", "/api/v1/agents/1001/preview/accept", None, STAFF | {"agent1001"}),
    ("POST", "/api/v1/agents/1001/preview/skip", None, STAFF | {"agent1001"}),
    ("GET", "/api/v1/dnc/global", None, VIEWERS),
    ("POST", "/api/v1/dnc/global", NUMBERS, STAFF),
    ("DELETE", "/api/v1/dnc/global", NUMBERS, STAFF),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed", "who"),
    [(*route, who) for route, who in itertools.product(ROUTES, PRINCIPALS)],
    ids=[f"{route[0]} {route[1]} as {who}" for route, who in itertools.product(ROUTES, PRINCIPALS)],
)
async def test_each_route_lets_in_exactly_its_roles(
    client: Client, dialer: FakeDialer, method: str, path: str, body: Any, allowed: set[str], who: str
) -> None:
    status, answer = await call(client, method, path, body, who=who)
    if who in allowed:
        assert status in (200, 204), answer
        assert dialer.calls
    else:
        assert status == 403
        assert answer["error"] == "forbidden"
        assert dialer.calls == []


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"),
    ROUTES,
    ids=[f"{r[0]} {r[1]}" for r in ROUTES],
)
@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic admin-token"])
async def test_each_route_wants_a_good_token(
    client: Client,
    dialer: FakeDialer,
    method: str,
    path: str,
    body: Any,
    allowed: set[str],
    header: str | None,
) -> None:
    headers = {"Authorization": header} if header else {}
    resp = await client.request(method, path, json=body, headers=headers)
    assert resp.status == 401
    assert await resp.json() == {"error": "unauthorized", "message": "bad or missing bearer token"}
    assert dialer.calls == []


# -- campaigns --------------------------------------------------------------------------------------


async def test_campaigns_are_listed_by_id_with_their_views(client: Client) -> None:
    status, answer = await call(client, "GET", "/api/v1/campaigns", who="read_only")
    assert status == 200
    assert [view["campaign_id"] for view in answer["campaigns"]] == ["sales", "survey"]
    assert answer["campaigns"][1]["status"] == "running"
    assert answer["campaigns"][0]["abandon"] == {
        "target": 0.03,
        "window": "30d",
        "live_answers": 40,
        "abandoned": 1,
    }


async def test_a_campaign_shows_its_view_and_its_last_events_in_utc(
    client: Client, dialer: FakeDialer
) -> None:
    dialer.store.events["sales"] = [
        {"id": i, "at": AT + timedelta(minutes=i), "action": "start", "actor": "boss", "detail": None}
        for i in range(30)
    ]
    status, answer = await call(client, "GET", "/api/v1/campaigns/sales", who="supervisor")
    assert status == 200
    assert answer["campaign"]["status"] == "stopped"
    assert len(answer["events"]) == EVENTS_SHOWN
    assert answer["events"][-1] == {
        "id": 29,
        "at": "2026-11-26T05:29:00+00:00",
        "action": "start",
        "actor": "boss",
        "detail": None,
    }
    assert ("campaign_events", ("sales",), {"limit": EVENTS_SHOWN}) in dialer.calls


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("POST", "/start"), ("POST", "/pause"), ("POST", "/stop")]
)
@pytest.mark.parametrize("campaign_id", ["nope", "bad%20id", "x" * 65])
async def test_an_unknown_or_malformed_campaign_is_404_without_asking_the_dialer(
    client: Client, dialer: FakeDialer, method: str, suffix: str, campaign_id: str
) -> None:
    status, answer = await call(client, method, f"/api/v1/campaigns/{campaign_id}{suffix}")
    assert status == 404
    assert answer["error"] == "campaign_unknown"
    assert dialer.calls == []


async def test_starting_a_campaign_names_who_did_it_and_answers_its_new_status(
    client: Client, dialer: FakeDialer
) -> None:
    status, answer = await call(client, "POST", "/api/v1/campaigns/sales/start", who="supervisor")
    assert (status, answer) == (200, {"campaign_id": "sales", "status": "running"})
    assert dialer.calls == [("command", ("sales", "start"), {"actor": "boss"})]


async def test_pause_then_start_again(client: Client, dialer: FakeDialer) -> None:
    assert (await call(client, "POST", "/api/v1/campaigns/survey/pause"))[1]["status"] == "paused"
    assert (await call(client, "POST", "/api/v1/campaigns/survey/start"))[1]["status"] == "running"
    assert (await call(client, "POST", "/api/v1/campaigns/survey/stop", {}))[1]["status"] == "stopped"
    assert [args for _, args, _ in dialer.calls] == [
        ("survey", "pause"),
        ("survey", "start"),
        ("survey", "stop"),
    ]


@pytest.mark.parametrize(
    ("campaign_id", "action"), [("sales", "pause"), ("sales", "stop"), ("survey", "start")]
)
async def test_an_illegal_transition_is_409(
    client: Client, dialer: FakeDialer, campaign_id: str, action: str
) -> None:
    before = dict(dialer.statuses)
    status, answer = await call(client, "POST", f"/api/v1/campaigns/{campaign_id}/{action}")
    assert status == 409
    assert answer["error"] == "acd_not_permitted"
    assert f"cannot {action}" in answer["message"]
    assert dialer.statuses == before


@pytest.mark.parametrize(
    ("body", "message"),
    [({"reason": "x"}, "reason: unknown key"), ([], "the body must be a JSON object")],
)
async def test_a_campaign_command_takes_no_parameters(
    client: Client, dialer: FakeDialer, body: Any, message: str
) -> None:
    status, answer = await call(client, "POST", "/api/v1/campaigns/sales/start", body)
    assert (status, answer) == (422, {"error": "invalid_body", "message": message})
    assert dialer.calls == []


async def test_a_campaign_command_body_that_is_not_json_is_400(client: Client, dialer: FakeDialer) -> None:
    status, answer = await call(client, "POST", "/api/v1/campaigns/sales/start", raw="{nope")
    assert (status, answer["error"]) == (400, "bad_json")
    assert dialer.calls == []


# -- preview ----------------------------------------------------------------------------------------


async def test_an_agent_reads_its_preview(client: Client) -> None:
    status, answer = await call(client, "GET", "/api/v1/agents/1001/preview", who="agent1001")
    assert (status, answer) == (200, {"preview": offer("1001")})


async def test_no_preview_is_204(client: Client, dialer: FakeDialer) -> None:
    assert await call(client, "GET", "/api/v1/agents/1002/preview", who="agent1002") == (204, None)
    assert dialer.calls == [("preview_of", ("1002",), {})]


async def test_accepting_answers_the_offer_being_dialled(client: Client, dialer: FakeDialer) -> None:
    status, answer = await call(client, "POST", "/api/v1/agents/1001/preview/accept", who="agent1001")
    assert status == 200
    assert answer["preview"] == {**offer("1001"), "accepted": True}
    assert dialer.names() == ["preview_accept"]


async def test_accepting_twice_is_409(client: Client) -> None:
    await call(client, "POST", "/api/v1/agents/1001/preview/accept")
    status, answer = await call(client, "POST", "/api/v1/agents/1001/preview/accept")
    assert (status, answer["error"]) == (409, "acd_not_permitted")


async def test_skipping_gives_the_lead_back(client: Client, dialer: FakeDialer) -> None:
    assert await call(client, "POST", "/api/v1/agents/1001/preview/skip", who="supervisor") == (204, None)
    assert dialer.previews == {}


@pytest.mark.parametrize("action", ["accept", "skip"])
async def test_accepting_or_skipping_without_an_offer_is_409(client: Client, action: str) -> None:
    status, answer = await call(client, "POST", f"/api/v1/agents/1002/preview/{action}", who="agent1002")
    assert status == 409
    assert answer == {"error": "acd_not_permitted", "message": "agent '1002' has no lead to preview"}


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/accept"), ("POST", "/skip")])
async def test_a_malformed_agent_id_is_404_without_asking_the_dialer(
    client: Client, dialer: FakeDialer, method: str, suffix: str
) -> None:
    status, answer = await call(client, method, f"/api/v1/agents/bad%20id/preview{suffix}")
    assert (status, answer["error"]) == (404, "agent_unknown")
    assert dialer.calls == []


@pytest.mark.parametrize("action", ["accept", "skip"])
async def test_preview_actions_take_no_parameters(client: Client, dialer: FakeDialer, action: str) -> None:
    status, answer = await call(client, "POST", f"/api/v1/agents/1001/preview/{action}", {"now": True})
    assert (status, answer) == (422, {"error": "invalid_body", "message": "now: unknown key"})
    assert dialer.calls == []


# -- do-not-call ------------------------------------------------------------------------------------


async def test_a_list_shows_its_entries(client: Client, dialer: FakeDialer) -> None:
    dialer.store.dnc["campaign:sales"] = {"+442079460000": None}
    status, answer = await call(client, "GET", "/api/v1/dnc/global", who="read_only")
    assert (status, answer) == (200, {"list": "global", "entries": ["+12025550100", "+1900*"]})
    status, answer = await call(client, "GET", "/api/v1/dnc/campaign:sales")
    assert (status, answer) == (200, {"list": "campaign:sales", "entries": ["+442079460000"]})


async def test_a_list_nobody_filled_is_empty(client: Client) -> None:
    assert await call(client, "GET", "/api/v1/dnc/nobody") == (200, {"list": "nobody", "entries": []})


async def test_numbers_are_added_in_e164_by_whom_and_counted_once(client: Client, dialer: FakeDialer) -> None:
    body = {"numbers": ["(202) 555-0142", "+1 202 555 0142", "+12025550100", "+44 70*"]}
    status, answer = await call(client, "POST", "/api/v1/dnc/global", body, who="supervisor")
    assert (status, answer) == (200, {"list": "global", "added": 2})
    assert dialer.store.dnc["global"]["+12025550142"] == "api:boss"
    assert dialer.store.dnc["global"]["+4470*"] == "api:boss"
    assert dialer.calls[0][2] == {"source": "api:boss", "default_region": "US"}


async def test_national_numbers_are_read_in_the_default_region(client: Client, dialer: FakeDialer) -> None:
    body = {"numbers": ["020 7946 0000"], "default_region": "GB"}
    assert await call(client, "POST", "/api/v1/dnc/campaign:uk", body) == (
        200,
        {"list": "campaign:uk", "added": 1},
    )
    assert dialer.store.dnc["campaign:uk"] == {"+442079460000": "api:admin"}


async def test_numbers_are_removed(client: Client, dialer: FakeDialer) -> None:
    body = {"numbers": ["202-555-0100", "+1900*", "+12025550199"]}
    status, answer = await call(client, "DELETE", "/api/v1/dnc/global", body)
    assert (status, answer) == (200, {"list": "global", "removed": 2})
    assert dialer.store.dnc["global"] == {}


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_one_unreadable_number_changes_nothing_and_is_named_by_position(
    client: Client, dialer: FakeDialer, method: str
) -> None:
    body = {"numbers": ["+12025550142", "12", "+1x*", "555 0100"]}
    status, answer = await call(client, method, "/api/v1/dnc/global", body)
    assert status == 422
    assert answer["error"] == "invalid_body"
    assert answer["message"].startswith("numbers.1: invalid number; numbers.2: bad prefix")
    assert answer["message"].endswith("; nothing changed")
    assert "+1x" not in answer["message"]
    assert dialer.calls == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "numbers: required"),
        ({"numbers": []}, "numbers: List should have at least 1 item after validation, not 0"),
        ({"numbers": "+12025550142"}, "numbers: Input should be a valid list"),
        ({"numbers": [12025550142]}, "numbers.0: Input should be a valid string"),
        ({"numbers": ["+1202555#0142"]}, "numbers.0: String should match pattern"),
        ({"numbers": ["+12025550142"], "default_region": "us"}, "default_region: String should match"),
        ({"numbers": ["+12025550142"], "default_region": "ZZ"}, "default_region: Value error, not a region"),
        ({"numbers": ["+12025550142"], "source": "me"}, "source: unknown key"),
    ],
)
async def test_a_bad_dnc_body_is_422(client: Client, dialer: FakeDialer, body: Any, message: str) -> None:
    status, answer = await call(client, "POST", "/api/v1/dnc/global", body)
    assert (status, answer["error"]) == (422, "invalid_body")
    assert answer["message"].startswith(message)
    assert dialer.calls == []


async def test_too_many_numbers_at_once_is_422(client: Client, dialer: FakeDialer) -> None:
    status, answer = await call(client, "POST", "/api/v1/dnc/global", {"numbers": ["+12025550142"] * 10_001})
    assert (status, answer["error"]) == (422, "invalid_body")
    assert dialer.calls == []


async def test_adding_to_a_malformed_list_name_is_422_and_reading_it_404(
    client: Client, dialer: FakeDialer
) -> None:
    status, answer = await call(client, "POST", "/api/v1/dnc/a:b:c", NUMBERS)
    assert (status, answer["error"]) == (422, "invalid_body")
    for method in ("GET", "DELETE"):
        status, answer = await call(client, method, "/api/v1/dnc/a:b:c", NUMBERS)
        assert (status, answer["error"]) == (404, "dnc_list_unknown")
    assert dialer.calls == []


# -- beside the other APIs -------------------------------------------------------------------------


async def test_the_routes_sit_beside_the_acd_routes(dialer: FakeDialer, tokens: TokenTable) -> None:
    app = web.Application()
    add_acd_routes(app, FakeAcd(), tokens)
    add_dialer_routes(app, dialer, tokens)
    async with TestClient(TestServer(app)) as client:
        assert (await call(client, "GET", "/api/v1/agents/1001/preview"))[0] == 200
        assert (await call(client, "GET", "/api/v1/agents/1001"))[0] == 200


# -- errors -----------------------------------------------------------------------------------------


async def test_replaced_tokens_take_effect_at_once(client: Client, tokens: TokenTable) -> None:
    tokens.replace(TokenTable({"fresh-token": Principal("admin", "admin")}))
    assert (await call(client, "GET", "/api/v1/campaigns", who="admin"))[0] == 401
    resp = await client.get("/api/v1/campaigns", headers={"Authorization": "Bearer fresh-token"})
    assert resp.status == 200


@pytest.mark.parametrize(
    ("error", "error_id"),
    [(StorageError("db down at 10.0.0.5"), "storage_error"), (RuntimeError("bug"), "internal_error")],
)
async def test_any_other_error_is_500_with_an_error_id_and_no_details(
    client: Client, dialer: FakeDialer, error: Exception, error_id: str
) -> None:
    dialer.fail = error
    status, answer = await call(client, "GET", "/api/v1/campaigns/sales")
    assert status == 500
    assert answer["error"] == error_id
    assert answer["message"].startswith("internal error (ref ")
    assert str(error) not in answer["message"]
