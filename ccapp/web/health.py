"""HTTP for operators: liveness, readiness and Prometheus metrics.

`/healthz` answers while the process runs; `/readyz` only while every readiness check passes
(Asterisk connected, database reachable), so a load balancer or systemd watchdog can act on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

ReadinessCheck = Callable[[], Awaitable[bool]]
MetricsSource = Callable[[], Mapping[str, float]]

_CHECKS: web.AppKey[Mapping[str, ReadinessCheck]] = web.AppKey("checks")
_METRICS: web.AppKey[MetricsSource] = web.AppKey("metrics")


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _run_check(check: ReadinessCheck) -> bool:
    try:
        async with asyncio.timeout(2):
            return await check()
    except Exception:
        return False


async def _readyz(request: web.Request) -> web.Response:
    checks = request.app[_CHECKS]
    results = await asyncio.gather(*(_run_check(c) for c in checks.values()))
    status = dict(zip(checks, results, strict=True))
    ready = all(results)
    return web.json_response({"ready": ready, "checks": status}, status=200 if ready else 503)


async def _metrics(request: web.Request) -> web.Response:
    lines = []
    for name, value in sorted(request.app[_METRICS]().items()):
        lines.append(f"ccapp_{name} {value:g}")
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8")


def make_health_app(checks: Mapping[str, ReadinessCheck], metrics: MetricsSource) -> web.Application:
    """The operator endpoints as an aiohttp application."""
    app = web.Application()
    app[_CHECKS] = checks
    app[_METRICS] = metrics
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    return app
