"""Ports the IVR engine talks through besides `CallControl`.

The engine never imports aiohttp, pocketsphinx or espeak: each of these is an adapter chosen in
``app.py`` (or a fake in tests and in ``ccapp ivr test``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Utterance:
    """What a caller did at a speech prompt: spoke (``audio`` holds 16-bit little-endian mono PCM at
    ``sample_rate``), pressed a key (``digit``), or neither before the no-input timeout."""

    audio: bytes = b""
    sample_rate: int = 8000
    digit: str | None = None

    @property
    def silent(self) -> bool:
        return not self.audio and self.digit is None


@runtime_checkable
class SpeechCapture(Protocol):
    """A `CallControl` that can also hear the caller (ARI does it through external media)."""

    async def listen(
        self,
        *,
        prompts: Sequence[str] = (),
        no_input_timeout: float = 5.0,
        max_speech: float = 10.0,
        end_silence: float = 0.8,
    ) -> Utterance:
        """Play ``prompts`` (speech or a key stops them: barge-in), then return the first utterance,
        delimited by voice activity, or the first key, or an empty `Utterance` after the timeout."""
        ...


@dataclass(frozen=True, slots=True)
class Recognition:
    """The best grammar phrase for an utterance; ``phrase`` is None when nothing matched.
    ``confidence`` is in 0..1."""

    phrase: str | None
    confidence: float
    latency_s: float = 0.0


class Recognizer(Protocol):
    """Offline speech recognition restricted to a small grammar of phrases."""

    def recognize(self, audio: bytes, sample_rate: int, phrases: Sequence[str]) -> Recognition:
        """Pick the phrase the audio says (or none). CPU-bound: callers run it in a thread."""
        ...


class PromptStore(Protocol):
    """Turns ``text:`` prompts into something Asterisk can play."""

    async def render(self, text: str) -> str:
        """Return a playable media name (a sound name such as ``ccapp/tts/<hash>``, or a
        ``sound:http://…`` URI) for ``text``, synthesising and caching it on first use."""
        ...

    def exists(self, sound: str) -> bool | None:
        """Whether Asterisk has the sound ``sound`` (None when it cannot be known here)."""
        ...


class HttpFetcher(Protocol):
    """The ``http`` node's way out. Raises `ccapp.errors.FetchError` on any failure."""

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> Any:
        """Send the request; return the decoded JSON body of a 2xx answer."""
        ...


class QueueTarget(Protocol):
    """Where a ``queue`` node hands the call. ACD implements it; until then `BusyQueueStub`."""

    async def enter(
        self, control: Any, *, queue: str, priority: int, variables: Mapping[str, str], call: Any
    ) -> str:
        """Take the call (``call`` is its `ccapp.calls.call.Call`); return the outcome once the caller
        is back (``answered`` after the agent left, ``max_wait``, ``callback`` …). Raises
        `ccapp.errors.CallGone` if the caller hangs up."""
        ...


class RecordingGate(Protocol):
    """Pauses the call's recording while a caller types sensitive digits."""

    async def pause(self, reason: str) -> None: ...

    async def resume(self, reason: str) -> None: ...
