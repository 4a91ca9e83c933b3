"""The events WebSocket: order, bad messages, and reconnecting by itself with back-off."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSCloseCode, web

from ccapp.errors import NotConnected
from ccapp.telephony.ari.events import AriEvent, ChannelDtmfReceived, StasisStart
from ccapp.telephony.ari.stream import AriEventStream

CHANNEL = {"id": "1.1", "name": "PJSIP/alice-00000001", "state": "Up"}


def event(kind: str, **fields: Any) -> str:
    return json.dumps(
        {"type": kind, "timestamp": "2026-01-05T09:00:00.000+0000", "application": "ccapp", **fields}
    )


class FakeAsterisk:
    """An ARI events endpoint on a fixed port that can go away and come back."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.script: list[str] = []
        self.handshakes: list[web.Request] = []
        self.sockets: set[web.WebSocketResponse] = set()
        self.runner: web.AppRunner | None = None
        self.refuse = False

    async def _events(self, request: web.Request) -> web.WebSocketResponse:
        self.handshakes.append(request)
        if self.refuse:
            raise web.HTTPUnauthorized()
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            for message in self.script:
                await ws.send_str(message)
            async for _ in ws:
                pass
        finally:
            self.sockets.discard(ws)
        return ws

    async def up(self) -> None:
        app = web.Application()
        app.router.add_get("/ari/events", self._events)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def down(self) -> None:
        for ws in list(self.sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY)
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def asterisk() -> AsyncIterator[FakeAsterisk]:
    fake = FakeAsterisk()
    await fake.up()
    try:
        yield fake
    finally:
        await fake.down()


class Recorder:
    def __init__(self) -> None:
        self.events: asyncio.Queue[AriEvent] = asyncio.Queue()
        self.connects = 0
        self.disconnects = 0
        self.connected = asyncio.Condition()

    async def handler(self, ev: AriEvent) -> None:
        await self.events.put(ev)

    async def on_connect(self) -> None:
        async with self.connected:
            self.connects += 1
            self.connected.notify_all()

    async def on_disconnect(self) -> None:
        async with self.connected:
            self.disconnects += 1
            self.connected.notify_all()

    async def wait_connects(self, n: int) -> None:
        async with self.connected:
            await self.connected.wait_for(lambda: self.connects >= n)

    async def wait_disconnects(self, n: int) -> None:
        async with self.connected:
            await self.connected.wait_for(lambda: self.disconnects >= n)


def make_stream(fake: FakeAsterisk, rec: Recorder, **kw: Any) -> AriEventStream:
    return AriEventStream(
        f"http://127.0.0.1:{fake.port}",
        "ccapp",
        "s3cret",
        "ccapp",
        handler=rec.handler,
        on_connect=rec.on_connect,
        on_disconnect=rec.on_disconnect,
        **kw,
    )


async def test_events_arrive_parsed_and_in_order_and_bad_messages_are_skipped(asterisk: FakeAsterisk) -> None:
    asterisk.script = [
        event("StasisStart", channel=CHANNEL, args=["inbound", "first"]),
        "not json",
        event("StasisStart", channel={"name": "no id"}),
        *(event("ChannelDtmfReceived", channel=CHANNEL, digit=d, duration_ms=100) for d in "12#"),
    ]
    rec = Recorder()
    stream = make_stream(asterisk, rec)
    stream.start()
    try:
        async with asyncio.timeout(5):
            first = await rec.events.get()
            digits = [(await rec.events.get()) for _ in range(3)]
    finally:
        await stream.stop()
    assert isinstance(first, StasisStart)
    assert first.args == ("inbound", "first")
    assert [d.digit for d in digits if isinstance(d, ChannelDtmfReceived)] == ["1", "2", "#"]
    handshake = asterisk.handshakes[0]
    assert dict(handshake.query) == {"app": "ccapp", "subscribeAll": "false"}
    assert handshake.headers["Authorization"].startswith("Basic ")
    assert "s3cret" not in str(handshake.url)


async def test_a_failing_handler_does_not_stop_the_stream(asterisk: FakeAsterisk) -> None:
    asterisk.script = [event("ChannelDtmfReceived", channel=CHANNEL, digit=d) for d in "12"]
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def handler(ev: AriEvent) -> None:
        assert isinstance(ev, ChannelDtmfReceived)
        await seen.put(ev.digit)
        if ev.digit == "1":
            raise RuntimeError("handler bug")

    stream = AriEventStream(f"http://127.0.0.1:{asterisk.port}", "ccapp", "x", "ccapp", handler=handler)
    stream.start()
    try:
        async with asyncio.timeout(5):
            assert [await seen.get(), await seen.get()] == ["1", "2"]
    finally:
        await stream.stop()


async def test_the_stream_reconnects_by_itself_and_calls_on_connect_again(asterisk: FakeAsterisk) -> None:
    asterisk.script = [event("StasisStart", channel=CHANNEL)]
    rec = Recorder()
    stream = make_stream(asterisk, rec, reconnect_max_s=0.5)
    stream.start()
    try:
        async with asyncio.timeout(10):
            await stream.wait_connected(5)
            await rec.wait_connects(1)
            await rec.events.get()
            assert stream.connected
            assert stream.last_connect_duration is not None

            await asterisk.down()
            await rec.wait_disconnects(1)
            assert not stream.connected
            with pytest.raises(NotConnected):
                await stream.wait_connected(0.3)  # retries fail while Asterisk is down
            assert stream.last_backoff_s is not None
            assert stream.last_backoff_s <= 0.5

            await asterisk.up()
            await rec.wait_connects(2)
            await rec.events.get()  # the new connection's events are delivered too
    finally:
        await stream.stop()
    assert (stream.connections, stream.reconnects) == (2, 1)
    assert rec.disconnects == 2  # the drop, and the stop
    assert len(asterisk.handshakes) == 2


def test_back_off_starts_at_a_quarter_second_doubles_and_is_capped_with_jitter() -> None:
    stream = AriEventStream("http://127.0.0.1:1", "u", "p", "ccapp", reconnect_max_s=3, rng=lambda: 1.0)
    assert [stream._backoff(n) for n in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]
    low = AriEventStream("http://127.0.0.1:1", "u", "p", "ccapp", reconnect_max_s=3, rng=lambda: 0.0)
    assert [low._backoff(n) for n in (1, 6)] == [0.125, 1.5]


async def test_stop_ends_the_task_even_while_nobody_answers() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stream = AriEventStream(f"http://127.0.0.1:{port}", "u", "p", "ccapp")
    stream.start()
    with pytest.raises(NotConnected):
        await stream.wait_connected(0.3)
    assert stream.last_backoff_s is not None
    async with asyncio.timeout(2):
        await stream.stop()
    assert not stream.connected


async def test_a_refused_handshake_is_retried_with_back_off(asterisk: FakeAsterisk) -> None:
    asterisk.refuse = True
    rec = Recorder()
    stream = make_stream(asterisk, rec, reconnect_max_s=0.05)
    stream.start()
    try:
        with pytest.raises(NotConnected):
            await stream.wait_connected(0.5)
        asterisk.refuse = False
        await stream.wait_connected(2)
    finally:
        await stream.stop()
    assert len(asterisk.handshakes) >= 3
    assert (stream.connections, stream.reconnects, rec.connects) == (1, 0, 1)
