"""API tokens: the table built from settings, bearer authentication, roles, error mapping."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ccapp.acd.errors import NotPermitted, UnknownAgent
from ccapp.config.settings import Settings
from ccapp.errors import ConfigError, StorageError
from ccapp.web.auth import Principal, TokenTable, json_error, map_errors, require

Client = TestClient[web.Request, web.Application]


def settings(http: dict[str, Any] | None = None, agents: dict[str, Any] | None = None) -> Settings:
    return Settings.model_validate(
        {
            "ari": {"username": "u", "password": "p"},
            "ami": {"username": "u", "password": "p"},
            "http": http or {},
            "agents": agents or {},
        }
    )


def test_the_table_holds_admin_api_users_and_agents(tmp_path: Path) -> None:
    secret = tmp_path / "wallboard.token"
    secret.write_text("wall-token\n", encoding="utf-8")
    agent_secret = tmp_path / "1002.token"
    agent_secret.write_text("agent-1002-token\r\n", encoding="utf-8")
    table = TokenTable.from_settings(
        settings(
            http={
                "admin_token": "admin-token",
                "tokens": {
                    "boss": {"role": "supervisor", "token": "boss-token"},
                    "wallboard": {"role": "read_only", "token_file": str(secret)},
                },
            },
            agents={
                "1001": {"endpoint": "PJSIP/1001", "token": "agent-1001-token"},
                "1002": {"endpoint": "PJSIP/1002", "token_file": str(agent_secret)},
                "1003": {"endpoint": "PJSIP/1003"},
            },
        )
    )
    assert len(table) == 5
    assert table.lookup("admin-token") == Principal("admin", "admin")
    assert table.lookup("boss-token") == Principal("boss", "supervisor")
    assert table.lookup("wall-token") == Principal("wallboard", "read_only")
    assert table.lookup("agent-1001-token") == Principal("1001", "agent", "1001")
    assert table.lookup("agent-1002-token") == Principal("1002", "agent", "1002")
    assert table.lookup("wall-token\n") is None
    assert table.lookup("") is None
    assert table.lookup("admin-toke") is None


def test_the_table_never_shows_a_token(tmp_path: Path) -> None:
    table = TokenTable.from_settings(settings(http={"admin_token": "admin-token"}))
    assert "admin-token" not in repr(table)
    assert "admin-token" not in repr(list(table))


def test_without_any_token_nobody_gets_in() -> None:
    table = TokenTable.from_settings(settings())
    assert len(table) == 0
    assert table.lookup("anything") is None


def test_an_unreadable_token_file_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    missing = tmp_path / "nope.token"
    with pytest.raises(ConfigError) as caught:
        TokenTable.from_settings(
            settings(http={"tokens": {"wallboard": {"role": "read_only", "token_file": str(missing)}}})
        )
    assert caught.value.problems[0].startswith("http.tokens.wallboard.token_file: cannot read")


def test_an_unreadable_agent_token_file_names_the_agent(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        TokenTable.from_settings(
            settings(agents={"1001": {"endpoint": "PJSIP/1001", "token_file": str(tmp_path / "x")}})
        )
    assert caught.value.problems[0].startswith("agents.1001.token_file: cannot read")


def test_an_empty_token_file_is_a_config_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.token"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"http\.tokens\.w\.token_file: .* is empty"):
        TokenTable.from_settings(
            settings(http={"tokens": {"w": {"role": "read_only", "token_file": str(empty)}}})
        )


def test_two_users_with_one_token_is_a_config_error_without_the_token() -> None:
    with pytest.raises(ConfigError) as caught:
        TokenTable.from_settings(
            settings(
                http={"admin_token": "shared-token"},
                agents={"1001": {"endpoint": "PJSIP/1001", "token": "shared-token"}},
            )
        )
    assert caught.value.problems == [
        "agents.1001: the same token as http.admin_token; every user needs their own"
    ]
    assert "shared-token" not in str(caught.value)


def test_replace_swaps_the_tokens_in_place() -> None:
    table = TokenTable({"old": Principal("admin", "admin")})
    table.replace(TokenTable({"new": Principal("boss", "supervisor")}))
    assert table.lookup("old") is None
    assert table.lookup("new") == Principal("boss", "supervisor")


def test_require_refuses_other_roles_with_403() -> None:
    require(Principal("boss", "supervisor"), "admin", "supervisor")
    with pytest.raises(web.HTTPForbidden) as caught:
        require(Principal("1001", "agent", "1001"), "admin", "supervisor")
    assert json.loads(caught.value.text or "") == {
        "error": "forbidden",
        "message": "role agent may not do this",
    }


def test_json_error_has_the_status_and_body() -> None:
    exc = json_error(410, "gone", "it went")
    assert exc.status == 410
    assert exc.content_type == "application/json"
    assert json.loads(exc.text or "") == {"error": "gone", "message": "it went"}


# -- over HTTP --------------------------------------------------------------------------------------

TABLE = TokenTable(
    {"admin-token": Principal("admin", "admin"), "agent-token": Principal("1001", "agent", "1001")}
)


async def whoami(request: web.Request) -> web.StreamResponse:
    principal = TABLE.authenticate(request)
    return web.json_response({"name": principal.name, "role": principal.role})


async def raise_it(request: web.Request) -> web.StreamResponse:
    kind = request.match_info["kind"]
    if kind == "unknown":
        raise UnknownAgent("agent '9': unknown")
    if kind == "conflict":
        raise NotPermitted("not now")
    if kind == "storage":
        raise StorageError("postgresql://user:pw@db/ccapp is down")
    if kind == "http":
        raise json_error(422, "invalid_body", "x: required")
    raise RuntimeError("a bug with secret details")


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    app = web.Application()
    app.router.add_get("/whoami", whoami)
    app.router.add_get("/raise/{kind}", map_errors({UnknownAgent: 404, NotPermitted: 409})(raise_it))
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_a_good_bearer_token_names_the_principal(client: Client) -> None:
    resp = await client.get("/whoami", headers={"Authorization": "Bearer agent-token"})
    assert resp.status == 200
    assert await resp.json() == {"name": "1001", "role": "agent"}
    resp = await client.get("/whoami", headers={"Authorization": "bearer admin-token"})
    assert await resp.json() == {"name": "admin", "role": "admin"}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        "Basic admin-token",
        "admin-token",
        "Bearer admin-token2",
    ],
)
async def test_a_missing_or_bad_token_is_401_without_echoing_it(client: Client, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    resp = await client.get("/whoami", headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    body = await resp.json()
    assert body == {"error": "unauthorized", "message": "bad or missing bearer token"}


async def test_acd_errors_map_to_their_status_and_error_id(client: Client) -> None:
    resp = await client.get("/raise/unknown")
    assert resp.status == 404
    assert await resp.json() == {"error": "agent_unknown", "message": "agent '9': unknown"}
    resp = await client.get("/raise/conflict")
    assert resp.status == 409
    assert (await resp.json())["error"] == "acd_not_permitted"
    resp = await client.get("/raise/http")
    assert resp.status == 422
    assert (await resp.json())["error"] == "invalid_body"


async def test_other_errors_are_500_with_an_id_and_a_reference_but_no_details(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="ccapp.web.auth"):
        resp = await client.get("/raise/storage")
        assert resp.status == 500
        body = await resp.json()
        assert body["error"] == "storage_error"
        assert body["message"].startswith("internal error (ref ")
        assert "postgresql" not in await resp.text()
        resp = await client.get("/raise/bug")
        assert resp.status == 500
        text = await resp.text()
        assert json.loads(text)["error"] == "internal_error"
        assert "secret details" not in text
        assert "Traceback" not in text
    refs = [record for record in caplog.records if "failed (ref" in record.getMessage()]
    assert len(refs) == 2
    assert all(record.exc_info for record in refs)
