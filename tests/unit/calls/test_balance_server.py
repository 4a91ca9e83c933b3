"""The balance test service (tests/support/balance_server.py) answers as documented."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.support.balance_server import BalanceServer, Seen, balance_server, balance_url

__all__ = ["balance_server", "balance_url"]  # fixtures, imported to be used below


async def test_a_known_account_has_its_balance_currency_and_name(balance_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{balance_url}/balance?account=12345") as r:
        assert r.status == 200
        assert await r.json() == {"balance": "1250", "currency": "EUR", "name": "Alice Martin"}


async def test_an_unknown_account_is_a_404_with_a_json_error(balance_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{balance_url}/balance?account=999") as r:
        assert r.status == 404
        assert await r.json() == {"error": "unknown account", "account": "999"}


async def test_an_account_that_is_not_digits_is_a_400(balance_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{balance_url}/balance?account=12a") as r:
        assert r.status == 400


async def test_broken_says_json_but_is_not(balance_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{balance_url}/broken") as r:
        assert r.status == 200
        assert r.content_type == "application/json"
        with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
            await r.json()


async def test_lookup_echoes_its_json_body(balance_server: BalanceServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{balance_server.url}/lookup", json={"account": "12345", "pin": 1}) as r,
    ):
        assert await r.json() == {"account": "12345", "pin": 1}
    assert balance_server.requests == [Seen("POST", "/lookup", '{"account": "12345", "pin": 1}')]


async def test_lookup_refuses_a_body_that_is_not_json(balance_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.post(f"{balance_url}/lookup", data=b"nope") as r:
        assert r.status == 400


async def test_slow_outlasts_a_client_timeout_and_stopping_releases_it() -> None:
    server = BalanceServer(slow_s=60)
    async with server as url, aiohttp.ClientSession() as http:
        with pytest.raises(asyncio.TimeoutError):
            async with http.get(f"{url}/slow", timeout=aiohttp.ClientTimeout(total=0.3)):
                pass
    assert [s.path_qs for s in server.requests] == ["/slow"]


async def test_each_server_gets_its_own_port_and_own_accounts() -> None:
    accounts = {"42": {"balance": "7", "currency": "GBP", "name": "Dan"}}
    async with BalanceServer(accounts) as a, BalanceServer() as b:
        assert a != b and a.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as http, http.get(f"{a}/balance?account=42") as r:
            assert (await r.json())["currency"] == "GBP"
