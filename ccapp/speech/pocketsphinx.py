"""`PocketsphinxRecognizer`: the `Recognizer` port on pocketsphinx 5 with its bundled en-us model.

How a phrase is chosen, and why:

* The phrases become a JSGF grammar (``public <p> = sales | support | account balance;``). The
  FSG search must end in a final state, so it either returns one whole phrase or nothing (a partial
  path such as "speak to an" is discarded). That alone rejects most out-of-grammar speech.
* The same audio is then decoded with a free phone loop (``allphone``). A phone loop can follow
  any sound, so its path score is a reference: per frame, a grammar path that explains the audio
  scores close to it (or above, the grammar's language weight being higher), and a grammar path
  forced onto other words falls far below it. ``confidence`` is a logistic of that per-frame gap,
  calibrated on espeak-ng voices through an A-law channel (benchmarks/speech_accuracy.py), and
  phrases under ``reject_below`` become ``None``. The engine applies its own threshold on top.
* A "garbage" loop of common words competing inside the grammar was measured too: the en-us
  model recognises telephone-band synthetic speech so poorly ("sales" → "high he old") that any
  garbage weight strong enough to reject nonsense also rejected most good answers.

Decoders are not thread-safe, and the engine calls `recognize` through `asyncio.to_thread`, so the
recognizer keeps a pool of decoders; a decoder is lent to one thread at a time. Each decoder holds
the grammar searches of the phrase sets it has seen (bounded, least recently used dropped): a
search costs microseconds to add, a decoder (acoustic model) ~150 ms and ~40 MB.
"""

from __future__ import annotations

import hashlib
import math
import os
import queue
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pocketsphinx import Config, Decoder, get_model_path

from ccapp.ivr.ports import Recognition
from ccapp.speech.audio import dither, trim_silence, upsample_2x
from ccapp.speech.errors import SpeechError

#: the per-frame score gap (grammar − phone loop, in pocketsphinx log units) where confidence is 0.5
DEFAULT_CENTER = -4.0
#: how many log units per frame move the confidence from 0.5 to ~0.73
DEFAULT_SCALE = 3.0
#: the longest silence or filler (in 10 ms frames) the grammar path may put inside the trimmed
#: utterance (which keeps 0.4 s of margin each side). Measured on espeak voices framed like VAD
#: utterances: phrases leave at most 54 frames of silence around the word; out-of-grammar speech is
#: fitted as one short grammar word and 95-190 frames of "silence".
DEFAULT_MAX_FILLER_FRAMES = 60
#: below this confidence the recognizer answers ``phrase=None`` itself
DEFAULT_REJECT_BELOW = 0.1
#: pocketsphinx settings that differ from its defaults (see the module docstring)
DEFAULT_OPTIONS: dict[str, float | int | str | bool] = {}
_PHONES = "phones"
_WORD = re.compile(r"[a-z']+")


def normalize(phrase: str) -> tuple[str, ...]:
    """The dictionary words of ``phrase``: lower case, punctuation dropped."""
    return tuple(_WORD.findall(phrase.lower()))


@dataclass
class _Slot:
    decoder: Decoder
    #: search name → phrase words → the caller's phrase, least recently used first
    searches: OrderedDict[str, dict[tuple[str, ...], str]] = field(default_factory=OrderedDict)


class PocketsphinxRecognizer:
    """Grammar-constrained recognition of short phrases (see the module docstring).

    ``model_dir`` holds ``en-us/`` (acoustic model), ``cmudict-en-us.dict`` and
    ``en-us-phone.lm.bin``; by default the model shipped in the ``pocketsphinx`` wheel.
    """

    def __init__(
        self,
        *,
        model_dir: Path | None = None,
        reject_below: float = DEFAULT_REJECT_BELOW,
        max_filler_frames: int = DEFAULT_MAX_FILLER_FRAMES,
        center: float = DEFAULT_CENTER,
        scale: float = DEFAULT_SCALE,
        max_decoders: int = 4,
        max_grammars: int = 64,
        options: Mapping[str, float | int | str | bool] | None = None,
    ) -> None:
        base = Path(model_dir) if model_dir is not None else Path(get_model_path()) / "en-us"
        self._hmm = base / "en-us"
        self._dict = base / "cmudict-en-us.dict"
        self._phone_lm = base / "en-us-phone.lm.bin"
        for path in (self._hmm, self._dict, self._phone_lm):
            if not path.exists():
                raise SpeechError(f"pocketsphinx model file missing: {path}")
        self.reject_below = reject_below
        self.max_filler_frames = max_filler_frames
        self.center = center
        self.scale = scale
        self._options = {**DEFAULT_OPTIONS, **(options or {})}
        self._max_decoders = max_decoders
        self._max_grammars = max_grammars
        self._idle: queue.SimpleQueue[_Slot] = queue.SimpleQueue()
        self._created = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ public
    def recognize(self, audio: bytes, sample_rate: int, phrases: Sequence[str]) -> Recognition:
        """Pick the phrase ``audio`` (16-bit little-endian mono PCM, 8 or 16 kHz) says, or None."""
        started = time.perf_counter()
        pcm = self._to_16k(trim_silence(audio, sample_rate), sample_rate)
        grammar = self._grammar(phrases)
        if not grammar or len(pcm) < 3200:  # under 0.1 s: nothing to recognise
            return Recognition(None, 0.0, time.perf_counter() - started)
        slot = self._borrow()
        try:
            name = self._search_for(slot, grammar)
            words, grammar_score, frames = self._decode(slot.decoder, name, pcm)
            phrase = slot.searches[name].get(words) if words else None
            if phrase is None or frames == 0:
                return Recognition(None, 0.0, time.perf_counter() - started)
            if self._longest_filler(slot.decoder, words) > self.max_filler_frames:
                # the grammar could only fit the phrase by calling a long stretch of speech silence:
                # the caller said something else (or more)
                return Recognition(None, 0.0, time.perf_counter() - started)
            _, loop_score, _ = self._decode(slot.decoder, _PHONES, pcm)
        finally:
            self._idle.put(slot)
        gap = (grammar_score - loop_score) / frames
        confidence = 1.0 / (1.0 + math.exp(-(gap - self.center) / self.scale))
        latency = time.perf_counter() - started
        if confidence < self.reject_below:
            return Recognition(None, confidence, latency)
        return Recognition(phrase, confidence, latency)

    def warm_up(self) -> None:
        """Load one decoder now (~150 ms, blocking) so the first caller does not wait for it."""
        self._idle.put(self._borrow())

    def unknown_words(self, phrases: Sequence[str]) -> list[str]:
        """Words of ``phrases`` the pronunciation dictionary lacks (tree validation can report
        them: such a phrase can never be recognised)."""
        slot = self._borrow()
        try:
            words = {w for p in phrases for w in normalize(p)}
            return sorted(w for w in words if slot.decoder.lookup_word(w) is None)
        finally:
            self._idle.put(slot)

    # ------------------------------------------------------------------------------ internals
    @staticmethod
    def _to_16k(audio: bytes, sample_rate: int) -> bytes:
        if sample_rate == 16000:
            return dither(audio)
        if sample_rate == 8000:
            return dither(upsample_2x(audio))
        raise SpeechError(f"pocketsphinx: unsupported sample rate {sample_rate} (8000 or 16000)")

    @staticmethod
    def _grammar(phrases: Sequence[str]) -> dict[tuple[str, ...], str]:
        grammar: dict[tuple[str, ...], str] = {}
        for phrase in phrases:
            words = normalize(phrase)
            if words:
                grammar.setdefault(words, phrase)
        return grammar

    def _borrow(self) -> _Slot:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            create = self._created < self._max_decoders
            if create:
                self._created += 1
        if not create:
            return self._idle.get()  # all lent out: wait for one
        try:
            return _Slot(self._new_decoder())
        except BaseException:
            with self._lock:
                self._created -= 1
            raise

    def _new_decoder(self) -> Decoder:
        config = Config(
            hmm=os.fspath(self._hmm), dict=os.fspath(self._dict), lm=None, loglevel="FATAL", **self._options
        )
        try:
            decoder = Decoder(config)
            decoder.add_allphone_file(_PHONES, os.fspath(self._phone_lm))
        except RuntimeError as exc:
            raise SpeechError(f"pocketsphinx failed to start: {exc}") from exc
        return decoder

    def _search_for(self, slot: _Slot, grammar: dict[tuple[str, ...], str]) -> str:
        key = "\n".join(" ".join(w) for w in sorted(grammar))
        name = "g" + hashlib.sha1(key.encode()).hexdigest()[:16]
        if name in slot.searches:
            slot.searches.move_to_end(name)
            return name
        missing = sorted({w for words in grammar for w in words if slot.decoder.lookup_word(w) is None})
        if missing:
            raise SpeechError(f"pocketsphinx: no pronunciation for {', '.join(missing)}")
        rule = " | ".join(" ".join(words) for words in grammar)
        try:
            slot.decoder.add_jsgf_string(name, f"#JSGF V1.0;\ngrammar ccapp;\npublic <phrase> = {rule};\n")
        except RuntimeError as exc:
            raise SpeechError(f"pocketsphinx rejected the grammar {rule!r}: {exc}") from exc
        slot.searches[name] = dict(grammar)
        while len(slot.searches) > self._max_grammars:
            old, _ = slot.searches.popitem(last=False)
            slot.decoder.remove_search(old)
        return name

    @staticmethod
    def _longest_filler(decoder: Decoder, words: tuple[str, ...]) -> int:
        """Frames of the longest segment of the last grammar decode that is not a phrase word."""
        longest = 0
        for seg in decoder.seg():
            word = str(seg.word).lower().split("(", 1)[0]  # "sales(2)": an alternative pronunciation
            if word in ("<s>", "</s>") or word in words:
                continue
            longest = max(longest, int(seg.end_frame) - int(seg.start_frame) + 1)
        return longest

    @staticmethod
    def _decode(decoder: Decoder, search: str, pcm: bytes) -> tuple[tuple[str, ...], float, int]:
        """Words, path score (log units) and frame count of one search over ``pcm``."""
        decoder.activate_search(search)
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        frames = decoder.n_frames()
        if hyp is None:
            return (), -math.inf, frames
        # the binding hands the score over as logmath.exp(score); take it back to log units
        score = float(decoder.get_logmath().log(hyp.score)) if hyp.score > 0 else -math.inf
        return normalize(hyp.hypstr), score, frames
