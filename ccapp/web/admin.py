"""Admin API: reload IVR trees, list the trees in service. Bearer token from ``http.admin_token``;
without one configured every admin request is refused."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from aiohttp import web

Reload = Callable[[], tuple[bool, list[str]]]
Trees = Callable[[], dict[str, str]]

_TOKEN = web.AppKey("admin_token", str)
_RELOAD: web.AppKey[Reload] = web.AppKey("reload")
_TREES: web.AppKey[Trees] = web.AppKey("trees")


def add_admin_routes(
    app: web.Application,
    *,
    token: str | None,
    reload: Callable[[], tuple[bool, list[str]]],
    trees: Callable[[], dict[str, str]],
) -> None:
    app[_TOKEN] = token or ""
    app[_RELOAD] = reload
    app[_TREES] = trees
    app.router.add_post("/api/v1/admin/reload", _reload)
    app.router.add_get("/api/v1/ivr/trees", _trees)


def _authorised(request: web.Request) -> None:
    token = request.app[_TOKEN]
    given = request.headers.get("Authorization", "")
    if not token:
        raise web.HTTPForbidden(
            text='{"error": "admin API disabled: set http.admin_token"}', content_type="application/json"
        )
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise web.HTTPUnauthorized(
            text='{"error": "bad or missing bearer token"}', content_type="application/json"
        )


async def _reload(request: web.Request) -> web.Response:
    _authorised(request)
    ok, lines = request.app[_RELOAD]()
    if ok:
        return web.json_response({"reloaded": True, "summary": lines[0], "trees": request.app[_TREES]()})
    return web.json_response({"reloaded": False, "problems": lines}, status=422)


async def _trees(request: web.Request) -> web.Response:
    _authorised(request)
    return web.json_response({"trees": request.app[_TREES]()})
