"""PCM helpers: G.711, resampling, dither."""

from __future__ import annotations

from array import array

from ccapp.speech.audio import alaw_decode, alaw_encode, dither, samples, to_bytes, ulaw_decode, upsample_2x


def pcm(*values: int) -> bytes:
    return to_bytes(array("h", values))


def test_alaw_round_trip_keeps_samples_within_its_quantisation_step() -> None:
    values = [0, 7, -7, 100, -100, 1000, -1000, 12000, -12000, 32767, -32768]
    back = samples(alaw_decode(alaw_encode(pcm(*values))))
    for original, decoded in zip(values, back, strict=True):
        assert abs(original - decoded) <= max(16, abs(original) // 16)


def test_g711_silence_codes_decode_near_zero() -> None:
    assert list(samples(alaw_decode(b"\xd5\x55"))) == [8, -8]
    assert list(samples(ulaw_decode(b"\xff\x7f"))) == [0, 0]


def test_upsampling_doubles_the_samples_and_interpolates() -> None:
    assert list(samples(upsample_2x(pcm(0, 100, 200)))) == [0, 50, 100, 150, 200, 200]
    assert upsample_2x(b"") == b""


def test_dither_is_small_and_the_same_every_time() -> None:
    audio = pcm(*([0] * 5000 + [32767, -32768]))
    once, twice = dither(audio), dither(audio)
    assert once == twice
    out = samples(once)
    assert max(abs(v) for v in out[:5000]) <= 2
    assert any(out[:5000])
    assert out[5000] >= 32765 and out[5001] <= -32766
