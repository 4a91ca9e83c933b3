"""`AriCallControl.listen` on a fake ARI that plays Asterisk's part: the external media channel
streams real RTP to the tap's UDP socket on loopback; events go to the control's queue."""

from __future__ import annotations

import asyncio
import math
import socket
import struct
from array import array
from datetime import UTC, datetime
from typing import Any

import pytest

from ccapp.errors import CallGone, TelephonyError
from ccapp.speech.audio import swap16, to_bytes
from ccapp.speech.listener import is_listen_channel
from ccapp.telephony.ari.client import AriRequestError
from ccapp.telephony.ari.control import AriCallControl, FeedItem
from ccapp.telephony.ari.events import (
    Channel,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    Playback,
    PlaybackFinished,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CHANNEL = Channel(id="1.1", name="PJSIP/alice-00000001", state="Up")


def base(kind: str) -> dict[str, Any]:
    return {"type": kind, "timestamp": T0, "application": "ccapp"}


def speech(seconds: float) -> bytes:
    n = int(seconds * 8000)
    return to_bytes(array("h", (int(6000 * math.sin(2 * math.pi * 300 * i / 8000)) for i in range(n))))


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * 16000))


class FakeAri:
    """Records requests; ``caller_audio`` is streamed as RTP once external media exists."""

    def __init__(self, queue: asyncio.Queue[FeedItem]) -> None:
        self.queue = queue
        self.requests: list[tuple[str, str]] = []
        self.caller_audio = b""
        self.after_audio: FeedItem | None = None
        self.on_play: FeedItem | None = None
        self.playback_s = 0.05
        self.hold_playback = False
        self.fail_bridge_times = 0
        self.app = "ccapp"
        self.channels = _Channels(self)
        self.bridges = _Bridges(self)
        self.playbacks = _Playbacks(self)
        self.tasks: list[asyncio.Task[None]] = []

    async def stream(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            payload = swap16(self.caller_audio)
            for seq, offset in enumerate(range(0, len(payload), 320)):
                header = struct.pack("!BBHII", 0x80, 118, seq, seq * 160, 42)
                sock.sendto(header + payload[offset : offset + 320], (host, port))
                if seq % 10 == 9:
                    await asyncio.sleep(0.001)  # let the receiver keep up, faster than real time
        if self.after_audio is not None:
            self.queue.put_nowait(self.after_audio)

    def finish_playback(self, playback_id: str) -> None:
        pb = Playback(id=playback_id, target_uri=f"channel:{CHANNEL.id}", state="done")
        self.queue.put_nowait(PlaybackFinished(**base("PlaybackFinished"), playback=pb))


class _Channels:
    def __init__(self, ari: FakeAri) -> None:
        self.ari = ari

    async def snoop(self, channel_id: str, **kw: Any) -> Channel:
        self.ari.requests.append(("snoop", kw["snoop_id"]))
        return Channel(id=kw["snoop_id"], name="Snoop/x", state="Up")

    async def external_media(self, external_host: str, format: str, **kw: Any) -> Channel:
        self.ari.requests.append(("external_media", format))
        host, port = external_host.rsplit(":", 1)
        self.ari.tasks.append(asyncio.create_task(self.ari.stream(host, int(port))))
        return Channel(id=kw["channel_id"], name="UnicastRTP/x", state="Up")

    async def hangup(self, channel_id: str, **kw: Any) -> None:
        self.ari.requests.append(("hangup", channel_id))

    async def play(self, channel_id: str, media: list[str], **kw: Any) -> None:
        self.ari.requests.append(("play", ",".join(media)))
        if self.ari.on_play is not None:
            self.ari.queue.put_nowait(self.ari.on_play)
        if not self.ari.hold_playback:
            loop = asyncio.get_running_loop()
            loop.call_later(self.ari.playback_s, self.ari.finish_playback, kw["playback_id"])


class _Bridges:
    def __init__(self, ari: FakeAri) -> None:
        self.ari = ari

    async def create(self, type: str, **kw: Any) -> None:
        self.ari.requests.append(("bridge", type))

    async def add_channel(self, bridge_id: str, channel_ids: list[str]) -> None:
        if self.ari.fail_bridge_times:
            self.ari.fail_bridge_times -= 1
            raise AriRequestError(
                "not in Stasis", status=422, ari_message="Channel not in Stasis application"
            )
        self.ari.requests.append(
            ("add", ",".join("caller" if c == CHANNEL.id else "helper" for c in channel_ids))
        )

    async def destroy(self, bridge_id: str) -> None:
        self.ari.requests.append(("destroy", "bridge"))


class _Playbacks:
    def __init__(self, ari: FakeAri) -> None:
        self.ari = ari

    async def stop(self, playback_id: str) -> None:
        self.ari.requests.append(("stop", "playback"))


@pytest.fixture
def setup() -> tuple[AriCallControl, FakeAri]:
    queue: asyncio.Queue[FeedItem] = asyncio.Queue()
    ari = FakeAri(queue)
    return AriCallControl(ari, CHANNEL, queue), ari  # type: ignore[arg-type]


def torn_down(ari: FakeAri) -> bool:
    hung_up = {c for kind, c in ari.requests if kind == "hangup"}
    return (
        ("destroy", "bridge") in ari.requests and len(hung_up) == 2 and all(map(is_listen_channel, hung_up))
    )


async def test_speech_during_the_prompt_stops_it_and_comes_back_as_8khz_audio(
    setup: tuple[AriCallControl, FakeAri],
) -> None:
    control, ari = setup
    ari.hold_playback = True
    ari.caller_audio = silence(0.5) + speech(0.8) + silence(1.0)
    async with asyncio.timeout(5):
        utterance = await control.listen(prompts=["welcome", "sound:beep"], end_silence=0.5)
    assert utterance.digit is None and utterance.sample_rate == 8000
    assert 1.3 < len(utterance.audio) / 16000 < 1.8  # pre-roll + speech + end silence
    kinds = [kind for kind, _ in ari.requests]
    assert kinds.index("external_media") < kinds.index("play") < kinds.index("stop")
    assert ("play", "sound:welcome,sound:beep") in ari.requests
    assert ("add", "helper,helper") in ari.requests  # the snoop, not the caller, is bridged
    assert torn_down(ari)


async def test_a_key_during_the_prompt_returns_the_digit(setup: tuple[AriCallControl, FakeAri]) -> None:
    control, ari = setup
    ari.hold_playback = True
    ari.on_play = ChannelDtmfReceived(
        **base("ChannelDtmfReceived"), channel=CHANNEL, digit="3", duration_ms=100
    )
    async with asyncio.timeout(5):
        utterance = await control.listen(prompts=["menu"])
    assert utterance.digit == "3" and utterance.audio == b""
    assert ("stop", "playback") in ari.requests
    assert torn_down(ari)


async def test_a_key_typed_ahead_returns_at_once_without_a_tap(setup: tuple[AriCallControl, FakeAri]) -> None:
    control, ari = setup
    ari.queue.put_nowait(
        ChannelDtmfReceived(**base("ChannelDtmfReceived"), channel=CHANNEL, digit="9", duration_ms=90)
    )
    assert (await control.listen(prompts=["menu"])).digit == "9"
    assert ari.requests == []


async def test_no_input_counts_from_the_end_of_the_prompt(setup: tuple[AriCallControl, FakeAri]) -> None:
    control, ari = setup
    ari.playback_s = 0.3
    ari.caller_audio = silence(0.2)
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with asyncio.timeout(5):
        utterance = await control.listen(prompts=["menu"], no_input_timeout=0.3)
    assert utterance.silent
    assert 0.55 < loop.time() - began < 1.5
    assert torn_down(ari)


async def test_a_hang_up_while_listening_raises_call_gone_after_teardown(
    setup: tuple[AriCallControl, FakeAri],
) -> None:
    control, ari = setup
    ari.caller_audio = silence(0.2)
    ari.after_audio = ChannelHangupRequest(**base("ChannelHangupRequest"), channel=CHANNEL, cause=16)
    async with asyncio.timeout(5):
        with pytest.raises(CallGone):
            await control.listen(no_input_timeout=3)
    assert torn_down(ari)


async def test_cancelling_listen_still_tears_the_tap_down(setup: tuple[AriCallControl, FakeAri]) -> None:
    control, ari = setup
    task = asyncio.create_task(control.listen(no_input_timeout=10))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert torn_down(ari)


async def test_the_bridge_is_retried_while_the_helpers_reach_stasis(
    setup: tuple[AriCallControl, FakeAri],
) -> None:
    control, ari = setup
    ari.fail_bridge_times = 2
    async with asyncio.timeout(5):
        assert (await control.listen(no_input_timeout=0.1)).silent
    assert ("add", "helper,helper") in ari.requests
    assert torn_down(ari)


async def test_another_bridge_error_is_raised_after_teardown(setup: tuple[AriCallControl, FakeAri]) -> None:
    control, ari = setup

    async def refuse(bridge_id: str, channel_ids: list[str]) -> None:
        raise AriRequestError("boom", status=500, ari_message="Internal error")

    ari.bridges.add_channel = refuse  # type: ignore[method-assign]
    with pytest.raises(TelephonyError, match="boom"):
        await control.listen(no_input_timeout=0.1)
    assert torn_down(ari)
