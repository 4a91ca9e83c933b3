"""`MediaTap`: hear what one ARI channel's caller says, as PCM through a VAD.

External media is the only way ARI hands a channel's audio to an outside process live: an
external media channel sends RTP to ccapp's UDP socket. What it is bridged with was measured on
Asterisk 22 (tests/integration/speech/):

* a snoop channel on the caller (``spy=in``: only what the caller sends), in a mixing bridge
  with the external media channel — the default. The caller's channel stays where it is, prompts
  played to it do not leak into what is heard, and the caller is heard *while* prompts play,
  which barge-in needs.
* the caller's channel itself in the bridge (``snoop=None``): no helper channel, but while ARI
  plays a prompt to a bridged channel, the channel is taken out of the bridge's media, so
  nothing is heard until the prompt ends: no barge-in by voice.

Asterisk hangs a snoop channel up only when a frame passes through the spied channel
(asterisk/asterisk#978): a caller sending no media at all keeps the snoop alive (out of Stasis,
harmless) until its next frame or its hang-up. Phones and trunks send RTP continuously; the test
bed's fake callers play silence files rather than Wait() for that reason.

Teardown (always, also on hang-up and cancellation): hang up the helper channels, destroy the
bridge, close the socket. The format is ``slin`` (8 kHz): the recognizer upsamples by linear
interpolation, which measured better on the en-us model than a proper 16 kHz resampling.

The helper channels enter the Stasis application like any channel; their ids start with
`LISTEN_CHANNEL_PREFIX` so a StasisStart handler can tell them from callers and ignore them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from types import TracebackType
from typing import TYPE_CHECKING

from ccapp.errors import TelephonyError
from ccapp.speech.rtp import FORMAT_RATES, RtpReceiver
from ccapp.speech.vad import EnergyVad, VadEvent, VadSettings

if TYPE_CHECKING:
    from ccapp.telephony.ari.client import AriClient

log = logging.getLogger("ccapp.speech.listener")

#: ids of the snoop and external media channels (and the bridge) a tap creates start with this
LISTEN_CHANNEL_PREFIX = "ccapp-listen-"
_BRIDGE_ATTEMPTS = 40
_BRIDGE_RETRY_S = 0.025


def is_listen_channel(channel_id: str) -> bool:
    """True for the helper channels of a `MediaTap` (a StasisStart handler should ignore them)."""
    return channel_id.startswith(LISTEN_CHANNEL_PREFIX)


class MediaTap:
    """``async with MediaTap(client, channel_id, settings) as tap``: then ``await tap.events.get()``
    yields `VadEvent`s, and ``tap.utterance()`` is the audio once speech ended.

    ``host`` is the address Asterisk sends RTP to; it must be reachable from Asterisk (loopback
    when both run on one machine). ``snoop`` (``in``, ``out``, ``both``): the direction the snoop
    channel spies; None bridges the channel itself (see the module docstring).
    """

    def __init__(
        self,
        client: AriClient,
        channel_id: str,
        settings: VadSettings | None = None,
        *,
        host: str = "127.0.0.1",
        media_format: str = "slin",
        snoop: str | None = "in",
    ) -> None:
        rate = FORMAT_RATES.get(media_format)
        if rate is None:
            raise ValueError(f"unsupported external media format {media_format!r}")
        self._client = client
        self._channel_id = channel_id
        self._host = host
        self._snoop = snoop
        self.media_format = media_format
        self.sample_rate = rate
        self.vad = EnergyVad(dataclasses.replace(settings or VadSettings(), sample_rate=rate))
        self.events: asyncio.Queue[VadEvent] = asyncio.Queue()
        tag = uuid.uuid4().hex[:12]
        self.bridge_id = f"{LISTEN_CHANNEL_PREFIX}{tag}"
        self.snoop_id = f"{LISTEN_CHANNEL_PREFIX}{tag}-snoop"
        self.media_id = f"{LISTEN_CHANNEL_PREFIX}{tag}-media"
        self._transport: asyncio.DatagramTransport | None = None
        self.receiver: RtpReceiver | None = None
        self._created: list[str] = []

    @property
    def _heard_id(self) -> str:
        return self._channel_id if self._snoop is None else self.snoop_id

    def utterance(self) -> bytes:
        return self.vad.utterance()

    def _on_audio(self, pcm: bytes) -> None:
        for event in self.vad.feed(pcm):
            self.events.put_nowait(event)

    async def __aenter__(self) -> MediaTap:
        loop = asyncio.get_running_loop()
        transport, receiver = await loop.create_datagram_endpoint(
            lambda: RtpReceiver(self.media_format, self._on_audio), local_addr=(self._host, 0)
        )
        self._transport, self.receiver = transport, receiver
        port = transport.get_extra_info("sockname")[1]
        try:
            channels = self._client.channels
            await self._client.bridges.create("mixing", bridge_id=self.bridge_id, name="ccapp-listen")
            self._created.append("bridge")
            if self._snoop is not None:
                await channels.snoop(
                    self._channel_id, spy=self._snoop, snoop_id=self.snoop_id, app_args="ccapp-listen"
                )
                self._created.append(self.snoop_id)
            await channels.external_media(f"{self._host}:{port}", self.media_format, channel_id=self.media_id)
            self._created.append(self.media_id)
            await self._bridge_when_in_stasis()
        except BaseException:
            await self.close()
            raise
        return self

    async def _bridge_when_in_stasis(self) -> None:
        """Add the heard channel and the external media channel to the bridge.

        A new channel is in Stasis only once Asterisk has run its StasisStart, a moment after the
        REST call that made it returned; until then the bridge answers 422 "Channel not in Stasis
        application". The StasisStart events go to the application's dispatcher, not here, so
        retry briefly instead of waiting for them."""
        for attempt in range(_BRIDGE_ATTEMPTS):
            try:
                await self._client.bridges.add_channel(self.bridge_id, [self._heard_id, self.media_id])
                return
            except TelephonyError as exc:
                # AriRequestError's status (not imported: ccapp.telephony.ari imports this module)
                if getattr(exc, "status", None) != 422 or attempt == _BRIDGE_ATTEMPTS - 1:
                    raise
            await asyncio.sleep(_BRIDGE_RETRY_S)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Hang up the helper channels, destroy the bridge, close the socket; never raises
        `TelephonyError` (after a hang-up some of them are already gone). A cancellation that
        arrives meanwhile waits for the teardown to finish, then propagates: helpers left behind
        would keep a bridge and an RTP stream per abandoned listen."""
        created, self._created = self._created, []
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if not created:
            return
        teardown = asyncio.ensure_future(self._teardown(created))
        try:
            await asyncio.shield(teardown)
        except asyncio.CancelledError:
            await teardown
            raise

    async def _teardown(self, created: list[str]) -> None:
        for item in sorted(created, key=lambda i: i != "bridge"):
            try:
                if item == "bridge":
                    await self._client.bridges.destroy(self.bridge_id)
                else:
                    await self._client.channels.hangup(item)
            except TelephonyError as exc:
                log.debug("tearing down %s: %s", item, exc)
