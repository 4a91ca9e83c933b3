"""Callers that speak: phrases rendered by espeak-ng into the test bed's sounds, played by the far end
of a Local channel (``Local/<number>@ccapp-test-speech`` in asterisk-conf/extensions.conf plays
silence/1, then the phrase, then silence)."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path


def write_phrase(sounds: Path, text: str, *, voice: str = "en-us", speed: int = 150) -> str:
    """Render ``text`` as an 8 kHz 16-bit WAV at ``<sounds>/ccapp/test/<number>.wav``; return the
    number (the extension of ``[ccapp-test-speech]`` that plays it)."""
    number = str(random.randrange(10**7, 10**8))
    target = sounds / "ccapp" / "test" / f"{number}.wav"
    target.parent.mkdir(parents=True, exist_ok=True)
    spoken = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], check=True, capture_output=True
    )
    subprocess.run(
        ["sox", "-t", "wav", "-", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(target)],
        input=spoken.stdout,
        check=True,
        capture_output=True,
    )
    return number
