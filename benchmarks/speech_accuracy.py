"""Accuracy, false accepts and latency of `PocketsphinxRecognizer` on telephone-quality speech.

Utterances are synthesised with espeak-ng in several voices and speeds, resampled to 8 kHz by sox
and passed through G.711 A-law and back (what a PSTN call does to them), then recognised against
one grammar. Nonsense sentences and noise (pink-noise bursts, "coughs") must come back as None.

    .venv/bin/python benchmarks/speech_accuracy.py [--verbose] [--reject-below 0.2]

Needs espeak-ng and sox on PATH (scripts/bootstrap installs them).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccapp.speech.audio import alaw_decode, alaw_encode
from ccapp.speech.pocketsphinx import DEFAULT_REJECT_BELOW, PocketsphinxRecognizer

PHRASES = ["sales", "support", "billing", "account balance", "speak to an agent"]
VOICES = ["en-us", "en", "en+f3", "en+m7", "en-us+f4"]
SPEEDS = [130, 165, 200]
NONSENSE = [
    "purple monkey dishwasher",
    "what time is it",
    "I would like a large pizza",
    "the weather is nice today",
    "hello is anybody there",
    "banana",
]
NOISES = {
    "pink noise": ["synth", "0.8", "pinknoise", "vol", "0.3"],
    "cough": ["synth", "0.35", "brownnoise", "vol", "0.8", "fade", "q", "0.02", "0.35", "0.25"],
    "hum": ["synth", "1.0", "sine", "120", "vol", "0.2"],
}


#: what the VAD hands the recognizer around speech: its 0.3 s pre-roll and 0.8 s end-of-speech silence
PRE_ROLL = b"\0\0" * 2400
END_SILENCE = b"\0\0" * 6400


def telephone(pcm16_8k: bytes) -> bytes:
    """A-law encode and decode (the quantisation a PSTN leg adds), framed like a VAD utterance."""
    return alaw_decode(alaw_encode(PRE_ROLL + pcm16_8k + END_SILENCE))


def say(text: str, voice: str, speed: int) -> bytes:
    espeak = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], check=True, capture_output=True
    )
    return to_8k(espeak.stdout, "wav")


def to_8k(data: bytes, kind: str, *effect: str) -> bytes:
    sox = subprocess.run(
        [
            "sox",
            "-t",
            kind,
            "-",
            "-t",
            "raw",
            "-r",
            "8000",
            "-e",
            "signed",
            "-b",
            "16",
            "-c",
            "1",
            "-",
            *effect,
        ],
        input=data,
        check=True,
        capture_output=True,
    )
    return sox.stdout


def noise(effect: list[str]) -> bytes:
    sox = subprocess.run(
        ["sox", "-n", "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", "-", *effect],
        check=True,
        capture_output=True,
    )
    return sox.stdout


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="one line per utterance")
    parser.add_argument("--reject-below", type=float, default=DEFAULT_REJECT_BELOW)
    parser.add_argument(
        "--option", action="append", default=[], metavar="NAME=VALUE", help="a pocketsphinx setting"
    )
    args = parser.parse_args()
    options = {k: _number(v) for k, _, v in (o.partition("=") for o in args.option)}
    recognizer = PocketsphinxRecognizer(reject_below=args.reject_below, options=options or None)
    recognizer.recognize(b"\0" * 16000, 8000, PHRASES)  # load the model outside the timings

    cases: list[tuple[str, str | None, bytes]] = []
    for phrase, voice, speed in itertools.product(PHRASES, VOICES, SPEEDS):
        cases.append((f"{phrase!r} {voice} {speed}", phrase, telephone(say(phrase, voice, speed))))
    for text, voice in itertools.product(NONSENSE, VOICES[:3]):
        cases.append((f"{text!r} {voice} 165", None, telephone(say(text, voice, 165))))
    for name, effect in NOISES.items():
        cases.append((name, None, telephone(noise(effect))))

    correct = in_grammar = false_accepts = out_of_grammar = 0
    latencies: list[float] = []
    for label, truth, pcm in cases:
        started = time.perf_counter()
        result = recognizer.recognize(pcm, 8000, PHRASES)
        latencies.append(time.perf_counter() - started)
        if truth is None:
            out_of_grammar += 1
            false_accepts += result.phrase is not None
        else:
            in_grammar += 1
            correct += result.phrase == truth
        if args.verbose:
            mark = "" if result.phrase == truth else "   <-- wrong"
            print(f"{label:45s} {result.phrase!s:20s} conf={result.confidence:.3f}{mark}")
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(f"grammar: {PHRASES}; reject_below={args.reject_below}; options={options}")
    print(f"accuracy:      {correct}/{in_grammar} = {correct / in_grammar:.1%} (in-grammar utterances)")
    print(
        f"false accepts: {false_accepts}/{out_of_grammar} = {false_accepts / out_of_grammar:.1%} "
        "(nonsense and noise)"
    )
    print(
        f"latency:       p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms over {len(latencies)} utterances"
    )


if __name__ == "__main__":
    main()
