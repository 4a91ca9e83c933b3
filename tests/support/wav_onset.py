"""When audio starts in a recording: the end-to-end tests' clock for "what did the called party hear,
and when".

The test PSTN ([ccapp-test-pstn] in asterisk-conf/extensions.conf) records what a called party hears
from its answer on, so "the abandon message started 1.4 s after the answer" is the onset of sound
in that file. Pure Python (no numpy): 16-bit PCM WAV, as Asterisk's ``wav`` format writes it.
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from pathlib import Path

#: AMD's and Asterisk's default silence threshold (average absolute level, 0-32767)
DEFAULT_THRESHOLD = 256.0


def read_samples(path: str | Path) -> tuple[array[int], int]:
    """The samples of a 16-bit PCM WAV (first channel only) and its sample rate."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * wav.getsampwidth()}-bit samples, only 16-bit PCM is read")
        channels, rate = wav.getnchannels(), wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    samples = array("h")
    samples.frombytes(frames)
    if sys.byteorder == "big":  # WAV is little-endian
        samples.byteswap()
    return (samples[::channels] if channels > 1 else samples), rate


def levels(samples: array[int], rate: int, window_s: float = 0.02) -> list[float]:
    """RMS level of each ``window_s`` window (the last, partial one included)."""
    size = max(1, round(rate * window_s))
    out = []
    for start in range(0, len(samples), size):
        chunk = samples[start : start + size]
        out.append(math.sqrt(sum(s * s for s in chunk) / len(chunk)))
    return out


def onset_s(
    path: str | Path,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    after_s: float = 0.0,
    window_s: float = 0.02,
    min_sound_s: float = 0.06,
) -> float | None:
    """Seconds from the start of the file to the first sound at or after ``after_s``, or ``None``.

    Sound is ``min_sound_s`` of consecutive ``window_s`` windows whose RMS reaches ``threshold``, so
    a click or a lone noisy frame does not count; the onset is the start of the first such window.
    """
    samples, rate = read_samples(path)
    return onset_in(samples, rate, threshold, after_s=after_s, window_s=window_s, min_sound_s=min_sound_s)


def onset_in(
    samples: array[int],
    rate: int,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    after_s: float = 0.0,
    window_s: float = 0.02,
    min_sound_s: float = 0.06,
) -> float | None:
    """`onset_s` on samples already in memory."""
    needed = max(1, math.ceil(min_sound_s / window_s - 1e-9))
    first = math.ceil(after_s / window_s - 1e-9)
    run = 0
    for index, level in enumerate(levels(samples, rate, window_s)[first:], start=first):
        run = run + 1 if level >= threshold else 0
        if run == needed:
            return round((index - needed + 1) * window_s, 6)
    return None


def duration_s(path: str | Path) -> float:
    """Length of a WAV file in seconds."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())
