"""Tiny pure PCM helpers: resampling telephone audio, G.711 A-law/µ-law, levels.

The standard library's ``audioop`` is deprecated (and gone in 3.13), and numpy would be a heavy
dependency for a few thousand samples per utterance, so these are written out with `array`.
All PCM here is 16-bit signed mono in the machine's byte order (little-endian on x86/ARM).
"""

from __future__ import annotations

import math
import operator
import random
import sys
from array import array


def samples(pcm: bytes) -> array[int]:
    """``pcm`` (16-bit little-endian) as an array of ints."""
    out = array("h")
    out.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        out.byteswap()
    return out


def to_bytes(values: array[int]) -> bytes:
    if sys.byteorder == "big":
        values = array("h", values)
        values.byteswap()
    return values.tobytes()


def swap16(pcm: bytes) -> bytes:
    """Swap the byte order of 16-bit samples (RTP's L16 is big-endian)."""
    out = array("h")
    out.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    out.byteswap()
    return out.tobytes()


def upsample_2x(pcm: bytes) -> bytes:
    """8 kHz → 16 kHz by linear interpolation.

    The acoustic model is trained on 16 kHz audio; pocketsphinx refuses 8 kHz with that model's
    filter bank (its upper mel filter sits at 6.8 kHz), so telephone audio is upsampled. The empty
    band above 4 kHz costs some accuracy but far less than a mismatched filter bank."""
    x = samples(pcm)
    n = len(x)
    out = array("h", bytes(4 * n))
    for i in range(n - 1):
        a = x[i]
        out[2 * i] = a
        out[2 * i + 1] = (a + x[i + 1]) >> 1
    if n:
        out[2 * n - 2] = out[2 * n - 1] = x[n - 1]
    return to_bytes(out)


_NOISE = array("h", random.Random(20261126).choices((-2, -1, 0, 1, 2), k=4096))


def dither(pcm: bytes) -> bytes:
    """Add ±2 LSB of fixed pseudo-random noise.

    Stretches of exact digital silence (a TTS file, Asterisk's silence frames) give the front end
    log(0) energies that throw its cepstral mean off; pocketsphinx's own ``dither`` fixes that but
    draws fresh random numbers, so the same audio could be recognised differently twice. This
    noise repeats, so recognition is reproducible."""
    x = samples(pcm)
    noise = _NOISE * (len(x) // len(_NOISE) + 1)
    try:
        out = array("h", map(operator.add, x, noise))
    except OverflowError:  # a sample at full scale: clip the slow way
        out = array("h", (max(-32768, min(32767, a + b)) for a, b in zip(x, noise, strict=False)))
    return to_bytes(out)


def rms(values: array[int] | list[int]) -> float:
    """Root mean square of samples (0 for none)."""
    if not values:
        return 0.0
    return math.sqrt(sum(v * v for v in values) / len(values))


def dbfs(level: float) -> float:
    """A 16-bit RMS level in dB relative to full scale (-inf → -120)."""
    return 20 * math.log10(level / 32768) if level > 0 else -120.0


# --------------------------------------------------------------------------------------- G.711
def _alaw_decode_byte(a: int) -> int:
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


def _ulaw_decode_byte(u: int) -> int:
    u = ~u & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return (0x84 - t) if u & 0x80 else (t - 0x84)


_ALAW = [_alaw_decode_byte(i) for i in range(256)]
_ULAW = [_ulaw_decode_byte(i) for i in range(256)]


def _alaw_encode_sample(pcm: int) -> int:
    pcm >>= 3  # 13 bits, as G.711 defines it
    mask = 0xD5
    if pcm < 0:
        mask = 0x55
        pcm = -pcm - 1
    seg = 0
    for end in (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF):
        if pcm <= end:
            break
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (pcm >> 1) & 0x0F if seg < 2 else (pcm >> seg) & 0x0F
    return aval ^ mask


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law bytes → 16-bit PCM."""
    return to_bytes(array("h", (_ALAW[b] for b in data)))


def ulaw_decode(data: bytes) -> bytes:
    """G.711 µ-law bytes → 16-bit PCM."""
    return to_bytes(array("h", (_ULAW[b] for b in data)))


def alaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM → G.711 A-law (for simulating the telephone network in tests and benchmarks)."""
    return bytes(_alaw_encode_sample(v) for v in samples(pcm))


def trim_silence(
    pcm: bytes, sample_rate: int, *, frame_ms: int = 20, below_peak_db: float = 45.0, margin_ms: int = 400
) -> bytes:
    """Cut leading and trailing frames more than ``below_peak_db`` under the loudest frame, keeping
    ``margin_ms`` of them on each side.

    An utterance from the VAD ends with its end-of-speech silence (0.8 s by default); a grammar
    decode over that much near-silence can fail to end in a phrase at all (measured: "support"
    with 0.8 s of trailing silence gave no hypothesis, trimmed it scored 0.99). On the benchmark's
    75 phrases framed like the VAD frames them (0.3 s before, 0.8 s after), recognition went from
    25 to 63 right with 45 dB / 300 ms; 35 dB / 150 ms cut soft consonants (56), 60 dB kept too
    much silence (57). Live "account balance" tapped from a channel failed 1 time in 4 with 300 ms
    margins (the grammar path gave up after "account"); 400 ms margins recognise those recordings and
    keep the benchmark at 61/75 right, 0/21 false accepts (500 ms: 57/75).
    """
    values = samples(pcm)
    step = sample_rate * frame_ms // 1000
    if step <= 0 or len(values) < step:
        return pcm
    levels = [rms(values[i : i + step]) for i in range(0, len(values) - step + 1, step)]
    peak = max(levels)
    if peak <= 0:
        return pcm
    floor = peak * 10 ** (-below_peak_db / 20)
    loud = [i for i, level in enumerate(levels) if level >= floor]
    margin = margin_ms // frame_ms
    first = max(0, loud[0] - margin)
    last = min(len(levels), loud[-1] + 1 + margin)
    return to_bytes(values[first * step : last * step])
