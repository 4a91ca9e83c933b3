"""A scripted Asterisk for AGI unit tests: the far end of a socket pair, replaying replies."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from ccapp.telephony.agi.protocol import AgiRequest, parse_request
from ccapp.telephony.agi.session import AgiSession

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agi"


def fixture_request() -> AgiRequest:
    return parse_request((FIXTURES / "header_asterisk22.txt").read_text().splitlines())


def load_transcript(name: str) -> list[tuple[str, list[str]]]:
    """``> command`` / ``< reply`` lines recorded from Asterisk 22, as (command, replies) pairs."""
    exchanges: list[tuple[str, list[str]]] = []
    for line in (FIXTURES / name).read_text().splitlines():
        if line.startswith("> "):
            exchanges.append((line[2:], []))
        elif line.startswith("< "):
            exchanges[-1][1].append(line[2:])
    return exchanges


class ScriptedAsterisk:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.commands: list[str] = []

    async def expect(self, command: str, *replies: str) -> None:
        """Read one command, check it, send the reply lines."""
        got = await self.read_command()
        assert got == command, got
        self.send(*replies)

    async def read_command(self) -> str:
        line = (await asyncio.wait_for(self.reader.readline(), 5)).decode().rstrip("\n")
        self.commands.append(line)
        return line

    def send(self, *lines: str) -> None:
        self.writer.write(b"".join(line.encode() + b"\n" for line in lines))

    async def play(self, script: list[tuple[str, list[str]]]) -> None:
        for command, replies in script:
            await self.expect(command, *replies)

    async def at_eof(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), 5) == b""


@asynccontextmanager
async def agi_pair(
    *, command_timeout: float = 5.0, request: AgiRequest | None = None
) -> AsyncIterator[tuple[AgiSession, ScriptedAsterisk]]:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    a_reader, a_writer = await asyncio.open_connection(sock=theirs)
    session = AgiSession(request or fixture_request(), reader, writer, command_timeout=command_timeout)
    asterisk = ScriptedAsterisk(a_reader, a_writer)
    try:
        yield session, asterisk
    finally:
        await session.close()
        a_writer.close()
        await a_writer.wait_closed()
