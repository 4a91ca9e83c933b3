"""An energy voice-activity detector that cuts one utterance out of a stream of PCM.

Pure: it counts time in samples fed, never on a clock, so tests drive it with synthetic audio and
get the same answer every time. Frames of 20 ms are voiced when their level is ``margin_db``
above the running noise floor (and above ``min_db``); speech starts after ``onset_ms`` of voiced
frames (a click or a key's thump is shorter), ends after ``end_silence`` of unvoiced frames, or
is cut at ``max_speech``. ``pre_roll_ms`` of audio before the onset is kept, because the first
consonant is quieter than the vowel that triggers the detector.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ccapp.speech.audio import dbfs, rms, samples


class VadEvent(enum.Enum):
    SPEECH_STARTED = "speech_started"
    #: the utterance is complete (end-of-speech silence)
    SPEECH_ENDED = "speech_ended"
    #: the utterance is complete because it reached ``max_speech``
    MAX_SPEECH = "max_speech"


@dataclass(frozen=True, slots=True)
class VadSettings:
    sample_rate: int = 8000
    end_silence: float = 0.8
    max_speech: float = 10.0
    frame_ms: int = 20
    onset_ms: int = 100
    pre_roll_ms: int = 300
    #: a frame must be this loud (dBFS) to count as voice, whatever the noise floor
    min_db: float = -45.0
    #: and this far above the noise floor
    margin_db: float = 12.0
    #: the noise floor before any frame was heard
    initial_noise_db: float = -65.0


class EnergyVad:
    """Feed PCM with `feed`; read the utterance with `utterance` once it reports the end."""

    def __init__(self, settings: VadSettings | None = None) -> None:
        self.settings = s = settings or VadSettings()
        self._frame_bytes = 2 * s.sample_rate * s.frame_ms // 1000
        self._onset_frames = max(1, s.onset_ms // s.frame_ms)
        self._end_frames = max(1, round(s.end_silence * 1000 / s.frame_ms))
        self._max_frames = max(1, round(s.max_speech * 1000 / s.frame_ms))
        self._pre_roll_frames = s.pre_roll_ms // s.frame_ms
        self._pending = b""
        self._frames: list[bytes] = []  # before the onset: the last few; after: the utterance
        self._voiced_run = 0
        self._silent_run = 0
        self._speech_frames = 0
        self.noise_db = s.initial_noise_db
        self.started = False
        self.finished: VadEvent | None = None

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Take more audio; return what happened in it (nothing more once finished)."""
        events: list[VadEvent] = []
        if self.finished is not None:
            return events
        data = self._pending + pcm
        size = self._frame_bytes
        whole = len(data) - len(data) % size
        self._pending = data[whole:]
        for offset in range(0, whole, size):
            event = self._frame(data[offset : offset + size])
            if event is not None:
                events.append(event)
                if event is not VadEvent.SPEECH_STARTED:
                    break
        return events

    def utterance(self) -> bytes:
        """The speech heard so far (with pre-roll), trailing silence included up to the end."""
        return b"".join(self._frames) if self.started else b""

    def _frame(self, frame: bytes) -> VadEvent | None:
        s = self.settings
        level = dbfs(rms(samples(frame)))
        voiced = level >= max(s.min_db, self.noise_db + s.margin_db)
        if not voiced:
            # the floor follows quiet frames quickly down and slowly up
            rate = 0.3 if level < self.noise_db else 0.02
            self.noise_db += rate * (level - self.noise_db)
        self._frames.append(frame)
        if not self.started:
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            keep = self._pre_roll_frames + self._onset_frames
            if len(self._frames) > keep:
                del self._frames[: len(self._frames) - keep]
            if self._voiced_run >= self._onset_frames:
                self.started = True
                self._speech_frames = self._voiced_run
                return VadEvent.SPEECH_STARTED
            return None
        self._speech_frames += 1
        self._silent_run = 0 if voiced else self._silent_run + 1
        if self._silent_run >= self._end_frames:
            self.finished = VadEvent.SPEECH_ENDED
        elif self._speech_frames >= self._max_frames:
            self.finished = VadEvent.MAX_SPEECH
        return self.finished
