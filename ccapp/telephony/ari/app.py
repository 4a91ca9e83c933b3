"""`AriApp`: routes the events of one Stasis application to the calls they belong to.

Task ownership: AriApp spawns no call tasks. ``on_stasis_start(event, control)`` is awaited inline,
in event order, and must return quickly — the call service spawns (and owns) the task that runs
the call with the ready-made `AriCallControl`. Because the control and its queue exist before the
callback runs, no event of the new channel is lost.

Channels subscribed beforehand with `subscribe` (e.g. an agent leg ccapp originates with a known
``channel_id``) get their StasisStart in their own queue instead of ``on_stasis_start``.

After every (re)connection of the events socket AriApp asks Asterisk which channels are still in
Stasis in the application: subscribed channels that are not get `FeedSignal.LOST` (their operations raise
`CallGone`), the others `FeedSignal.RESYNC`; then ``on_reconnect(live_ids)`` runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ccapp.errors import TelephonyError
from ccapp.telephony.ari.client import AriClient
from ccapp.telephony.ari.control import AriCallControl, FeedItem, FeedSignal
from ccapp.telephony.ari.events import AriEvent, ChannelDestroyed, StasisEnd, StasisStart
from ccapp.telephony.ari.stream import AriEventStream

log = logging.getLogger("ccapp.telephony.ari.app")

StasisStartHandler = Callable[[StasisStart, AriCallControl], Awaitable[None]]
EventListener = Callable[[AriEvent], Awaitable[None]]
ReconnectHandler = Callable[[set[str]], Awaitable[None]]


class AriApp:
    def __init__(
        self,
        client: AriClient,
        stream: AriEventStream,
        *,
        on_stasis_start: StasisStartHandler | None = None,
        on_event: EventListener | None = None,
        on_reconnect: ReconnectHandler | None = None,
        lang: str | None = None,
    ) -> None:
        self.client = client
        self.stream = stream
        self.on_stasis_start = on_stasis_start
        #: sees every event after routing (e.g. ChannelDestroyed → the call service's ``channel_ended``)
        self.on_event = on_event
        self.on_reconnect = on_reconnect
        self._lang = lang
        self._feeds: dict[str, asyncio.Queue[FeedItem]] = {}
        stream.handler = self.dispatch
        stream.on_connect = self._reconcile

    async def start(self, connect_timeout: float | None = None) -> None:
        """Start the client and the events socket; with ``connect_timeout`` wait for the socket."""
        await self.client.start()
        self.stream.start()
        if connect_timeout is not None:
            await self.stream.wait_connected(connect_timeout)

    async def stop(self) -> None:
        await self.stream.stop()
        await self.client.close()

    # ------------------------------------------------------------------------------ routing
    def subscribe(self, channel_id: str) -> asyncio.Queue[FeedItem]:
        """The queue that receives ``channel_id``'s events from now on."""
        return self._feeds.setdefault(channel_id, asyncio.Queue())

    def unsubscribe(self, channel_id: str) -> None:
        self._feeds.pop(channel_id, None)

    def control_for(self, event: StasisStart) -> AriCallControl:
        """A control for the channel of ``event``, reading its subscribed queue. AriApp makes these
        itself for ``on_stasis_start``; call it for channels you subscribed beforehand."""
        channel = event.channel
        return AriCallControl(self.client, channel, self.subscribe(channel.id), lang=self._lang)

    async def dispatch(self, event: AriEvent) -> None:
        """Route one event (the stream's handler)."""
        channel_id = event.channel_id
        if isinstance(event, StasisStart) and channel_id not in self._feeds:
            control = self.control_for(event)
            if self.on_stasis_start is None:
                log.warning("no StasisStart handler; channel %s stays in Stasis", event.channel.name)
            else:
                await self.on_stasis_start(event, control)
        elif channel_id is not None and channel_id in self._feeds:
            self._feeds[channel_id].put_nowait(event)
            if isinstance(event, ChannelDestroyed | StasisEnd):
                # the control still reads the final event from its queue; new events go nowhere
                self._feeds.pop(channel_id, None)
        if self.on_event is not None:
            await self.on_event(event)

    # ------------------------------------------------------------------------------ reconcile
    async def live_channel_ids(self) -> set[str]:
        """Channels in Stasis in this application right now.

        Not ``GET /applications/{app}``: its ``channel_ids`` are the app's *subscriptions*, which
        keep channels that already left Stasis (an originated channel stays subscribed)."""
        return {c.id for c in await self.client.channels.list() if c.in_stasis(self.stream.app)}

    async def _reconcile(self) -> None:
        try:
            live = await self.live_channel_ids()
        except TelephonyError as exc:
            log.warning("reconcile after connect failed: %s", exc)
            return
        for channel_id, queue in list(self._feeds.items()):
            if channel_id in live:
                queue.put_nowait(FeedSignal.RESYNC)
            else:
                queue.put_nowait(FeedSignal.LOST)
                self._feeds.pop(channel_id, None)
        if self.on_reconnect is not None:
            await self.on_reconnect(live)

    @property
    def channel_ids(self) -> set[str]:
        """Channels with a live subscription."""
        return set(self._feeds)
