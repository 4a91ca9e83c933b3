"""AmiCallRecorder and RecordingStore against the real Asterisk 22: MixMonitor over AMI writes a
WAV as long as the call, a mute makes a silent gap of the same length at the same place, and the
store collects the finished file (shared file system or ARI).

MixMonitor writes only while frames flow on the channel, so the recorded channel hears music on
hold in both directions for the whole test (``Local/talk30@ccapp-test`` plays it to the ``;1``
half, which plays it back): like a real call, where RTP flows both ways.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import math
import stat
import time
import uuid
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ccapp.errors import CallGone, TelephonyError
from ccapp.recording.store import RecordingStore
from ccapp.telephony.ami import AmiClient
from ccapp.telephony.ami.recorder import AmiCallRecorder
from ccapp.telephony.ari.client import AriClient
from tests.support import testbed

pytestmark = pytest.mark.asterisk

ASTERISK_DIR = "/var/spool/asterisk/recording"
WINDOW_S = 0.1
#: RMS (16-bit) at or under which a 100 ms window counts as muted: MixMonitorMute writes zeros,
#: while the quietest music-on-hold passages stay above 5
SILENT_RMS = 1.0
LOUD_RMS = 50.0


@pytest.fixture
async def ami(asterisk: None) -> AsyncIterator[AmiClient]:
    client = AmiClient(testbed.AMI_HOST, testbed.AMI_PORT, testbed.AMI_USER, testbed.AMI_PASSWORD)
    await client.connect()
    yield client
    await client.close()


@pytest.fixture
async def talking(ami: AmiClient) -> AsyncIterator[str]:
    """A channel with music on hold flowing both ways for 30 s; hung up afterwards."""
    originate = await ami.originate(
        "Local/talk30@ccapp-test", application="MusicOnHold", data="default,30", timeout_s=10
    )
    outcome = await originate.wait(15)
    assert outcome["Response"] == "Success"
    channel = outcome["Channel"]
    yield channel
    with contextlib.suppress(TelephonyError):  # already gone: the test hung it up
        await ami.action("Hangup", {"Channel": channel})


@dataclass
class Audio:
    duration_s: float
    rms: list[float]  # one per 100 ms window

    def longest_silence(self) -> tuple[float, float]:
        """(start, length) in seconds of the longest run of muted windows."""
        best = (0, 0)
        start = None
        for i, value in enumerate([*self.rms, LOUD_RMS + 1]):
            if value <= SILENT_RMS:
                start = i if start is None else start
            elif start is not None:
                best = max(best, (i - start, start), key=lambda run: run[0])
                start = None
        length, first = best
        return first * WINDOW_S, length * WINDOW_S

    def loud_between(self, start_s: float, end_s: float) -> int:
        first, last = round(start_s / WINDOW_S), round(end_s / WINDOW_S)
        return sum(1 for value in self.rms[first:last] if value > LOUD_RMS)


def read_wav(path: Path) -> Audio:
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        samples = array.array("h", wav.readframes(wav.getnframes()))
        rate = wav.getframerate()
    window = int(rate * WINDOW_S)
    rms = [
        math.sqrt(sum(s * s for s in samples[i : i + window]) / window)
        for i in range(0, len(samples) - window + 1, window)
    ]
    return Audio(duration_s=len(samples) / rate, rms=rms)


def shared_store(tmp_path: Path) -> RecordingStore:
    return RecordingStore(tmp_path / "store", ASTERISK_DIR, "shared", asterisk_root=testbed.sandbox_root())


async def test_a_recording_lasts_as_long_as_the_call_with_a_gap_where_it_was_muted(
    ami: AmiClient, talking: str, tmp_path: Path
) -> None:
    recorder = AmiCallRecorder(ami, ASTERISK_DIR)
    call_id = uuid.uuid4().hex
    await recorder.start(talking, f"ccapp/{call_id}")
    started = time.monotonic()
    await asyncio.sleep(2.0)
    await recorder.mute(talking, True)
    muted_at = time.monotonic() - started
    await asyncio.sleep(2.0)
    await recorder.mute(talking, False)
    unmuted_at = time.monotonic() - started
    await asyncio.sleep(2.0)
    await recorder.stop(talking)
    wall_s = time.monotonic() - started

    store = shared_store(tmp_path)
    path, size = await store.collect(call_id, f"ccapp/{call_id}")
    audio = read_wav(path)
    gap_at, gap_s = audio.longest_silence()
    print(
        f"\nrecording {audio.duration_s:.3f} s for {wall_s:.3f} s wall; "
        f"muted {muted_at:.3f}-{unmuted_at:.3f} s, "
        f"silent gap {gap_at:.1f}-{gap_at + gap_s:.1f} s ({gap_s:.1f} s); {size} bytes"
    )
    assert abs(audio.duration_s - wall_s) <= 0.5
    assert abs(gap_s - (unmuted_at - muted_at)) <= 0.3
    assert abs(gap_at - muted_at) <= 0.3
    assert audio.loud_between(0.0, gap_at) >= 5  # music before the mute…
    assert audio.loud_between(gap_at + gap_s, audio.duration_s) >= 5  # …and after it
    assert size == path.stat().st_size
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not store.asterisk_path(f"ccapp/{call_id}").exists()  # moved, not copied


async def test_a_hang_up_ends_the_recording_and_the_store_waits_for_the_finished_file(
    ami: AmiClient, talking: str, tmp_path: Path
) -> None:
    recorder = AmiCallRecorder(ami, ASTERISK_DIR)
    call_id = uuid.uuid4().hex
    await recorder.start(talking, f"ccapp/{call_id}")
    started = time.monotonic()
    await asyncio.sleep(1.5)
    await ami.action("Hangup", {"Channel": talking})
    wall_s = time.monotonic() - started
    path, _ = await shared_store(tmp_path).collect(call_id, f"ccapp/{call_id}")
    audio = read_wav(path)
    print(f"\nrecording ended by hang-up: {audio.duration_s:.3f} s for {wall_s:.3f} s wall")
    assert abs(audio.duration_s - wall_s) <= 0.5
    with pytest.raises(CallGone):
        await recorder.stop(talking)  # its recording ended with it


async def test_over_ari_the_store_fetches_the_stored_recording_and_deletes_it(
    ami: AmiClient, talking: str, tmp_path: Path
) -> None:
    recorder = AmiCallRecorder(ami, ASTERISK_DIR)
    call_id = uuid.uuid4().hex
    name = f"ccapp/{call_id}"
    await recorder.start(talking, name)
    await asyncio.sleep(1.0)
    await recorder.stop(talking)
    async with AriClient(testbed.ARI_URL, testbed.ARI_USER, testbed.ARI_PASSWORD, "ccapp-test") as ari:
        store = RecordingStore(tmp_path / "store", ASTERISK_DIR, "ari", ari.recordings)
        path, size = await store.collect(call_id, name)
        assert name not in await ari.recordings.stored_list()
    audio = read_wav(path)
    assert 0.5 <= audio.duration_s <= 1.5
    assert size == path.stat().st_size
    assert not shared_store(tmp_path).asterisk_path(name).exists()


async def test_recording_a_channel_that_is_gone_is_call_gone(ami: AmiClient) -> None:
    recorder = AmiCallRecorder(ami, ASTERISK_DIR)
    with pytest.raises(CallGone):
        await recorder.start("Local/nobody@ccapp-test-00000000;1", f"ccapp/{uuid.uuid4().hex}")
