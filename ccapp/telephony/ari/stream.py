"""The ARI events WebSocket: one connection, events in order, reconnects by itself forever.

Back-off after a failed or dropped connection: 0.25 s doubling up to ``reconnect_max_s``, each wait
scaled by a random factor in [0.5, 1.0] so many ccapp instances do not reconnect in lockstep; a
connection that was up resets it. Credentials go in the Basic ``Authorization`` header, never in
the URL, so nothing logged can leak them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable

import aiohttp

from ccapp.errors import NotConnected, ProtocolError
from ccapp.telephony.ari.events import AriEvent, parse_event

log = logging.getLogger("ccapp.telephony.ari.stream")

EventHandler = Callable[[AriEvent], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]

BACKOFF_START_S = 0.25


class AriEventStream:
    """Events of one Stasis application. ``handler`` is awaited per event, in arrival order, so it
    must be quick (route the event, spawn work); ``on_connect`` runs after every (re)connection
    before any event of that connection is handled; ``on_disconnect`` after every loss.

    ``tap`` (optional) sees every raw text frame, e.g. to record a transcript for tests.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        app: str,
        *,
        handler: EventHandler | None = None,
        on_connect: Hook | None = None,
        on_disconnect: Hook | None = None,
        subscribe_all: bool = False,
        session: aiohttp.ClientSession | None = None,
        reconnect_max_s: float = 30.0,
        heartbeat_s: float = 15.0,
        connect_timeout_s: float = 10.0,
        tap: Callable[[str], None] | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        scheme, _, rest = base_url.rstrip("/").partition("://")
        self._url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ari/events"
        self._params = {"app": app, "subscribeAll": "true" if subscribe_all else "false"}
        self._headers = {"Authorization": aiohttp.encode_basic_auth(username, password)}
        self.app = app
        self.handler = handler
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self._session = session
        self.reconnect_max_s = reconnect_max_s
        self._heartbeat_s = heartbeat_s
        self.connect_timeout_s = connect_timeout_s
        self._tap = tap
        self._rng = rng
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        #: connections made so far, and how many of them were reconnections
        self.connections = 0
        self.reconnects = 0
        #: seconds the last successful WebSocket handshake took
        self.last_connect_duration: float | None = None
        #: the wait chosen before the current/last retry (for tests and metrics)
        self.last_backoff_s: float | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("event stream already started")
        self._task = asyncio.create_task(self._run(), name=f"ari-events-{self.app}")

    async def stop(self) -> None:
        """Close the socket and end the task (awaited here, so its errors surface)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until the socket is up; `NotConnected` after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError as exc:
            raise NotConnected(f"ARI events for {self.app!r} not connected after {timeout:g} s") from exc

    # ------------------------------------------------------------------------------ the loop
    def _backoff(self, failures: int) -> float:
        ceiling = min(self.reconnect_max_s, BACKOFF_START_S * 2.0 ** (failures - 1))
        return float(ceiling * (0.5 + 0.5 * self._rng()))

    async def _run(self) -> None:
        own = self._session is None
        session = self._session or aiohttp.ClientSession()
        failures = 0
        try:
            while True:
                if await self._connect_once(session):
                    failures = 0
                failures += 1
                self.last_backoff_s = self._backoff(failures)
                log.info("ARI events for %r: reconnecting in %.2f s", self.app, self.last_backoff_s)
                await asyncio.sleep(self.last_backoff_s)
        finally:
            if own:
                await session.close()

    async def _connect_once(self, session: aiohttp.ClientSession) -> bool:
        """One connection's life; True when it was established (resets the back-off)."""
        started = time.monotonic()
        try:
            # the handshake gets its own bound (a half-open Asterisk must not stall reconnecting)
            async with asyncio.timeout(self.connect_timeout_s):
                ws = await session.ws_connect(
                    self._url, params=self._params, headers=self._headers, heartbeat=self._heartbeat_s
                )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("ARI events for %r: cannot connect (%s)", self.app, _describe(exc))
            return False
        self.last_connect_duration = time.monotonic() - started
        self.connections += 1
        if self.connections > 1:
            self.reconnects += 1
        self._connected.set()
        log.info("ARI events for %r: connected (%d reconnects)", self.app, self.reconnects)
        try:
            async with ws:
                await self._call_hook(self.on_connect, "on_connect")
                await self._read(ws)
            log.warning("ARI events for %r: connection closed (code %s)", self.app, ws.close_code)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("ARI events for %r: connection lost (%s)", self.app, _describe(exc))
        finally:
            self._connected.clear()
            await asyncio.shield(self._call_hook(self.on_disconnect, "on_disconnect"))
        return True

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                if msg.type is aiohttp.WSMsgType.ERROR:
                    log.warning("ARI events for %r: socket error %s", self.app, ws.exception())
                continue
            if self._tap is not None:
                self._tap(msg.data)
            try:
                event = parse_event(json.loads(msg.data))
            except (ValueError, ProtocolError) as exc:
                log.warning("ARI events for %r: dropped a bad message: %s", self.app, exc)
                continue
            if self.handler is not None:
                try:
                    await self.handler(event)
                except Exception:
                    log.exception("ARI event handler failed on %s", event.type)

    async def _call_hook(self, hook: Hook | None, name: str) -> None:
        if hook is None:
            return
        try:
            await hook()
        except Exception:
            log.exception("ARI events for %r: %s failed", self.app, name)


def _describe(exc: BaseException) -> str:
    # aiohttp's messages can carry the request URL; the URL holds no secret, but keep it short
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"handshake refused: HTTP {exc.status}"
    return type(exc).__name__ + (f": {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else "")
