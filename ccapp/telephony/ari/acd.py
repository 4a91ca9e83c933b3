"""The ACD's telephony port (`ccapp.acd.ports.AcdTelephony`) over ARI.

Every channel ccapp dials is originated with a channel id chosen here and subscribed *before* the
originate, so its events (StasisStart when it answers, ChannelDestroyed) go to the leg's own queue
and never look like a new inbound call. Each leg has one pump task, owned by the adapter, that reads
its queue and resolves the leg's futures; it ends with the channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Mapping, Sequence

from ccapp.acd.ports import DialOutcome
from ccapp.calls.model import Q850
from ccapp.errors import CallGone, TelephonyError
from ccapp.telephony.ari.app import AriApp
from ccapp.telephony.ari.client import AriRequestError
from ccapp.telephony.ari.control import FeedItem, FeedSignal
from ccapp.telephony.ari.events import (
    ChannelDestroyed,
    ChannelHangupRequest,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
)
from ccapp.telephony.ari.media import media_uris

log = logging.getLogger("ccapp.telephony.ari.acd")

#: Stasis argument of channels the ACD dials (agents, callbacks, transfer targets, supervisors)
LEG_ARG = "acd-leg"
#: ARI's own ring timeout is a backstop; the ACD hangs up at the queue's ring timeout itself
_ARI_TIMEOUT_SLACK_S = 5


class AriLeg:
    """One dialled channel (`ccapp.acd.ports.Leg`)."""

    def __init__(self, adapter: AriAcdTelephony, leg_id: str, queue: asyncio.Queue[FeedItem]) -> None:
        self._adapter = adapter
        self._leg_id = leg_id
        self._queue = queue
        self.channel = ""
        loop = asyncio.get_running_loop()
        self._answered: asyncio.Future[DialOutcome] = loop.create_future()
        self._ended_at: asyncio.Future[tuple[int | None, str | None]] = loop.create_future()
        self._playbacks: dict[str, asyncio.Future[None]] = {}
        self._hanging_up = False
        self._cause: int | None = None

    @property
    def leg_id(self) -> str:
        return self._leg_id

    @property
    def ended(self) -> bool:
        return self._ended_at.done()

    async def pump(self) -> None:
        """Read the leg's events until it is gone."""
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, StasisStart):
                    self.channel = item.channel.name or self.channel
                    if not self._answered.done():
                        self._answered.set_result(DialOutcome(True))
                elif isinstance(item, PlaybackFinished):
                    waiter = self._playbacks.pop(item.playback.id, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)
                elif isinstance(item, ChannelHangupRequest) and item.cause is not None:
                    self._cause = item.cause
                elif isinstance(item, ChannelDestroyed | StasisEnd) or item is FeedSignal.LOST:
                    if isinstance(item, ChannelDestroyed):
                        cause: int | None = item.cause
                        text = item.cause_txt or Q850.get(item.cause or 0)
                    elif item is FeedSignal.LOST:
                        cause, text = None, "lost"
                    else:
                        cause, text = self._cause, "left the application"
                    self._finish(cause, text)
                    return
        finally:
            if not self._ended_at.done():
                self._finish(None, "stopped")

    def _finish(self, cause: int | None, text: str | None) -> None:
        if not self._answered.done():
            self._answered.set_result(DialOutcome(False, cause, text))
        if not self._ended_at.done():
            self._ended_at.set_result((cause, text))
        for waiter in self._playbacks.values():
            if not waiter.done():
                waiter.set_exception(CallGone(f"leg {self._leg_id} hung up"))
        self._playbacks.clear()
        self._adapter.app.unsubscribe(self._leg_id)

    async def wait_answer(self) -> DialOutcome:
        return await asyncio.shield(self._answered)

    async def wait_ended(self) -> tuple[int | None, str | None]:
        return await asyncio.shield(self._ended_at)

    async def play(self, prompts: Sequence[str]) -> None:
        if self.ended:
            raise CallGone(f"leg {self._leg_id} hung up")
        playback_id = uuid.uuid4().hex
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._playbacks[playback_id] = waiter
        media = media_uris(prompts)
        try:
            await self._adapter.app.client.channels.play(self._leg_id, media, playback_id=playback_id)
        except TelephonyError as exc:
            self._playbacks.pop(playback_id, None)
            raise CallGone(f"leg {self._leg_id}: {exc}") from exc
        await waiter

    async def hangup(self, cause: int = 16) -> None:
        if self.ended or self._hanging_up:
            return
        self._hanging_up = True
        with contextlib.suppress(TelephonyError):
            await self._adapter.app.client.channels.hangup(self._leg_id, reason_code=cause)


class AriAcdTelephony:
    """`AcdTelephony` over one `AriApp`."""

    def __init__(self, app: AriApp) -> None:
        self.app = app
        self._bridges: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def dial(
        self,
        endpoint: str,
        *,
        caller_id: str,
        timeout_s: float,
        variables: Mapping[str, str] | None = None,
    ) -> AriLeg:
        leg_id = f"acd-{uuid.uuid4().hex}"
        queue = self.app.subscribe(leg_id)
        leg = AriLeg(self, leg_id, queue)
        task = asyncio.create_task(leg.pump(), name=f"leg-{leg_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            channel = await self.app.client.channels.originate(
                endpoint,
                app_args=[LEG_ARG],
                caller_id=caller_id,
                timeout=math.ceil(timeout_s) + _ARI_TIMEOUT_SLACK_S,
                variables=variables,
                channel_id=leg_id,
            )
        except TelephonyError as exc:
            log.warning("dialling %s failed: %s", endpoint, exc)
            queue.put_nowait(FeedSignal.LOST)
            await asyncio.sleep(0)
            return leg
        leg.channel = channel.name
        return leg

    async def bridge(self, bridge_id: str, channel_ids: Sequence[str]) -> None:
        bridges = self.app.client.bridges
        if bridge_id not in self._bridges:
            await bridges.create("mixing", bridge_id=bridge_id, name=bridge_id)
            self._bridges.add(bridge_id)
        try:
            await bridges.add_channel(bridge_id, list(channel_ids))
        except AriRequestError as exc:
            raise CallGone(f"could not bridge {list(channel_ids)}: {exc}") from exc

    async def unbridge(self, bridge_id: str, channel_id: str) -> None:
        with contextlib.suppress(TelephonyError):
            await self.app.client.bridges.remove_channel(bridge_id, channel_id)

    async def destroy_bridge(self, bridge_id: str) -> None:
        self._bridges.discard(bridge_id)
        with contextlib.suppress(TelephonyError):
            await self.app.client.bridges.destroy(bridge_id)

    async def play_bridge(self, bridge_id: str, prompts: Sequence[str]) -> None:
        media = media_uris(prompts)
        try:
            await self.app.client.bridges.play(bridge_id, media)
        except AriRequestError as exc:
            raise CallGone(f"playing to bridge {bridge_id}: {exc}") from exc

    async def start_moh(self, channel_id: str, moh_class: str) -> None:
        try:
            await self.app.client.channels.moh_start(channel_id, moh_class)
        except AriRequestError as exc:
            raise CallGone(f"music on hold for {channel_id}: {exc}") from exc

    async def stop_moh(self, channel_id: str) -> None:
        with contextlib.suppress(TelephonyError):
            await self.app.client.channels.moh_stop(channel_id)

    async def snoop(self, channel_id: str, *, spy: str, whisper: str) -> str:
        snoop_id = f"acd-snoop-{uuid.uuid4().hex}"
        queue = self.app.subscribe(snoop_id)
        leg = AriLeg(self, snoop_id, queue)
        task = asyncio.create_task(leg.pump(), name=f"snoop-{snoop_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await self.app.client.channels.snoop(
            channel_id, spy=spy, whisper=whisper, app_args=[LEG_ARG], snoop_id=snoop_id
        )
        return snoop_id

    async def hangup(self, channel_id: str) -> None:
        with contextlib.suppress(TelephonyError):
            await self.app.client.channels.hangup(channel_id)

    async def live_channels(self) -> set[str]:
        return {c.id for c in await self.app.client.channels.list()}

    async def close(self) -> None:
        """Stop the leg pumps (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
