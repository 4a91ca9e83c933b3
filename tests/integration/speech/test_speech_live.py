"""Speech against the real Asterisk 22 test bed: hearing a caller through external media, barge-in,
keys, hang-ups, and both ways of delivering TTS prompts (shared sounds dir and HTTP).

The "caller" is a Local channel: its ;2 half runs ``[ccapp-test-speech]`` and plays an espeak-ng
WAV the test writes into the chroot's sounds dir (or silence, or keys); its ;1 half is in this
test's Stasis app.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from ccapp.errors import CallGone
from ccapp.speech.http import tts_routes
from ccapp.speech.listener import MediaTap, is_listen_channel
from ccapp.speech.pocketsphinx import PocketsphinxRecognizer
from ccapp.speech.tts import EspeakPromptStore
from ccapp.speech.vad import VadEvent, VadSettings
from ccapp.telephony.ari import AriApp, AriCallControl, AriClient, AriEventStream
from ccapp.telephony.ari.events import AriEvent, PlaybackFinished, PlaybackStarted, StasisStart
from tests.support import testbed
from tests.support.speech import write_phrase

pytestmark = [
    pytest.mark.asterisk,
    pytest.mark.skipif(
        not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox"
    ),
]

PHRASES = ["sales", "support", "billing", "account balance", "speak to an agent"]


@dataclass
class SpeechBed:
    client: AriClient
    name: str
    sounds: Path
    started: asyncio.Queue[AriCallControl] = field(default_factory=asyncio.Queue)
    seen: list[AriEvent] = field(default_factory=list)
    extra_starts: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    async def call(self, extension: str, context: str = "ccapp-test-speech") -> AriCallControl:
        await self.client.channels.originate(f"Local/{extension}@{context}", app=self.name, timeout=10)
        return await self.started.get()

    def say_to_caller(self, text: str) -> str:
        """Write ``text`` as an 8 kHz WAV the dialplan plays; the extension that plays it."""
        number = write_phrase(self.sounds, text)
        self.written.append(self.sounds / "ccapp" / "test" / f"{number}.wav")
        return number


@pytest.fixture
async def bed(asterisk: None) -> AsyncIterator[SpeechBed]:
    root = testbed.sandbox_root()
    testbed.ensure_dialplan("ccapp-test-speech", "giveup")
    name = f"ccapp-it-speech-{uuid.uuid4().hex[:8]}"
    client = AriClient(testbed.ARI_URL, testbed.ARI_USER, testbed.ARI_PASSWORD, name)
    stream = AriEventStream(testbed.ARI_URL, testbed.ARI_USER, testbed.ARI_PASSWORD, name)
    the_bed = SpeechBed(client, name, root / "usr" / "share" / "asterisk" / "sounds")

    async def started(event: StasisStart, control: AriCallControl) -> None:
        if is_listen_channel(event.channel.id):
            the_bed.extra_starts.append(event.channel.id)  # the tap's own helper channels
            return
        await the_bed.started.put(control)

    async def seen(event: AriEvent) -> None:
        the_bed.seen.append(event)

    app = AriApp(client, stream, on_stasis_start=started, on_event=seen)
    async with asyncio.timeout(10):
        await app.start(connect_timeout=5)
    try:
        yield the_bed
    finally:
        with contextlib.suppress(Exception):
            mine = {e.channel_id for e in the_bed.seen}
            for channel in await client.channels.list():
                if channel.id in mine:
                    with contextlib.suppress(CallGone):
                        await client.channels.hangup(channel.id)
        await app.stop()
        for path in the_bed.written:
            path.unlink(missing_ok=True)


async def _leftovers(client: AriClient) -> list[str]:
    channels = [c.id for c in await client.channels.list() if is_listen_channel(c.id)]
    bridges = [b.id for b in await client.bridges.list() if is_listen_channel(b.id)]
    return channels + bridges


async def _no_leftovers(client: AriClient) -> None:
    for _ in range(50):
        if not await _leftovers(client):
            return
        await asyncio.sleep(0.1)
    assert await _leftovers(client) == []


async def test_listen_hears_the_caller_say_billing_and_pocketsphinx_recognizes_it(bed: SpeechBed) -> None:
    extension = bed.say_to_caller("billing")
    async with asyncio.timeout(30):
        control = await bed.call(extension)
        await control.answer()
        utterance = await control.listen(no_input_timeout=5, end_silence=0.6)
    assert utterance.digit is None
    assert utterance.sample_rate == 8000
    assert 0.4 < len(utterance.audio) / 16000 < 3.0
    result = await asyncio.to_thread(PocketsphinxRecognizer().recognize, utterance.audio, 8000, PHRASES)
    assert result.phrase == "billing"
    assert result.confidence > 0.5
    await _no_leftovers(bed.client)
    assert len(bed.extra_starts) == 2  # snoop + external media went through Stasis, and were ignored


async def test_speech_barges_in_on_a_long_prompt(bed: SpeechBed) -> None:
    extension = bed.say_to_caller("account balance")
    async with asyncio.timeout(30):
        control = await bed.call(extension)
        await control.answer()
        loop = asyncio.get_running_loop()
        began = loop.time()
        utterance = await control.listen(prompts=["silence/10", "silence/10"], no_input_timeout=3)
        took = loop.time() - began
    assert took < 8, "the 20 s prompt was not interrupted by speech"
    result = await asyncio.to_thread(PocketsphinxRecognizer().recognize, utterance.audio, 8000, PHRASES)
    assert result.phrase == "account balance"
    stopped = [e for e in bed.seen if isinstance(e, PlaybackFinished) and e.channel_id == control.channel_id]
    assert stopped, "the prompt's playback never finished"
    await _no_leftovers(bed.client)


async def test_a_key_ends_listening_with_the_digit(bed: SpeechBed) -> None:
    async with asyncio.timeout(30):
        control = await bed.call("D1")
        await control.answer()
        utterance = await control.listen(prompts=["silence/10"], no_input_timeout=5)
    assert utterance.digit == "1"
    assert utterance.audio == b""
    await _no_leftovers(bed.client)


async def test_silence_is_no_input_after_the_timeout(bed: SpeechBed) -> None:
    async with asyncio.timeout(30):
        control = await bed.call("silent")
        await control.answer()
        loop = asyncio.get_running_loop()
        began = loop.time()
        utterance = await control.listen(no_input_timeout=1.5)
        took = loop.time() - began
    assert utterance.silent
    assert 1.4 < took < 4
    await _no_leftovers(bed.client)


async def test_a_hang_up_while_listening_raises_call_gone_and_tears_the_tap_down(bed: SpeechBed) -> None:
    async with asyncio.timeout(30):
        control = await bed.call("giveup")
        await control.answer()
        with pytest.raises(CallGone):
            await control.listen(no_input_timeout=10)
    await _no_leftovers(bed.client)


# ------------------------------------------------------------------------------------------ TTS
async def _play_and_hear(bed: SpeechBed, media: str) -> tuple[PlaybackFinished, str | None]:
    """Play ``media`` to a silent caller while tapping what the channel sends (spy=out); recognise it."""
    control = await bed.call("silent")
    await control.answer()
    async with MediaTap(bed.client, control.channel_id, VadSettings(end_silence=0.6), snoop="out") as tap:
        await control.play([media])
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):
                while tap.vad.finished is None:
                    if await tap.events.get() is not VadEvent.SPEECH_STARTED:
                        break
        audio = tap.utterance()
    finished = [e for e in bed.seen if isinstance(e, PlaybackFinished) and e.channel_id == control.channel_id]
    assert any(isinstance(e, PlaybackStarted) for e in bed.seen)
    phrase = (await asyncio.to_thread(PocketsphinxRecognizer().recognize, audio, 8000, PHRASES)).phrase
    return finished[-1], phrase


async def test_tts_through_the_shared_sounds_dir_plays_on_a_channel(bed: SpeechBed) -> None:
    store = EspeakPromptStore([bed.sounds])
    media = await store.render("support")
    assert media.startswith("ccapp/tts/")
    assert store.exists(media) is True
    async with asyncio.timeout(30):
        finished, phrase = await _play_and_hear(bed, media)
    assert finished.playback.state == "done"
    assert phrase == "support"


async def test_tts_over_http_plays_on_a_channel_through_the_media_cache(
    bed: SpeechBed, tmp_path: Path
) -> None:
    app = web.Application()
    cache = tmp_path / "tts"
    app.add_routes(tts_routes(cache))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        store = EspeakPromptStore([], cache_dir=cache, http_base_url=f"http://127.0.0.1:{port}/media/tts")
        media = await store.render("account balance")
        assert media.startswith(f"sound:http://127.0.0.1:{port}/media/tts/")
        assert store.exists(media) is None
        async with asyncio.timeout(30):
            finished, phrase = await _play_and_hear(bed, media)
    finally:
        await runner.cleanup()
    assert finished.playback.state == "done"
    assert phrase == "account balance"
