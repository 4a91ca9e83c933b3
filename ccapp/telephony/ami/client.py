"""`AmiClient`: login, actions, Originate and events over panoramisk's AMI protocol.

panoramisk parses the wire format and matches responses to actions. ccapp owns the rest:
panoramisk's own reconnect schedules untracked ``call_later`` retries that survive ``close()`` and
re-send queued actions after a reconnect (a queued Originate would dial twice), and its keepalive
never notices a silent peer. Here one supervisor task keeps the link: it pings, reconnects with
back-off and logs in again; actions sent while the link is down fail with `NotConnected`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from panoramisk import actions as pk_actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager

from ccapp.errors import NotConnected, TelephonyError
from ccapp.telephony.ami.message import AmiMessage

log = logging.getLogger(__name__)

EventHandler = Callable[[AmiMessage], Awaitable[None] | None]
ActionValue = str | int | Sequence[str]


class _Protocol(AMIProtocol):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's protocol, plus a future that tells when the socket is really closed."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.closed_future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed_future.done():
            self.closed_future.set_result(None)
        super().connection_lost(exc)

    def close(self) -> None:
        # panoramisk drops in-flight Pings unanswered and queues other actions to re-send them
        # after a reconnect (an Originate would dial twice): fail them all now instead. Login is
        # left alone: panoramisk's own callback reads its result.
        for action in list(self.responses.values()):
            if action["action"].lower() != "login" and not action.future.done():
                action.future.set_exception(NotConnected("AMI connection lost before a response"))
        super().close()


class _Manager(Manager):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's Manager with reconnects and keepalive handed to `AmiClient`."""

    def __init__(self, on_lost: Callable[[object], None], **config: Any) -> None:
        super().__init__(**config)
        self._on_lost = on_lost

    def ping(self) -> None:
        self.pinger = None

    def connection_lost(self, exc: object) -> None:
        self._connected = False
        self.authenticated = False
        self._on_lost(exc)


@dataclass(slots=True)
class Originate:
    """A queued Originate: the immediate ``response`` and, via `wait`, its ``OriginateResponse``."""

    action_id: str
    response: AmiMessage
    _outcome: asyncio.Future[AmiMessage] = field(repr=False)

    async def wait(self, timeout_s: float = 60.0) -> AmiMessage:
        """The ``OriginateResponse`` event (``Response: Success`` once the channel answered, else
        ``Failure`` with a ``Reason``). For a synchronous Originate, the response itself."""
        async with asyncio.timeout(timeout_s):
            return await asyncio.shield(self._outcome)


class AmiClient:
    """One AMI connection with login, reconnect and typed messages."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5038,
        username: str = "",
        password: str = "",
        *,
        reconnect: bool = True,
        connect_timeout: float = 5.0,
        action_timeout: float = 10.0,
        ping_interval: float = 10.0,
        reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 30.0,
    ) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._reconnect = reconnect
        self._connect_timeout = connect_timeout
        self._action_timeout = action_timeout
        self._ping_interval = ping_interval
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._manager: _Manager | None = None
        self._protocol: _Protocol | None = None
        self._lost = asyncio.Event()
        self._up = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._handlers: list[tuple[str, EventHandler]] = []
        self._handler_tasks: set[asyncio.Future[None]] = set()
        self._originates: dict[str, asyncio.Future[AmiMessage]] = {}
        self._closing = False
        self.reconnects = 0

    # -- connection --------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Logged in over a live connection."""
        return self._up.is_set()

    async def connect(self) -> None:
        """Connect and log in. Raises `NotConnected` (refused, unreachable, bad credentials)."""
        self._closing = False
        await self._open()
        if self._supervisor is None:
            self._supervisor = asyncio.get_running_loop().create_task(self._supervise(), name="ami")

    async def wait_connected(self, timeout_s: float) -> None:
        """Wait until the link is up again (after a reconnect)."""
        async with asyncio.timeout(timeout_s):
            await self._up.wait()

    async def close(self) -> None:
        """Log off, stop reconnecting, cancel event-handler tasks, close the socket."""
        self._closing = True
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await self._drop()
        for task in list(self._handler_tasks):
            task.cancel()
        await asyncio.gather(*self._handler_tasks, return_exceptions=True)
        self._fail_originates(NotConnected("AMI client closed"))

    async def __aenter__(self) -> AmiClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- actions -------------------------------------------------------------------------------------

    async def action(
        self, name: str, fields: Mapping[str, ActionValue] | None = None, *, timeout_s: float | None = None
    ) -> AmiMessage:
        """Send one action and return its response; ``Response: Error`` raises `TelephonyError`."""
        response = await self._send(name, dict(fields or {}), timeout_s=timeout_s)
        if not response.success:
            raise TelephonyError(f"AMI {name} failed: {response.message or response.response}")
        return response

    async def ping(self) -> float:
        """Round trip of a Ping action, in seconds."""
        started = time.perf_counter()
        await self.action("Ping")
        return time.perf_counter() - started

    async def command(self, cli_command: str) -> str:
        """Run a CLI command (needs the ``command`` write privilege) and return its output."""
        response = await self.action("Command", {"Command": cli_command})
        if response.content:
            return response.content.removesuffix("--END COMMAND--").rstrip("\n")
        return "\n".join(response.get_all("Output"))

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        timeout_s: float = 30,
        variables: Mapping[str, str] | None = None,
        async_: bool = True,
        action_id: str | None = None,
    ) -> Originate:
        """Originate ``channel`` into ``context,exten,priority`` or ``application(data)``.

        Returns once Asterisk queued it (async) or the call was answered (sync); await
        `Originate.wait` for the outcome. Raises `TelephonyError` when Asterisk refuses.
        """
        if (application is None) == (context is None and exten is None):
            raise ValueError("originate needs either context/exten or application")
        fields: dict[str, ActionValue] = {"Channel": channel, "Timeout": int(timeout_s * 1000)}
        if application is not None:
            fields["Application"] = application
            if data is not None:
                fields["Data"] = data
        else:
            fields.update({"Context": context or "default", "Exten": exten or "s", "Priority": priority})
        if caller_id is not None:
            fields["CallerID"] = caller_id
        if variables:
            fields["Variable"] = [f"{key}={value}" for key, value in variables.items()]
        fields["Async"] = "true" if async_ else "false"
        action_id = action_id or f"ccapp-originate-{time.time_ns()}"
        fields["ActionID"] = action_id
        outcome: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        outcome.add_done_callback(_retrieve)
        self._originates[action_id] = outcome
        # a synchronous Originate answers only when the call is up (or failed)
        wait = max(timeout_s + 5, self._action_timeout) if not async_ else None
        try:
            response = await self._send("Originate", fields, timeout_s=wait)
        except BaseException:
            self._originates.pop(action_id, None)
            outcome.cancel()
            raise
        if not response.success:
            self._originates.pop(action_id, None)
            outcome.cancel()
            raise TelephonyError(f"AMI Originate of {channel} failed: {response.message}")
        if not async_:
            self._originates.pop(action_id, None)
            outcome.set_result(response)
        return Originate(action_id=action_id, response=response, _outcome=outcome)

    # -- events --------------------------------------------------------------------------------------

    def on_event(self, name: str, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler`` for every event named ``name`` (``fnmatch`` patterns, case-insensitive,
        ``"*"`` for all). Coroutine handlers run as tasks the client owns. Returns an unsubscriber."""
        entry = (name.lower(), handler)
        self._handlers.append(entry)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._handlers.remove(entry)

        return unsubscribe

    def _dispatch(self, _manager: Any, raw: Any) -> None:
        event = AmiMessage.from_panoramisk(raw)
        name = event.event.lower()
        if name == "originateresponse" and event.action_id in self._originates:
            outcome = self._originates.pop(event.action_id or "")
            if not outcome.done():
                outcome.set_result(event)
        for pattern, handler in list(self._handlers):
            if pattern != name and not fnmatch.fnmatchcase(name, pattern):
                continue
            try:
                result = handler(event)
            except Exception:
                log.exception("AMI %s handler failed", event.event)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._handler_tasks.add(task)
                task.add_done_callback(self._handler_done)

    def _handler_done(self, task: asyncio.Future[None]) -> None:
        self._handler_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("AMI event handler failed", exc_info=task.exception())

    # -- internals -----------------------------------------------------------------------------------

    async def _send(
        self, name: str, fields: dict[str, ActionValue], *, timeout_s: float | None
    ) -> AmiMessage:
        manager = self._manager
        if manager is None or not self.connected:
            raise NotConnected(f"AMI at {self._host}:{self._port} is not connected")
        payload: dict[str, str | list[str]] = {"Action": name}
        for key, value in fields.items():
            payload[key] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
        action = pk_actions.Action(payload, as_list=False)
        return await self._await_response(manager.send_action(action, as_list=False), name, timeout_s)

    async def _await_response(self, future: Any, name: str, timeout_s: float | None) -> AmiMessage:
        wait = self._action_timeout if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(wait):
                raw = await future
        except TimeoutError:
            raise TelephonyError(f"AMI {name} got no response within {wait:g} s") from None
        if isinstance(raw, list):  # panoramisk hands event lists over as lists
            raw = raw[0]
        return AmiMessage.from_panoramisk(raw)

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        where = f"{self._host}:{self._port}"
        if self._manager is None:
            self._manager = _Manager(
                self._connection_lost,
                host=self._host,
                port=self._port,
                username=self._username,
                secret=self._password,
                loop=loop,
                protocol_factory=_Protocol,
            )
            self._manager.register_event("*", self._dispatch)
        manager = self._manager
        try:
            async with asyncio.timeout(self._connect_timeout):
                transport, protocol = await loop.create_connection(_Protocol, self._host, self._port)
        except (OSError, TimeoutError) as exc:
            raise NotConnected(f"AMI at {where} unreachable: {exc or 'timeout'}") from exc
        self._protocol = protocol
        self._lost.clear()
        connected: asyncio.Future[tuple[Any, Any]] = loop.create_future()
        connected.set_result((transport, protocol))
        manager.connection_made(connected)  # sends Login
        login = manager.authenticated_future
        try:
            # shielded: panoramisk's own done-callback reads the login future's result
            response = await self._await_response(asyncio.shield(login), "Login", self._connect_timeout)
        except (TelephonyError, NotConnected) as exc:
            await self._drop()
            raise NotConnected(f"AMI at {where} did not answer the login: {exc}") from exc
        if not response.success:
            await self._drop()
            raise NotConnected(f"AMI at {where} refused login as {self._username!r}: {response.message}")
        self._up.set()
        log.info("AMI connected to %s as %s", where, self._username)

    def _connection_lost(self, exc: object) -> None:
        was_up = self._up.is_set()
        self._up.clear()
        self._lost.set()
        if was_up and not self._closing:
            log.warning("AMI connection to %s:%d lost: %s", self._host, self._port, exc)
        self._fail_originates(NotConnected("AMI connection lost before the OriginateResponse"))

    def _fail_originates(self, error: Exception) -> None:
        originates, self._originates = self._originates, {}
        for outcome in originates.values():
            if not outcome.done():
                outcome.set_exception(error)

    async def _drop(self) -> None:
        self._up.clear()
        protocol, self._protocol = self._protocol, None
        if self._manager is not None:
            self._manager.close()
        if protocol is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await protocol.closed_future

    async def _supervise(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self._ping_interval):
                    await self._lost.wait()
            except TimeoutError:
                await self._keepalive()
                continue
            await self._drop()
            if not self._reconnect:
                log.warning("AMI link down; reconnect is off")
                return
            await self._reconnect_loop()

    async def _keepalive(self) -> None:
        try:
            await self.ping()
        except (TelephonyError, NotConnected) as exc:
            log.warning("AMI keepalive failed (%s); reconnecting", exc)
            await self._drop()
            self._lost.set()

    async def _reconnect_loop(self) -> None:
        delay = self._reconnect_delay
        while True:
            await asyncio.sleep(delay)  # back-off between attempts, not polling
            try:
                await self._open()
            except NotConnected as exc:
                log.info("AMI reconnect failed: %s (next try in %.1f s)", exc, delay)
                delay = min(delay * 2, self._max_reconnect_delay)
                continue
            self.reconnects += 1
            return


def _retrieve(future: asyncio.Future[AmiMessage]) -> None:
    # Nobody may be waiting on an Originate's outcome; read the error so asyncio does not log it.
    if not future.cancelled():
        future.exception()
