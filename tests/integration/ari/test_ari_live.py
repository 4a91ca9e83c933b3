"""The ARI adapter against the real Asterisk 22 test bed.

Each test registers its own Stasis application name so tests by other engineers that use the
shared Asterisk (and the app name ``ccapp``) never steal each other's events. Set
CCAPP_RECORD_ARI_FIXTURES=1 to refresh the transcripts in tests/fixtures/ari/.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ccapp.errors import CallGone
from ccapp.telephony.ari import USED_ENDPOINTS, AriApp, AriCallControl, AriClient, AriEventStream
from ccapp.telephony.ari.events import (
    AriEvent,
    ChannelDestroyed,
    ChannelDtmfReceived,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
    UnknownEvent,
)
from tests.support import testbed

pytestmark = pytest.mark.asterisk

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ari"
RECORD = os.environ.get("CCAPP_RECORD_ARI_FIXTURES") == "1"


@dataclass
class Bed:
    app: AriApp
    client: AriClient
    name: str
    started: asyncio.Queue[tuple[StasisStart, AriCallControl]] = field(default_factory=asyncio.Queue)
    seen: list[AriEvent] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    raw: list[str] = field(default_factory=list)

    async def originate(self, endpoint: str) -> AriCallControl:
        """Originate into this app and wait for the channel's StasisStart."""
        await self.client.channels.originate(endpoint, app=self.name, app_args=["test"], timeout=10)
        event, control = await self.started.get()
        assert event.args == ("test",)
        return control

    async def note(self, event: AriEvent) -> None:
        async with self.arrived:
            self.seen.append(event)
            self.arrived.notify_all()

    async def wait_for(self, predicate: Callable[[AriEvent], bool]) -> AriEvent:
        async with self.arrived:
            await self.arrived.wait_for(lambda: any(predicate(e) for e in self.seen))
            return next(e for e in self.seen if predicate(e))

    def events_of(self, channel_id: str) -> list[str]:
        return [e.type for e in self.seen if e.channel_id == channel_id]


@pytest.fixture
async def bed(asterisk: None) -> AsyncIterator[Bed]:
    name = f"ccapp-it-{uuid.uuid4().hex[:8]}"
    client = AriClient(testbed.ARI_URL, testbed.ARI_USER, testbed.ARI_PASSWORD, name)
    bed_holder: list[Bed] = []
    stream = AriEventStream(
        testbed.ARI_URL,
        testbed.ARI_USER,
        testbed.ARI_PASSWORD,
        name,
        tap=lambda m: bed_holder[0].raw.append(m),
    )

    async def started(event: StasisStart, control: AriCallControl) -> None:
        await bed_holder[0].started.put((event, control))

    async def seen(event: AriEvent) -> None:
        await bed_holder[0].note(event)

    app = AriApp(client, stream, on_stasis_start=started, on_event=seen)
    bed_holder.append(Bed(app, client, name))
    async with asyncio.timeout(10):
        await app.start(connect_timeout=5)
    try:
        yield bed_holder[0]
    finally:
        with contextlib.suppress(Exception):
            for channel in await client.channels.list():
                if channel.id in {e.channel_id for e in bed_holder[0].seen}:
                    with contextlib.suppress(CallGone):
                        await client.channels.hangup(channel.id)
        await app.stop()


def _record(bed: Bed, fixture: str) -> None:
    if not RECORD:
        return
    # the app name is random per run; store it as "ccapp" so the transcript reads like production
    lines = [line.replace(bed.name, "ccapp") for line in bed.raw]
    (FIXTURES / fixture).write_text("\n".join(lines) + "\n")


async def test_local_call_collects_12_hash_plays_and_says_digits_then_hangs_up(bed: Bed) -> None:
    async with asyncio.timeout(30):
        control = await bed.originate("Local/D12#@ccapp-test")
        assert control.channel.name.startswith("Local/D12#@ccapp-test")
        await control.answer()
        result = await control.collect_digits(max_digits=8, terminator="#", first_timeout=10)
        assert (result.digits, result.terminator, result.timed_out) == ("12", "#", False)
        assert await control.play(["beep"]) is None
        await control.say_digits("12")
        await control.hangup()
        with pytest.raises(CallGone):
            await control.play(["beep"])
        await bed.wait_for(lambda e: isinstance(e, ChannelDestroyed) and e.channel_id == control.channel_id)
    types = bed.events_of(control.channel_id)
    # an originated channel is subscribed before it enters Stasis: Dial and state changes come first
    assert types.index("StasisStart") < types.index("ChannelDtmfReceived")
    assert types.count("ChannelDtmfReceived") == 3
    assert types.count("PlaybackStarted") == 2
    assert types.count("PlaybackFinished") == 2
    assert "StasisEnd" in types
    digits = [e.digit for e in bed.seen if isinstance(e, ChannelDtmfReceived)]
    assert digits == ["1", "2", "#"]
    finished = [e for e in bed.seen if isinstance(e, PlaybackFinished)]
    assert [e.playback.media_uri for e in finished] == ["sound:beep", "digits:12"]
    _record(bed, "events-local-dtmf-playback.jsonl")


async def test_continue_in_dialplan_hands_the_channel_back_and_ends_stasis(bed: Bed) -> None:
    async with asyncio.timeout(20):
        control = await bed.originate("Local/silent@ccapp-test")
        await control.set_variable("CCAPP_TEST_MARK", "seen")
        assert await bed.client.channels.get_var(control.channel_id, "CCAPP_TEST_MARK") == "seen"
        assert control.channel_id in await bed.app.live_channel_ids()
        await control.continue_in_dialplan("ccapp-test", "giveup", 1)
        await bed.wait_for(lambda e: isinstance(e, StasisEnd) and e.channel_id == control.channel_id)
        # StasisEnd comes before the channel runs the dialplan; an originated channel stays
        # subscribed after Stasis, so its ChannelDialplan events (not modelled) still arrive
        await bed.wait_for(
            lambda e: (
                isinstance(e, UnknownEvent)
                and e.type == "ChannelDialplan"
                and e.channel_id == control.channel_id
                and e.raw["channel"]["dialplan"]["exten"] == "giveup"
            )
        )
        channel = await bed.client.channels.get(control.channel_id)
        assert (channel.context, channel.exten) == ("ccapp-test", "giveup")
        assert control.channel_id not in await bed.app.live_channel_ids()
        with pytest.raises(CallGone):
            await control.answer()
        await bed.client.channels.hangup(control.channel_id, "normal")
        await bed.wait_for(lambda e: isinstance(e, ChannelDestroyed) and e.channel_id == control.channel_id)
    _record(bed, "events-local-continue.jsonl")


async def test_caller_hanging_up_while_ccapp_waits_for_digits_raises_call_gone(bed: Bed) -> None:
    async with asyncio.timeout(20):
        control = await bed.originate("Local/giveup@ccapp-test")
        with pytest.raises(CallGone):
            await control.collect_digits(max_digits=4, first_timeout=15)
        with pytest.raises(CallGone):
            await control.say_digits("1")
        await bed.wait_for(lambda e: isinstance(e, ChannelDestroyed) and e.channel_id == control.channel_id)
        with pytest.raises(CallGone):  # the client maps 404 on a channel to CallGone
            await bed.client.channels.answer(control.channel_id)


async def test_bridge_recording_and_moh_operations_work_on_a_live_channel(bed: Bed) -> None:
    async with asyncio.timeout(30):
        control = await bed.originate("Local/silent@ccapp-test")
        cid = control.channel_id
        await bed.client.channels.moh_start(cid)
        await bed.client.channels.moh_stop(cid)
        await bed.client.channels.mute(cid, "in")
        await bed.client.channels.unmute(cid, "in")
        bridge = await bed.client.bridges.create("mixing", name="it")
        try:
            await bed.client.bridges.add_channel(bridge.id, cid)
            assert (await bed.client.bridges.get(bridge.id)).channels == (cid,)
            name = f"it-{uuid.uuid4().hex[:8]}"
            recording = await bed.client.bridges.record(bridge.id, name, format="wav", max_duration_s=5)
            assert recording.name == name
            # a recording can be paused once it is in session (under load that takes a moment)
            await bed.wait_for(lambda e: e.type == "RecordingStarted")
            await bed.client.recordings.pause(name)
            await bed.client.recordings.unpause(name)
            await bed.client.recordings.stop(name)
            await bed.wait_for(lambda e: e.type == "RecordingFinished")
            audio = await bed.client.recordings.stored_file(name)
            assert audio[:4] == b"RIFF"
            await bed.client.recordings.stored_delete(name)
            await bed.client.bridges.remove_channel(bridge.id, cid)
        finally:
            await bed.client.bridges.destroy(bridge.id)
        await control.hangup()


def test_every_rest_path_the_client_uses_exists_in_the_ari_description(asterisk: None) -> None:
    described: dict[tuple[str, str], set[str]] = {}
    files = glob.glob(str(testbed.sandbox_root() / "usr/share/asterisk/rest-api/*.json"))
    assert files, "the test bed ships no ARI description"
    for path in files:
        doc = json.loads(Path(path).read_text())
        for api in doc.get("apis", []):
            for op in api.get("operations", []):
                params = {p["name"] for p in op.get("parameters", [])}
                described[(op["httpMethod"], api["path"])] = params
    missing = []
    for endpoint in USED_ENDPOINTS:
        params = described.get((endpoint.method, endpoint.path))
        if params is None:
            missing.append(f"{endpoint.method} {endpoint.path}")
            continue
        for name in (*endpoint.path_params, *endpoint.query, *endpoint.body):
            if name not in params:
                missing.append(f"{endpoint.method} {endpoint.path} ?{name}")
    assert missing == []
