"""Admin API: tree reload and the list of trees in service, behind a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ccapp.app import Application
from ccapp.config.loader import load_settings
from ccapp.web.admin import add_admin_routes

TOKEN = "s3cret-token"
GOOD = {"Authorization": f"Bearer {TOKEN}"}

CONFIG = """\
ari: {{username: u, password: p}}
ami: {{username: u, password: p}}
database: {{url: "sqlite+aiosqlite:///{db}", outbox_dir: "{outbox}"}}
http: {{admin_token: {token}}}
ivr:
  sounds_dirs: []
  trees:
    main:
      start: bye
      nodes:
        bye: {{type: hangup, cause: {cause}}}
"""


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    path = tmp_path / "ccapp.yaml"

    def write(cause: str = "16") -> Path:
        text = CONFIG.format(db=tmp_path / "db", outbox=tmp_path / "outbox", token=TOKEN, cause=cause)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
async def application(write: Callable[..., Path]) -> AsyncIterator[Application]:
    path = write()
    app = Application(load_settings(path, {}), path)
    yield app
    await app.fetcher.close()
    await app.c.db.dispose()


def admin_app(application: Application, token: str | None) -> web.Application:
    """The admin routes wired as `Application.run` wires them."""
    app = web.Application()
    add_admin_routes(
        app, token=token, reload=application.reload_trees, trees=application.ivr.registry.versions
    )
    return app


@pytest.fixture
async def client(application: Application) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    settings_token = application.settings.http.admin_token
    assert settings_token is not None
    async with TestClient(TestServer(admin_app(application, settings_token.get_secret_value()))) as client:
        yield client


@pytest.mark.parametrize("token", [None, ""])
async def test_without_a_configured_token_every_admin_request_is_forbidden(
    application: Application, token: str | None
) -> None:
    async with TestClient(TestServer(admin_app(application, token))) as client:
        for method, url in (("POST", "/api/v1/admin/reload"), ("GET", "/api/v1/ivr/trees")):
            for headers in ({}, {"Authorization": "Bearer "}, GOOD):
                resp = await client.request(method, url, headers=headers)
                assert resp.status == 403
                assert await resp.json() == {"error": "admin API disabled: set http.admin_token"}
    assert application.ivr.registry.generation == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"bearer  {TOKEN}"},
    ],
)
async def test_a_missing_or_wrong_token_is_unauthorised(
    client: TestClient[web.Request, web.Application], application: Application, headers: dict[str, str]
) -> None:
    for method, url in (("POST", "/api/v1/admin/reload"), ("GET", "/api/v1/ivr/trees")):
        resp = await client.request(method, url, headers=headers)
        assert resp.status == 401
        assert await resp.json() == {"error": "bad or missing bearer token"}
    assert application.ivr.registry.generation == 1


async def test_the_trees_in_service_are_listed_with_their_versions(
    client: TestClient[web.Request, web.Application], application: Application
) -> None:
    resp = await client.get("/api/v1/ivr/trees", headers=GOOD)

    assert resp.status == 200
    assert await resp.json() == {"trees": application.ivr.registry.versions()}


async def test_a_valid_reload_answers_200_with_the_summary_and_new_versions(
    client: TestClient[web.Request, web.Application], application: Application, write: Callable[..., Path]
) -> None:
    old = application.ivr.registry.versions()["main"]
    write(cause="17")

    resp = await client.post("/api/v1/admin/reload", headers=GOOD)

    assert resp.status == 200
    body = await resp.json()
    assert body == {
        "reloaded": True,
        "summary": "changed: main",
        "trees": application.ivr.registry.versions(),
    }
    assert body["trees"]["main"] != old


async def test_a_broken_file_answers_422_with_its_problems_and_keeps_the_trees(
    client: TestClient[web.Request, web.Application], application: Application, write: Callable[..., Path]
) -> None:
    before = application.ivr.registry.versions()
    write(cause="999")

    resp = await client.post("/api/v1/admin/reload", headers=GOOD)

    assert resp.status == 422
    assert await resp.json() == {
        "reloaded": False,
        "problems": ["ivr.trees.main.nodes.bye.cause: input should be less than or equal to 127 (line 11)"],
    }
    assert application.ivr.registry.versions() == before
    assert application.ivr.registry.generation == 1


async def test_reload_only_answers_post(client: TestClient[web.Request, web.Application]) -> None:
    resp = await client.get("/api/v1/admin/reload", headers=GOOD)

    assert resp.status == 405
