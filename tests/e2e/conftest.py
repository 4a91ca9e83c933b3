"""End-to-end fixtures: ccapp running in-process against the real Asterisk test bed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from ccapp.app import Application
from ccapp.config import load_settings
from ccapp.storage import upgrade
from tests.integration.storage.conftest import pg_url, proxy  # noqa: F401 - fixtures
from tests.support.testbed import REPO

TESTBED_CONFIG = REPO / "asterisk-conf" / "testbed" / "ccapp.yaml"

StartCcapp = Callable[[str], Awaitable[Application]]


@pytest.fixture
async def start_ccapp(asterisk: None, tmp_path: Path) -> AsyncIterator[StartCcapp]:
    """Start ccapp (in this process) on a database URL; stopped at the end of the test."""
    running: list[tuple[Application, asyncio.Task[int]]] = []

    async def start(db_url: str, *, migrate: bool = True) -> Application:
        if migrate:
            await upgrade(db_url)
        settings = load_settings(
            TESTBED_CONFIG,
            {"CCAPP_DATABASE__URL": db_url, "CCAPP_DATABASE__OUTBOX_DIR": str(tmp_path / "outbox")},
        )
        app = Application(settings)
        task = asyncio.create_task(app.run())
        running.append((app, task))
        async with asyncio.timeout(15):
            await app.started.wait()
            await app.c.ari.stream.wait_connected(15)
        return app

    yield start
    for app, task in running:
        app.request_stop()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(30):
                await task


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'ccapp.db'}"


async def settle(app: Application, calls: int, timeout: float = 30) -> None:
    """Wait until ccapp has closed ``calls`` calls and the journal is in SQL."""
    async with asyncio.timeout(timeout):
        while app.c.service.stats["ended"] < calls or app.c.service.active:
            await asyncio.sleep(0.1)
        await app.c.journal.flush()
