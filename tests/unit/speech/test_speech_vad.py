"""The energy VAD on synthetic audio: tones for speech, digital or low-level noise for silence."""

from __future__ import annotations

import math
import random
from array import array

from ccapp.speech.audio import to_bytes
from ccapp.speech.vad import EnergyVad, VadEvent, VadSettings

RATE = 8000


def tone(seconds: float, dbfs: float = -20.0, hz: float = 300.0) -> bytes:
    amplitude = 32767 * 10 ** (dbfs / 20) * math.sqrt(2)
    n = int(seconds * RATE)
    return to_bytes(array("h", (int(amplitude * math.sin(2 * math.pi * hz * i / RATE)) for i in range(n))))


def noise(seconds: float, dbfs: float) -> bytes:
    rng = random.Random(1)
    sigma = 32767 * 10 ** (dbfs / 20)
    n = int(seconds * RATE)
    return to_bytes(array("h", (max(-32768, min(32767, int(rng.gauss(0, sigma)))) for _ in range(n))))


def silence(seconds: float) -> bytes:
    return bytes(2 * int(seconds * RATE))


def feed_all(vad: EnergyVad, pcm: bytes, chunk: int = 320) -> list[VadEvent]:
    events: list[VadEvent] = []
    for i in range(0, len(pcm), chunk):
        events += vad.feed(pcm[i : i + chunk])
    return events


def test_speech_between_silences_starts_and_ends_with_pre_roll_and_trailing_silence() -> None:
    vad = EnergyVad(VadSettings(end_silence=0.5))
    events = feed_all(vad, silence(1.0) + tone(0.6) + silence(1.0))
    assert events == [VadEvent.SPEECH_STARTED, VadEvent.SPEECH_ENDED]
    seconds = len(vad.utterance()) / (2 * RATE)
    # 0.3 s pre-roll + 0.6 s speech + 0.5 s end silence, to the frame
    assert abs(seconds - 1.4) < 0.05


def test_chunk_size_does_not_change_the_result() -> None:
    pcm = noise(0.5, -70) + tone(0.4) + silence(1.0)
    results = set()
    for chunk in (37, 160, 320, 4001):
        vad = EnergyVad()
        events = feed_all(vad, pcm, chunk)
        results.add((tuple(events), vad.utterance()))
    assert len(results) == 1


def test_a_click_shorter_than_the_onset_is_not_speech() -> None:
    vad = EnergyVad()
    assert feed_all(vad, silence(0.5) + tone(0.04, -6) + silence(1.0)) == []
    assert not vad.started
    assert vad.utterance() == b""


def test_quiet_line_noise_never_starts_speech_and_raises_the_floor_little() -> None:
    vad = EnergyVad()
    assert feed_all(vad, noise(3.0, -60)) == []
    assert -70 < vad.noise_db < -55


def test_speech_over_line_noise_is_found() -> None:
    vad = EnergyVad()
    events = feed_all(vad, noise(1.0, -60) + tone(0.5, -25) + noise(1.5, -60))
    assert events == [VadEvent.SPEECH_STARTED, VadEvent.SPEECH_ENDED]


def test_a_pause_shorter_than_end_silence_keeps_one_utterance() -> None:
    vad = EnergyVad(VadSettings(end_silence=0.8))
    events = feed_all(vad, tone(0.4) + silence(0.5) + tone(0.4) + silence(1.0))
    assert events == [VadEvent.SPEECH_STARTED, VadEvent.SPEECH_ENDED]
    assert len(vad.utterance()) / (2 * RATE) > 1.5


def test_speech_is_cut_at_max_speech_and_nothing_is_reported_after() -> None:
    vad = EnergyVad(VadSettings(max_speech=1.0))
    events = feed_all(vad, tone(3.0))
    assert events == [VadEvent.SPEECH_STARTED, VadEvent.MAX_SPEECH]
    assert vad.finished is VadEvent.MAX_SPEECH
    assert vad.feed(tone(1.0)) == []
    assert abs(len(vad.utterance()) / (2 * RATE) - 1.0) < 0.15


def test_16khz_frames_are_sized_for_the_rate() -> None:
    vad = EnergyVad(VadSettings(sample_rate=16000, end_silence=0.4))
    pcm16 = to_bytes(array("h", (int(8000 * math.sin(2 * math.pi * 300 * i / 16000)) for i in range(8000))))
    events = vad.feed(bytes(16000) + pcm16 + bytes(32000))
    assert events == [VadEvent.SPEECH_STARTED, VadEvent.SPEECH_ENDED]
