from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import pytest

from ccapp.errors import CallGone, TelephonyError
from ccapp.telephony.agi.protocol import AgiRequest
from ccapp.telephony.agi.server import AgiHandler, AgiResolver, FastAgiServer
from ccapp.telephony.agi.session import AgiSession
from tests.unit.agi.scripted import FIXTURES, ScriptedAsterisk, agi_pair

HEADER = (FIXTURES / "header_asterisk22.txt").read_bytes()


def header_for(script: str) -> bytes:
    return HEADER.replace(b"agi_network_script: ivr/first", f"agi_network_script: {script}".encode())


@asynccontextmanager
async def running(
    routes: Mapping[str, AgiHandler] | AgiResolver, **options: float
) -> AsyncIterator[FastAgiServer]:
    server = FastAgiServer(routes, "127.0.0.1", 0, **options)  # type: ignore[arg-type]
    await server.start()
    try:
        yield server
    finally:
        await server.stop(grace=1.0)


@asynccontextmanager
async def call(server: FastAgiServer, script: str = "ivr/first") -> AsyncIterator[ScriptedAsterisk]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(header_for(script))
    try:
        yield ScriptedAsterisk(reader, writer)
    finally:
        writer.close()
        await writer.wait_closed()


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True


async def test_a_call_is_routed_by_script_path_ignoring_query_and_slashes() -> None:
    seen: asyncio.Future[AgiRequest] = asyncio.get_running_loop().create_future()

    async def first(session: AgiSession) -> None:
        seen.set_result(session.request)
        await session.answer()

    async with running({"/ivr/first/": first}) as server, call(server, "ivr/first?lang=fr") as asterisk:
        await asterisk.expect("ANSWER", "200 result=0")
        assert await asterisk.at_eof()
        request = await seen
        assert request.path == "ivr/first"
        assert request.query == {"lang": "fr"}
    assert server.stats.served == 1
    assert server.stats.connections == 1
    assert server.stats.active == 0


async def test_an_unknown_script_sends_the_call_to_the_fallback_context() -> None:
    async with running({}) as server, call(server, "ivr/nope") as asterisk:
        await asterisk.expect('SET VARIABLE CCAPP_FALLBACK_REASON "agi-unknown-route"', "200 result=1")
        await asterisk.expect("SET CONTEXT ccapp-fallback", "200 result=0")
        await asterisk.expect("SET EXTENSION s", "200 result=0")
        await asterisk.expect("SET PRIORITY 1", "200 result=0")
        assert await asterisk.at_eof()
    assert server.stats.unknown_route == 1


async def test_a_failing_handler_is_logged_and_the_call_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(session: AgiSession) -> None:
        raise RuntimeError("bug")

    async with running(lambda request: broken) as server, call(server) as asterisk:
        await asterisk.expect('SET VARIABLE CCAPP_FALLBACK_REASON "agi-error"', "200 result=1")
        await asterisk.expect("SET CONTEXT ccapp-fallback", "200 result=0")
        await asterisk.expect("SET EXTENSION s", "200 result=0")
        await asterisk.expect("SET PRIORITY 1", "200 result=0")
        assert await asterisk.at_eof()
    assert server.stats.errors == 1
    assert "1795645318.7" in caplog.text


async def test_a_caller_hanging_up_ends_the_session_without_fallback() -> None:
    async def handler(session: AgiSession) -> None:
        await session.answer()

    async with running({"ivr/first": handler}) as server, call(server) as asterisk:
        await asterisk.expect("ANSWER", "HANGUP")
        assert await asterisk.at_eof()
    assert server.stats.caller_gone == 1
    assert server.stats.errors == 0


async def test_handlers_may_raise_call_gone_themselves() -> None:
    async def handler(session: AgiSession) -> None:
        raise CallGone("gone")

    async with running({"ivr/first": handler}) as server, call(server) as asterisk:
        assert await asterisk.at_eof()
    assert server.stats.caller_gone == 1


GARBAGE: dict[str, bytes] = {
    "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "binary": bytes(range(256)) * 4,
    "tls hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),
    "bad header": b"agi_network: yes\nagi_channel: x\nnot a header\n\n",
    "header without channel": b"agi_network_script: ivr/first\nagi_uniqueid: 1\n\n",
}


@pytest.mark.parametrize("payload", GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_is_closed_quietly(payload: bytes) -> None:
    async with running({}, header_timeout=2.0) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(payload)
        assert await closed_by_server(reader)
        writer.close()
        await writer.wait_closed()
    assert server.stats.garbage == 1
    assert server.stats.unknown_route == server.stats.served == server.stats.errors == 0


async def test_connect_and_close_and_half_headers_count_as_aborted() -> None:
    async with running({}) as server:
        for payload in (b"", b"agi_", b"agi_network: yes\nagi_network_scr", HEADER[:-1]):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(payload)
            writer.write_eof()
            assert await closed_by_server(reader)
            writer.close()
            await writer.wait_closed()
    assert server.stats.aborted == 4


async def test_a_silent_peer_is_dropped_after_the_header_timeout() -> None:
    async with running({}, header_timeout=0.1) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await closed_by_server(reader)
        writer.close()
        await writer.wait_closed()
    assert server.stats.header_timeouts == 1


async def test_an_endless_line_is_cut_at_the_cap() -> None:
    async with running({}, max_header_bytes=1024, header_timeout=5.0) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"agi_network_script: " + b"x" * 200_000)
        assert await closed_by_server(reader)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    assert server.stats.garbage == 1


async def test_many_header_lines_over_the_cap_are_garbage() -> None:
    async with running({}, max_header_bytes=1024) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"agi_arg_1: 0123456789\n" * 200)
        assert await closed_by_server(reader)
        writer.close()
        await writer.wait_closed()
    assert server.stats.garbage == 1


async def test_connections_over_the_limit_are_rejected() -> None:
    started = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        started.set()
        await session.answer()

    async with running({"ivr/first": handler}, max_connections=1) as server, call(server) as asterisk:
        await started.wait()
        reader, second = await asyncio.open_connection("127.0.0.1", server.port)
        assert await closed_by_server(reader)
        second.close()
        with contextlib.suppress(ConnectionError):
            await second.wait_closed()
        await asterisk.expect("ANSWER", "200 result=0")
    assert server.stats.rejected == 1
    assert server.stats.served == 1


async def test_stop_drops_peers_in_header_and_cancels_calls_after_the_grace_period() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def endless(session: AgiSession) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server = FastAgiServer({"ivr/first": endless}, "127.0.0.1", 0, header_timeout=30)
    await server.start()
    silent_reader, silent = await asyncio.open_connection("127.0.0.1", server.port)
    async with call(server) as asterisk:
        await started.wait()
        stopping = asyncio.create_task(server.stop(grace=0.05))
        # the idle call is handed to the fallback context before its connection closes
        await asterisk.expect('SET VARIABLE CCAPP_FALLBACK_REASON "agi-shutdown"', "200 result=1")
        await asterisk.expect("SET CONTEXT ccapp-fallback", "200 result=0")
        await asterisk.expect("SET EXTENSION s", "200 result=0")
        await asterisk.expect("SET PRIORITY 1", "200 result=0")
        await stopping
        assert cancelled.is_set()
        assert await asterisk.at_eof()
        assert await closed_by_server(silent_reader)
    silent.close()
    await silent.wait_closed()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", server.port)


async def test_stop_lets_a_call_finish_within_the_grace_period() -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        started.set()
        await release.wait()
        await session.answer()

    server = FastAgiServer({"ivr/first": handler}, "127.0.0.1", 0)
    await server.start()
    async with call(server) as asterisk:
        await started.wait()
        stopping = asyncio.create_task(server.stop(grace=5))
        release.set()
        await asterisk.expect("ANSWER", "200 result=0")
        await stopping
    assert server.stats.served == 1


async def test_a_call_cancelled_mid_command_is_closed_without_fallback() -> None:
    started = asyncio.Event()

    async def waiting(session: AgiSession) -> None:
        started.set()
        await session.wait_for_digit(30)

    server = FastAgiServer({"ivr/first": waiting}, "127.0.0.1", 0)
    await server.start()
    async with call(server) as asterisk:
        await started.wait()
        assert await asterisk.read_command() == "WAIT FOR DIGIT 30000"
        await server.stop(grace=0.05)
        # the WAIT FOR DIGIT reply is still owed: nothing else may be sent on this connection
        assert await asterisk.at_eof()
        assert asterisk.commands == ["WAIT FOR DIGIT 30000"]


async def test_a_second_command_while_one_is_in_flight_is_refused() -> None:
    async with agi_pair() as (session, asterisk):
        first = asyncio.create_task(session.wait_for_digit(5))
        assert await asterisk.read_command() == "WAIT FOR DIGIT 5000"
        assert not session.in_step
        with pytest.raises(TelephonyError, match="out of step"):
            await session.answer()
        asterisk.send("200 result=49")
        assert await first == "1"
        assert session.in_step
