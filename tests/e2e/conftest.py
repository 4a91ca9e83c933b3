"""End-to-end fixtures: ccapp running in-process against the real Asterisk test bed."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from ccapp.app import Application
from ccapp.config import load_settings
from ccapp.storage import upgrade
from tests.integration.storage.conftest import pg_url, proxy  # noqa: F401 - fixtures
from tests.support.balance_server import balance_server  # noqa: F401 - fixture
from tests.support.testbed import REPO

TESTBED_CONFIG = REPO / "asterisk-conf" / "testbed" / "ccapp.yaml"

StartCcapp = Callable[..., Awaitable[Application]]


@pytest.fixture
async def start_ccapp(asterisk: None, tmp_path: Path) -> AsyncIterator[StartCcapp]:
    """Start ccapp (in this process) on a database URL; stopped at the end of the test."""
    running: list[tuple[Application, asyncio.Task[int]]] = []

    async def start(db_url: str, *, migrate: bool = True, config: Path = TESTBED_CONFIG) -> Application:
        if migrate:
            await upgrade(db_url)
        env = {"CCAPP_DATABASE__URL": db_url, "CCAPP_DATABASE__OUTBOX_DIR": str(tmp_path / "outbox")}
        if config is not TESTBED_CONFIG:
            env["CCAPP_HTTP__PORT"] = str(free_tcp_port())
        settings = load_settings(config, env)
        app = Application(settings, config)
        task = asyncio.create_task(app.run())
        running.append((app, task))
        started = asyncio.ensure_future(app.started.wait())
        done, _ = await asyncio.wait({task, started}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if task in done:
            raise RuntimeError(f"ccapp stopped while starting (exit {task.result()})")
        if not done:
            raise TimeoutError("ccapp did not start within 15 s")
        await app.c.ari.stream.wait_connected(15)
        return app

    yield start
    for app, task in running:
        app.request_stop()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(30):
                await task


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'ccapp.db'}"


async def settle(app: Application, calls: int, timeout: float = 30) -> None:
    """Wait until ccapp has closed ``calls`` calls and the journal is in SQL."""
    async with asyncio.timeout(timeout):
        while app.c.service.stats["ended"] < calls or app.c.service.active:
            await asyncio.sleep(0.1)
        await app.c.journal.flush()
