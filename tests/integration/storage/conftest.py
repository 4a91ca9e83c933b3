"""Fixtures for the PostgreSQL storage tests: a fresh database per test and a TCP proxy to cut."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from ccapp.storage import Database, upgrade
from tests.integration.storage.tcp_proxy import TcpProxy

PG_ENV = "CCAPP_TEST_PG_URL"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """URL of a new, empty database on the server at CCAPP_TEST_PG_URL, dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"set {PG_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)")
    name = f"ccapp_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()


@pytest.fixture
async def pg_db(pg_url: str) -> AsyncIterator[Database]:
    """A migrated database."""
    await upgrade(pg_url)
    database = Database(pg_url)
    yield database
    await database.dispose()


@pytest.fixture
async def proxy(pg_url: str) -> AsyncIterator[TcpProxy]:
    url = make_url(pg_url)
    tcp = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    yield tcp
    with contextlib.suppress(Exception):
        await tcp.close()
