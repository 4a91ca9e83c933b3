"""The recording onset finder (tests/support/wav_onset.py) the dialer's end-to-end tests time with."""

from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path

import pytest

from tests.support.wav_onset import duration_s, onset_in, onset_s

RATE = 8000


def silence(seconds: float) -> list[int]:
    return [0] * round(RATE * seconds)


def tone(seconds: float, amplitude: int = 8000, hz: float = 440.0) -> list[int]:
    return [round(amplitude * math.sin(2 * math.pi * hz * n / RATE)) for n in range(round(RATE * seconds))]


def write_wav(path: Path, samples: list[int], channels: int = 1) -> Path:
    data = array("h", [s for s in samples for _ in range(channels)])
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(data.tobytes())
    return path


def test_the_onset_is_where_the_sound_starts(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", silence(1.3) + tone(0.5) + silence(0.2))
    assert onset_s(path) == pytest.approx(1.3, abs=0.02)
    assert duration_s(path) == pytest.approx(2.0)


def test_silence_alone_has_no_onset(tmp_path: Path) -> None:
    assert onset_s(write_wav(tmp_path / "s.wav", silence(2.0))) is None


def test_a_click_shorter_than_the_minimum_sound_is_not_an_onset() -> None:
    samples = array("h", silence(0.5) + tone(0.02) + silence(0.5) + tone(0.3))
    assert onset_in(samples, RATE) == pytest.approx(1.02, abs=0.02)


def test_sound_before_the_offset_is_skipped() -> None:
    samples = array("h", tone(0.4) + silence(0.6) + tone(0.4))
    assert onset_in(samples, RATE) == 0.0
    assert onset_in(samples, RATE, after_s=0.5) == pytest.approx(1.0, abs=0.02)


def test_sound_quieter_than_the_threshold_is_silence() -> None:
    samples = array("h", silence(0.5) + tone(0.5, amplitude=200))
    assert onset_in(samples, RATE) is None
    assert onset_in(samples, RATE, threshold=100) == pytest.approx(0.5, abs=0.02)


def test_a_stereo_file_is_read_by_its_first_channel(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "st.wav", silence(0.7) + tone(0.3), channels=2)
    assert onset_s(path) == pytest.approx(0.7, abs=0.02)


def test_8_bit_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "8.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(RATE)
        wav.writeframes(bytes(80))
    with pytest.raises(ValueError, match="16-bit"):
        onset_s(path)
