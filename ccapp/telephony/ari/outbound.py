"""The dialer's telephony port (`ccapp.dialer.ports.OutboundTelephony`) over ARI.

A lead's line is originated into the Stasis application with a channel id chosen here
(``out-<attempt>``) and subscribed before the originate, so its StasisStart (= the answer) and a
failed dial's ChannelDestroyed (with the Q.850 cause) come to the line, never to the call service.
Once answered, `AriLine.detect` sends the channel on to ``[ccapp-outbound]`` (AMD); AriApp drops the
subscription at that StasisEnd, so the verdict's StasisStart is a new call for the call service,
routed by its ``outbound`` argument. A lead hanging up while AMD listens is seen through
`AriOutbound.channel_destroyed`, which the application calls for every ChannelDestroyed (the app
stays subscribed to channels it originated).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Mapping

from ccapp.calls.model import Q850
from ccapp.dialer.ports import LineAnswer
from ccapp.errors import CallGone, TelephonyError
from ccapp.telephony.ari.app import AriApp
from ccapp.telephony.ari.control import FeedItem, FeedSignal
from ccapp.telephony.ari.events import ChannelDestroyed, ChannelHangupRequest, StasisStart

log = logging.getLogger("ccapp.telephony.ari.outbound")

#: Stasis argument of lines the dialer originates (their answer)
DIAL_ARG = "outbound-dial"
#: where answered lines go for answering-machine detection
AMD_CONTEXT = "ccapp-outbound"
AMD_EXTENSION = "amd"


class AriLine:
    """One call to a lead (`ccapp.dialer.ports.Line`)."""

    def __init__(self, owner: AriOutbound, channel_id: str, feed: asyncio.Queue[FeedItem]) -> None:
        self._owner = owner
        self._channel_id = channel_id
        self._feed = feed
        loop = asyncio.get_running_loop()
        self._answer: asyncio.Future[LineAnswer] = loop.create_future()
        self._gone: asyncio.Future[tuple[int | None, str | None]] = loop.create_future()
        self._cause: int | None = None

    @property
    def channel_id(self) -> str:
        return self._channel_id

    async def pump(self) -> None:
        """Read the line's events until it answered (then AMD owns it) or it is gone."""
        try:
            while not self._answer.done():
                item = await self._feed.get()
                if isinstance(item, StasisStart):
                    self._answer.set_result(LineAnswer(True, at=item.timestamp))
                elif isinstance(item, ChannelHangupRequest) and item.cause is not None:
                    self._cause = item.cause
                elif isinstance(item, ChannelDestroyed):
                    self.destroyed(item.cause, item.cause_txt)
                elif item is FeedSignal.LOST:
                    self.destroyed(None, "lost")
        finally:
            if not self._answer.done():
                self.destroyed(None, "stopped")

    def destroyed(self, cause: int | None, text: str | None) -> None:
        cause = cause if cause else self._cause
        text = text or Q850.get(cause or 0)
        if not self._answer.done():
            self._answer.set_result(LineAnswer(False, cause=cause, cause_text=text))
        if not self._gone.done():
            self._gone.set_result((cause, text))
        self._owner.forget(self._channel_id)

    async def wait_answer(self) -> LineAnswer:
        return await asyncio.shield(self._answer)

    async def wait_gone(self) -> tuple[int | None, str | None]:
        return await asyncio.shield(self._gone)

    async def detect(self, variables: Mapping[str, str]) -> None:
        channels = self._owner.app.client.channels
        try:
            for name, value in variables.items():
                await channels.set_var(self._channel_id, name, value)
            await channels.continue_in_dialplan(self._channel_id, AMD_CONTEXT, AMD_EXTENSION, 1)
        except TelephonyError as exc:
            raise CallGone(f"line {self._channel_id}: {exc}") from exc

    async def hangup(self, cause: int = 16) -> None:
        if self._gone.done():
            return
        with contextlib.suppress(TelephonyError):
            await self._owner.app.client.channels.hangup(self._channel_id, reason_code=cause)


class AriOutbound:
    """`OutboundTelephony` over one `AriApp`."""

    def __init__(self, app: AriApp) -> None:
        self.app = app
        self._lines: dict[str, AriLine] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def originate(
        self,
        dial_string: str,
        *,
        attempt_id: str,
        caller_id: str,
        timeout_s: float,
        variables: Mapping[str, str],
    ) -> AriLine:
        channel_id = f"out-{attempt_id}"
        feed = self.app.subscribe(channel_id)
        line = AriLine(self, channel_id, feed)
        self._lines[channel_id] = line
        task = asyncio.create_task(line.pump(), name=f"line-{channel_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            await self.app.client.channels.originate(
                dial_string,
                app_args=[DIAL_ARG, attempt_id],
                caller_id=caller_id or None,
                timeout=max(1, math.ceil(timeout_s)),
                variables=variables,
                channel_id=channel_id,
            )
        except TelephonyError as exc:
            log.warning("originate %s failed: %s", channel_id, exc)
            self.app.unsubscribe(channel_id)
            line.destroyed(getattr(exc, "cause", None), f"originate refused: {exc}"[:120])
        return line

    def channel_destroyed(self, channel_id: str, cause: int | None, text: str | None) -> None:
        """Asterisk destroyed ``channel_id`` (any channel: only lines ccapp dialled are followed)."""
        line = self._lines.get(channel_id)
        if line is not None:
            line.destroyed(cause, text)

    def forget(self, channel_id: str) -> None:
        self._lines.pop(channel_id, None)

    def following(self, channel_id: str) -> bool:
        return channel_id in self._lines

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
