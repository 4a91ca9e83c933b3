"""Ports the domain talks through. ARI and FastAGI implement `CallControl`; storage implements
`CallJournal`. Unit tests use the in-memory fakes in `ccapp.calls.fakes`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ccapp.calls.model import CallEvent


@dataclass(frozen=True, slots=True)
class DigitResult:
    """What a caller typed. ``terminator`` is the key that ended input, if any."""

    digits: str
    terminator: str | None = None
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class RecordResult:
    """A message recorded from the caller. ``name`` is where Asterisk stored it (for ARI, a stored
    recording name; for AGI, the file path without extension); ``reason`` says what ended it:
    ``terminator``, ``max_duration``, ``silence`` or ``hangup``."""

    name: str
    duration_s: float
    reason: str


class CallControl(Protocol):
    """Control of one channel, whatever carries it (ARI or AGI).

    Every method raises `ccapp.errors.CallGone` once the caller has hung up.
    """

    @property
    def channel_id(self) -> str:
        """Asterisk's unique id of the channel."""
        ...

    async def answer(self) -> None:
        """Answer the channel (no-op when already up)."""
        ...

    async def play(self, prompts: Sequence[str], *, interruptible: bool = False) -> str | None:
        """Play media in order. With ``interruptible``, a key stops playback and is returned.

        A prompt is a sound name (``vm-goodbye``, ``ccapp/tts/ab12``) or an ARI-style media URI:
        ``sound:<name>``, ``digits:<digits>``, ``number:<integer>``, ``characters:<text>``. AGI
        translates the URIs to STREAM FILE / SAY DIGITS / SAY NUMBER / SAY ALPHA."""
        ...

    async def collect_digits(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 5.0,
        inter_digit_timeout: float = 3.0,
        prompts: Sequence[str] = (),
    ) -> DigitResult:
        """Play ``prompts`` (a key stops them and counts as input), then gather keys until
        ``max_digits``, the terminator or a timeout."""
        ...

    async def say_digits(self, digits: str) -> None:
        """Speak each digit."""
        ...

    async def record_message(
        self, name: str, *, max_seconds: float, beep: bool = True, terminator: str = "#"
    ) -> RecordResult:
        """Record the caller to the WAV file ``name`` (a relative name under Asterisk's recording
        directory, may contain ``/``) until the terminator, silence, ``max_seconds`` or hang-up.
        A hang-up while recording keeps the message and returns with reason ``hangup``."""
        ...

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable (seen by the dialplan afterwards)."""
        ...

    async def hangup(self, cause: int = 16) -> None:
        """Hang up with a Q.850 cause."""
        ...

    async def continue_in_dialplan(self, context: str, extension: str = "s", priority: int = 1) -> None:
        """Give the channel back to the dialplan at ``context,extension,priority``."""
        ...


class CallJournal(Protocol):
    """Where call events go. ``append`` must not block the caller on I/O."""

    def append(self, event: CallEvent) -> None:
        """Accept one event; durable delivery is the journal's job."""
        ...
