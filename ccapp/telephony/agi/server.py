"""`FastAgiServer`: accepts FastAGI connections from Asterisk and runs one handler per call.

Everything that is not Asterisk (health checks, port scans, HTTP clients, binary garbage, peers
that never speak or never end a line) costs one short task: the header is read under a timeout and
a size cap, and any departure from ``agi_<name>: <value>`` lines closes the connection quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from ccapp.errors import CallGone, CcappError, ProtocolError
from ccapp.telephony.agi.protocol import AgiRequest, parse_header_line
from ccapp.telephony.agi.session import AgiSession

log = logging.getLogger(__name__)

AgiHandler = Callable[[AgiSession], Awaitable[None]]
#: picks the handler for a request (e.g. by ``request.path``); None means "no such script"
AgiResolver = Callable[[AgiRequest], AgiHandler | None]


@dataclass(frozen=True, slots=True)
class DialplanTarget:
    """Where a call goes when ccapp cannot handle it (unknown script, handler error)."""

    context: str
    extension: str = "s"
    priority: int = 1


@dataclass(slots=True)
class AgiServerStats:
    """Counters since start. ``garbage`` = not AGI; ``aborted`` = closed before the header ended;
    ``header_timeouts`` = silent or slow peers; ``rejected`` = over ``max_connections``."""

    connections: int = 0
    rejected: int = 0
    garbage: int = 0
    aborted: int = 0
    header_timeouts: int = 0
    unknown_route: int = 0
    served: int = 0
    caller_gone: int = 0
    errors: int = 0
    active: int = 0


_PREFIX = b"agi_"


class _NotAgi(Exception):
    """The peer is not Asterisk; ``kind`` names the stats counter."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class FastAgiServer:
    """Routes ``AGI(agi://host:port/<path>)`` calls to handlers by ``<path>`` (query ignored).

    ``routes`` maps paths such as ``"ivr/first"`` to handlers, or is a resolver function. Use
    ``async with`` or `start` / `stop`. Handler errors are logged with the channel id and the call
    is sent to ``fallback`` with ``CCAPP_FALLBACK_REASON`` set, so no caller is left in silence.
    """

    def __init__(
        self,
        routes: Mapping[str, AgiHandler] | AgiResolver,
        host: str = "127.0.0.1",
        port: int = 4573,
        *,
        header_timeout: float = 5.0,
        max_header_bytes: int = 16 * 1024,
        max_line_bytes: int = 64 * 1024,
        max_connections: int = 1000,
        command_timeout: float = 10.0,
        fallback: DialplanTarget | None = DialplanTarget("ccapp-fallback"),
        backlog: int = 512,
    ) -> None:
        self._resolve: AgiResolver
        if callable(routes):
            self._resolve = routes
        else:
            table = {path.strip("/"): handler for path, handler in routes.items()}
            self._resolve = lambda request: table.get(request.path)
        self._host = host
        self._port = port
        self._header_timeout = header_timeout
        self._max_header_bytes = max_header_bytes
        self._max_line_bytes = max(max_line_bytes, max_header_bytes)
        self._max_connections = max_connections
        self._command_timeout = command_timeout
        self._fallback = fallback
        self._backlog = backlog
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_header: set[asyncio.Task[None]] = set()
        self.stats = AgiServerStats()

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._accepted,
            self._host,
            self._port,
            limit=self._max_line_bytes,
            backlog=self._backlog,
            reuse_address=True,
        )
        log.info("FastAGI server listening on %s:%d", self._host, self.port)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening, drop peers still in their header, let calls run for ``grace`` seconds,
        then cancel what is left (each cancelled call's connection closes, so its dialplan goes on)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        for task in list(self._in_header):
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        log.info("FastAGI server stopped: %s", self.stats)

    async def __aenter__(self) -> FastAgiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- connections --------------------------------------------------------------------------------

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        if self._server is None or len(self._tasks) >= self._max_connections:
            self.stats.rejected += 1
            writer.transport.abort()
            return
        task = asyncio.get_running_loop().create_task(self._connection(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.stats.active += 1
        try:
            self._in_header.add(task)
            try:
                request = await self._read_request(reader)
            except _NotAgi as exc:
                setattr(self.stats, exc.kind, getattr(self.stats, exc.kind) + 1)
                log.debug("closing non-AGI connection from %s: %s", _peer(writer), exc)
                writer.transport.abort()
                return
            finally:
                self._in_header.discard(task)
            session = AgiSession(request, reader, writer, command_timeout=self._command_timeout)
            try:
                await self._serve(session)
            finally:
                await session.close()
        finally:
            self.stats.active -= 1
            if not writer.is_closing():
                writer.transport.abort()

    async def _read_request(self, reader: asyncio.StreamReader) -> AgiRequest:
        headers: dict[str, str] = {}
        size = 0
        try:
            async with asyncio.timeout(self._header_timeout):
                # Asterisk's first bytes are always "agi_": TLS hellos, HTTP and binary noise are
                # turned away here, before they can make us wait for a newline.
                pending = await reader.readexactly(len(_PREFIX))
                if pending != _PREFIX:
                    raise _NotAgi("garbage", f"starts with {pending!r}")
                while True:
                    raw, pending = pending + await reader.readline(), b""
                    size += len(raw)
                    if size > self._max_header_bytes:
                        raise _NotAgi("garbage", "header larger than the cap")
                    if not raw.endswith(b"\n"):
                        raise _NotAgi("aborted", "closed before the end of the header")
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if not line:
                        break
                    name, value = parse_header_line(line)
                    headers[name] = value
            return AgiRequest.from_headers(headers)
        except TimeoutError:
            raise _NotAgi("header_timeouts", "no complete header in time") from None
        except asyncio.IncompleteReadError:
            raise _NotAgi("aborted", "closed before the end of the header") from None
        except ValueError as exc:  # line longer than the stream limit (LimitOverrunError inside)
            raise _NotAgi("garbage", "endless line") from exc
        except ProtocolError as exc:
            raise _NotAgi("garbage", str(exc)) from None
        except (ConnectionError, OSError) as exc:
            raise _NotAgi("aborted", str(exc)) from None

    async def _serve(self, session: AgiSession) -> None:
        request = session.request
        handler = self._resolve(request)
        if handler is None:
            self.stats.unknown_route += 1
            log.warning("no FastAGI route for %r (channel %s)", request.network_script, request.channel)
            await self._fail_open(session, "agi-unknown-route")
            return
        try:
            await handler(session)
        except asyncio.CancelledError:
            # stop() after the grace period: hand the call to the fallback if the session is
            # between commands (a cancelled command still owes its reply, so it cannot be reused)
            if session.in_step:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._fail_open(session, "agi-shutdown")
            raise
        except CallGone:
            self.stats.caller_gone += 1
            log.info("caller hung up on %s (%s)", request.path, session.channel_id)
        except Exception:
            self.stats.errors += 1
            log.exception("FastAGI handler %r failed on channel %s", request.path, session.channel_id)
            await self._fail_open(session, "agi-error")
        else:
            self.stats.served += 1

    async def _fail_open(self, session: AgiSession, reason: str) -> None:
        if self._fallback is None or not session.in_step:
            return
        with contextlib.suppress(CcappError, ValueError):
            await session.set_variable("CCAPP_FALLBACK_REASON", reason)
            target = self._fallback
            await session.continue_in_dialplan(target.context, target.extension, target.priority)


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
