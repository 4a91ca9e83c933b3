"""A tiny AMI server on asyncio streams, enough for AmiClient's unit tests (never panoramisk.testing)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

EOL = b"\r\n"
Block = dict[str, str]


def encode(fields: list[tuple[str, str]]) -> bytes:
    return b"".join(f"{key}: {value}".encode() + EOL for key, value in fields) + EOL


class FakeAmi:
    """Answers Login (secret ``secret``), Ping, Command and Originate; can push events, drop every
    connection, go silent, or stop listening and come back on the same port."""

    def __init__(self, secret: str = "secret") -> None:
        self.secret = secret
        self.port = 0
        self.actions: list[Block] = []
        self.logins = 0
        self.silent = False
        self.command_output = ["Asterisk 22.0.0 built by fake", "second line"]
        self.on_action: Callable[[Block], None] | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.action_seen = asyncio.Event()
        self.login_seen = asyncio.Event()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accepted, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def drop_all(self) -> None:
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task

    async def close(self) -> None:
        await self.stop_listening()
        await self.drop_all()

    def event(self, fields: list[tuple[str, str]]) -> None:
        for writer in self._writers:
            writer.write(encode(fields))

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        writer.write(b"Asterisk Call Manager/11.0.0" + EOL)
        try:
            while True:
                try:
                    raw = await reader.readuntil(EOL + EOL)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                block: Block = {}
                for line in raw.decode().split("\r\n"):
                    if ": " in line:
                        key, value = line.split(": ", 1)
                        block[key.lower()] = value
                self.actions.append(block)
                self.action_seen.set()
                if self.on_action is not None:
                    self.on_action(block)
                if not self.silent:
                    writer.write(self._reply(block))
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _reply(self, block: Block) -> bytes:
        action = block.get("action", "").lower()
        action_id = block.get("actionid", "")
        if action == "login":
            if block.get("secret") != self.secret:
                return encode(
                    [("Response", "Error"), ("ActionID", action_id), ("Message", "Authentication failed")]
                )
            self.logins += 1
            self.login_seen.set()
            return encode(
                [("Response", "Success"), ("ActionID", action_id), ("Message", "Authentication accepted")]
            ) + encode([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Status", "Fully Booted")])
        if action == "ping":
            return encode([("Response", "Success"), ("ActionID", action_id), ("Ping", "Pong")])
        if action == "command":
            return encode(
                [("Response", "Success"), ("ActionID", action_id), ("Message", "Command output follows")]
                + [("Output", line) for line in self.command_output]
            )
        if action == "originate":
            return encode(
                [
                    ("Response", "Success"),
                    ("ActionID", action_id),
                    ("Message", "Originate successfully queued"),
                ]
            ) + encode(
                [
                    ("Event", "OriginateResponse"),
                    ("ActionID", action_id),
                    ("Response", "Failure"),
                    ("Channel", block.get("channel", "")),
                    ("Reason", "5"),
                ]
            )
        if action == "hold":  # an action the fake never answers
            return b""
        return encode(
            [("Response", "Error"), ("ActionID", action_id), ("Message", "Invalid/unknown command")]
        )
