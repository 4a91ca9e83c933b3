"""In-memory fakes of the call ports, for unit tests and offline runs (like httpx's MockTransport)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ccapp.calls.model import CallEvent
from ccapp.calls.ports import DigitResult, RecordResult
from ccapp.errors import CallGone


def type_keys(typed: str, max_digits: int, terminator: str) -> DigitResult:
    """What `CallControl.collect_digits` returns when a caller types ``typed`` (then nothing): input
    ends at the terminator, at ``max_digits``, or by timeout."""
    digits = ""
    for key in typed:
        if terminator and key == terminator:
            return DigitResult(digits, terminator=key)
        digits += key
        if len(digits) >= max_digits:
            return DigitResult(digits)
    return DigitResult(digits, timed_out=True)


class MemoryJournal:
    """Keeps events in a list."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []

    def append(self, event: CallEvent) -> None:
        self.events.append(event)

    def kinds(self, call_id: str | None = None) -> list[str]:
        return [e.kind.value for e in self.events if call_id is None or e.call_id == call_id]


@dataclass
class FakeCallControl:
    """A scripted caller: ``keys`` is what the caller types, one string per input request
    (``""`` = silence until timeout). ``hang_up_after`` makes the caller hang up once that many
    operations have run. Everything done to the channel is kept in ``actions``.

    ``record_message`` records ``record_seconds`` of message (capped at ``max_seconds``, then the
    reason is ``max_duration``, else ``terminator``); when the caller is due to hang up at that
    operation the message is kept and the reason is ``hangup``, as on a real channel."""

    channel_id: str = "fake-1"
    keys: list[str] = field(default_factory=list)
    hang_up_after: int | None = None
    fail_on: str | None = None
    actions: list[tuple[str, object]] = field(default_factory=list)
    gone: bool = False
    record_seconds: float = 3.0

    def _op(self, name: str, arg: object = None) -> None:
        if self.gone:
            raise CallGone(f"{self.channel_id} hung up")
        if self.hang_up_after is not None and len(self.actions) >= self.hang_up_after:
            self.gone = True
            raise CallGone(f"{self.channel_id} hung up")
        if self.fail_on == name:
            raise RuntimeError(f"injected failure in {name}")
        self.actions.append((name, arg))

    async def answer(self) -> None:
        self._op("answer")

    async def play(self, prompts: Sequence[str], *, interruptible: bool = False) -> str | None:
        self._op("play", tuple(prompts))
        return None

    async def collect_digits(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 5.0,
        inter_digit_timeout: float = 3.0,
        prompts: Sequence[str] = (),
    ) -> DigitResult:
        self._op("collect", tuple(prompts))
        return type_keys(self.keys.pop(0) if self.keys else "", max_digits, terminator)

    async def say_digits(self, digits: str) -> None:
        self._op("say_digits", digits)

    async def record_message(
        self, name: str, *, max_seconds: float, beep: bool = True, terminator: str = "#"
    ) -> RecordResult:
        if not self.gone and self.hang_up_after is not None and len(self.actions) == self.hang_up_after:
            self.actions.append(("record", name))
            self.gone = True
            return RecordResult(name, min(self.record_seconds, max_seconds), "hangup")
        self._op("record", name)
        if self.record_seconds >= max_seconds:
            return RecordResult(name, max_seconds, "max_duration")
        return RecordResult(name, self.record_seconds, "terminator")

    async def set_variable(self, name: str, value: str) -> None:
        self._op("set", (name, value))

    async def hangup(self, cause: int = 16) -> None:
        self._op("hangup", cause)
        self.gone = True

    async def continue_in_dialplan(self, context: str, extension: str = "s", priority: int = 1) -> None:
        self._op("continue", (context, extension, priority))
        self.gone = True
