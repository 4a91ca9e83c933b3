"""Operator endpoints."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from ccapp.web.health import make_health_app


async def test_readyz_is_unready_while_any_check_fails_and_healthz_stays_ok() -> None:
    state = {"ari": False}

    async def ari() -> bool:
        return state["ari"]

    async def db() -> bool:
        return True

    async def broken() -> bool:
        raise OSError("boom")

    app = make_health_app({"ari": ari, "database": db}, lambda: {"calls_active": 2})
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/healthz")).status == 200
        resp = await client.get("/readyz")
        assert resp.status == 503
        assert await resp.json() == {"ready": False, "checks": {"ari": False, "database": True}}
        state["ari"] = True
        assert (await client.get("/readyz")).status == 200
        assert "ccapp_calls_active 2" in await (await client.get("/metrics")).text()

    app = make_health_app({"x": broken}, dict)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/readyz")).status == 503
