"""A FastAGI server on the port the test-bed dialplan calls, and an AMI client to place calls."""

from __future__ import annotations

import asyncio
import errno
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ccapp.telephony.agi import AgiSession, FastAgiServer
from ccapp.telephony.ami import AmiClient, Originate
from tests.support import testbed

AGI_PORT = 4573
TOKEN_VARIABLE = "CCAPP_TEST_TOKEN"


async def start_on_agi_port(server: FastAgiServer, wait_s: float = 60.0) -> None:
    """Bind 4573 (the dialplan's FastAGI port); another test run may hold it for a while."""
    async with asyncio.timeout(wait_s):
        while True:
            try:
                await server.start()
                return
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
            await asyncio.sleep(0.5)  # back-off while someone else's server holds the port


class AgiBed:
    """Places Local-channel calls into ``200@from-callers`` and routes them back by token."""

    def __init__(self, ami: AmiClient, **server_options: Any) -> None:
        self.ami = ami
        self.handlers: dict[str, Callable[[AgiSession], Awaitable[Any]]] = {}
        self.server = FastAgiServer({"ivr/first": self.dispatch}, "127.0.0.1", AGI_PORT, **server_options)

    async def dispatch(self, session: AgiSession) -> None:
        token = await session.get_variable(TOKEN_VARIABLE)
        handler = self.handlers.get(token or "")
        if handler is None:
            raise LookupError(f"AGI call without a known test token: {session.request.channel}")
        await handler(session)

    async def call(
        self,
        handler: Callable[[AgiSession], Awaitable[Any]],
        *,
        far_end: str = "D12#",
        token: str | None = None,
    ) -> tuple[str, Originate]:
        """Originate Local/200@from-callers whose other half runs ``ccapp-test,<far_end>``."""
        token = token or uuid.uuid4().hex[:12]
        self.handlers[token] = handler
        originate = await self.ami.originate(
            "Local/200@from-callers",
            context="ccapp-test",
            exten=far_end,
            timeout_s=15,
            variables={TOKEN_VARIABLE: token},
        )
        return token, originate


@pytest.fixture
async def ami(asterisk: None) -> AsyncIterator[AmiClient]:
    client = AmiClient(testbed.AMI_HOST, testbed.AMI_PORT, testbed.AMI_USER, testbed.AMI_PASSWORD)
    await client.connect()
    yield client
    await client.close()


@pytest.fixture
async def agi_bed(ami: AmiClient) -> AsyncIterator[AgiBed]:
    bed = AgiBed(ami)
    await start_on_agi_port(bed.server)
    try:
        yield bed
    finally:
        await bed.server.stop(grace=2.0)
