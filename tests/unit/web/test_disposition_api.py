"""POST /api/v1/agents/{id}/disposition: ``right_party`` goes to the ACD with the rest; bad values are
refused with 422 naming the key; the ACD's own refusal is a 422 too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ccapp.acd.errors import InvalidDisposition
from ccapp.web.acd_api import add_acd_routes
from ccapp.web.auth import TokenTable
from tests.unit.web.test_acd_api import PRINCIPALS, FakeAcd, auth

Client = TestClient[web.Request, web.Application]
PATH = "/api/v1/agents/1001/disposition"


@pytest.fixture
def acd() -> FakeAcd:
    return FakeAcd()


@pytest.fixture
async def client(acd: FakeAcd) -> AsyncIterator[Client]:
    app = web.Application()
    add_acd_routes(app, acd, TokenTable({f"{who}-token": p for who, p in PRINCIPALS.items()}))
    async with TestClient(TestServer(app)) as client:
        yield client


async def post(client: Client, body: Any, who: str = "agent1001") -> tuple[int, Any]:
    resp = await client.post(PATH, json=body, headers=auth(who))
    return resp.status, (None if resp.status == 204 else await resp.json())


@pytest.mark.parametrize("right_party", [True, False])
async def test_the_right_party_flag_reaches_the_acd(client: Client, acd: FakeAcd, right_party: bool) -> None:
    body = {"call_id": "call-1", "outcome": "promise_to_pay", "right_party": right_party}
    assert await post(client, body) == (204, None)
    assert acd.commands == [
        (
            "disposition",
            ("1001", "call-1"),
            {
                "outcome": "promise_to_pay",
                "resolved": None,
                "topic": None,
                "notes": None,
                "right_party": right_party,
            },
        )
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"right_party": "yes"}, "right_party: Input should be a valid boolean"),
        ({"right_party": 1}, "right_party: Input should be a valid boolean"),
        ({"notes": "n" * 501}, "notes: String should have at most 500 characters"),
        ({"outcome": "two words"}, "outcome: String should match pattern"),
        ({"rpc": True}, "rpc: unknown key"),
    ],
)
async def test_a_bad_disposition_body_is_refused_naming_the_key(
    client: Client, acd: FakeAcd, extra: dict[str, Any], message: str
) -> None:
    status, answer = await post(client, {"call_id": "call-1", "outcome": "sale", **extra})
    assert (status, answer["error"]) == (422, "invalid_body")
    assert message in answer["message"]
    assert acd.commands == []


async def test_the_acds_own_refusal_is_a_422(client: Client, acd: FakeAcd) -> None:
    acd.fail = InvalidDisposition("notes: text of at most 500 characters")
    status, answer = await post(client, {"call_id": "call-1", "outcome": "sale"}, who="admin")
    assert (status, answer["error"]) == (422, "disposition_invalid")
