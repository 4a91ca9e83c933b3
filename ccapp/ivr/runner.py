"""Walk a tree without a phone: ``ccapp ivr test`` and the engine's unit tests.

A scripted caller answers each input request in order. ``keys`` holds one entry per menu/collect
request (``"1"``, ``"4711#"``; ``""`` or ``"-"`` = silence until the timeout); ``speech`` holds one
entry per speech request (a phrase; ``"-"`` = silence). A speech node with no speech entry left takes
the next key entry as DTMF. The clock is fake: it starts at ``at`` and moves on by every timeout, so
schedules and journal times behave as on a real call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from ccapp.calls.call import Call
from ccapp.calls.fakes import MemoryJournal, type_keys
from ccapp.calls.model import CallEvent, Direction, EventKind, Leg, Via
from ccapp.calls.ports import DigitResult, RecordResult
from ccapp.clock import FakeClock
from ccapp.errors import CallGone, FetchError
from ccapp.ivr.engine import IvrSession
from ccapp.ivr.ports import HttpFetcher, Recognition, Utterance
from ccapp.ivr.schedule import Schedule
from ccapp.ivr.services import IvrServices, TransferSettings
from ccapp.ivr.tree import Tree

SILENCE = ("", "-")


@dataclass
class ScriptedCaller:
    """A `CallControl` + `SpeechCapture` driven by a script, keeping a transcript."""

    clock: FakeClock
    keys: list[str] = field(default_factory=list)
    speech: list[str] = field(default_factory=list)
    hang_up_after_inputs: int | None = None
    channel_id: str = "offline-1"
    transcript: list[tuple[str, Any]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    gone: bool = False
    _inputs: int = 0

    def _op(self, name: str, arg: Any = None) -> None:
        if self.gone:
            raise CallGone("the scripted caller hung up")
        self.transcript.append((name, arg))

    def _input_request(self) -> None:
        if self.hang_up_after_inputs is not None and self._inputs >= self.hang_up_after_inputs:
            self.gone = True
            self.transcript.append(("caller_hangup", None))
            raise CallGone("the scripted caller hung up")
        self._inputs += 1

    async def answer(self) -> None:
        self._op("answer")

    async def play(self, prompts: Sequence[str], *, interruptible: bool = False) -> str | None:
        self._op("play", list(prompts))
        if interruptible and self.keys and self.keys[0].startswith("!"):
            # "!1": the caller presses 1 during the prompt (barge-in)
            key = self.keys.pop(0)[1:2]
            self.transcript.append(("barge_in", key))
            return key
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
        if prompts:
            self._op("play", list(prompts))
        self._input_request()
        typed = self.keys.pop(0) if self.keys else ""
        typed = typed.lstrip("!")
        if typed in SILENCE:
            self.clock.advance(first_timeout)
            self.transcript.append(("timeout", first_timeout))
            return DigitResult("", timed_out=True)
        result = type_keys(typed, max_digits, terminator)
        self.clock.advance(0.3 * len(result.digits) + (inter_digit_timeout if result.timed_out else 0.0))
        self.transcript.append(("keys", typed))
        return result

    async def listen(
        self,
        *,
        prompts: Sequence[str] = (),
        no_input_timeout: float = 5.0,
        max_speech: float = 10.0,
        end_silence: float = 0.8,
    ) -> Utterance:
        if prompts:
            self._op("play", list(prompts))
        if not self.speech and self.keys:
            result = await self.collect_digits(max_digits=1, terminator="", first_timeout=no_input_timeout)
            return Utterance(digit=result.digits or None)
        self._input_request()
        said = self.speech.pop(0) if self.speech else "-"
        if said in SILENCE:
            self.clock.advance(no_input_timeout)
            self.transcript.append(("timeout", no_input_timeout))
            return Utterance()
        self.clock.advance(1.0)
        self.transcript.append(("says", said))
        return Utterance(audio=said.encode(), sample_rate=0)

    async def say_digits(self, digits: str) -> None:
        self._op("say_digits", digits)

    async def record_message(
        self, name: str, *, max_seconds: float, beep: bool = True, terminator: str = "#"
    ) -> RecordResult:
        self._op("record", name)
        self.clock.advance(min(5.0, max_seconds))
        return RecordResult(name, min(5.0, max_seconds), "terminator")

    async def set_variable(self, name: str, value: str) -> None:
        self._op("set", (name, value))
        self.variables[name] = value

    async def hangup(self, cause: int = 16) -> None:
        self._op("hangup", cause)
        self.gone = True

    async def continue_in_dialplan(self, context: str, extension: str = "s", priority: int = 1) -> None:
        self._op("continue", (context, extension, priority))
        self.gone = True


class TextRecognizer:
    """The offline runner's recognizer: the 'audio' is the phrase's text."""

    def recognize(self, audio: bytes, sample_rate: int, phrases: Sequence[str]) -> Recognition:
        said = " ".join(audio.decode().lower().split())
        return Recognition(said, 1.0) if said in phrases else Recognition(None, 0.0)


class TextPrompts:
    """Offline TTS: ``text:`` prompts are shown as they are."""

    async def render(self, text: str) -> str:
        return f"text:{text}"

    def exists(self, sound: str) -> bool | None:
        return None


@dataclass
class CannedFetcher:
    """Answers every request with ``answer`` (or fails when ``fail``), remembering the requests."""

    answer: Any = None
    fail: str | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> Any:
        self.requests.append((method, url))
        if self.fail is not None:
            raise FetchError(self.fail)
        return self.answer


@dataclass(frozen=True)
class RunResult:
    outcome: str
    path: list[str]
    events: list[CallEvent]
    transcript: list[tuple[str, Any]]
    variables: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "path": self.path,
            "events": [
                {"at": e.at.isoformat(), "kind": e.kind.value, **dict(e.data)}
                for e in self.events
                if e.kind not in (EventKind.CALL_STARTED, EventKind.LEG_ADDED)
            ],
            "transcript": [[name, arg] for name, arg in self.transcript],
            "variables": self.variables,
        }


async def run_offline(
    tree_name: str,
    tree: Tree,
    *,
    at: datetime,
    keys: Sequence[str] = (),
    speech: Sequence[str] = (),
    caller: str | None = "+15550100",
    called: str | None = None,
    fetcher: HttpFetcher | None = None,
    schedules: Mapping[str, Schedule] | None = None,
    transfer: TransferSettings | None = None,
    hang_up_after_inputs: int | None = None,
) -> RunResult:
    """Walk ``tree`` with a scripted caller from the aware datetime ``at``."""
    clock = FakeClock(at.astimezone(UTC))  # the Clock contract: aware UTC times
    journal = MemoryJournal()
    control = ScriptedCaller(
        clock, keys=list(keys), speech=list(speech), hang_up_after_inputs=hang_up_after_inputs
    )
    call = Call(journal=journal, clock=clock, direction=Direction.INBOUND, via=Via.ARI, entry=tree_name)
    call.start(Leg("offline-1", "Offline/1", caller_number=caller), called_number=called)
    services = IvrServices(
        clock=clock,
        fetcher=fetcher or CannedFetcher(fail="no HTTP in this run (give --http-json or --http real)"),
        prompts=TextPrompts(),
        recognizer=TextRecognizer(),
        transfer=transfer or TransferSettings(number_dial="PJSIP/{number}@trunk"),
        schedules=dict(schedules or {}),
    )
    session = IvrSession(
        call=call,
        control=control,
        tree_name=tree_name,
        tree=tree,
        services=services,
        caller_number=caller,
        called_number=called,
    )
    await control.answer()
    try:
        outcome = await session.run()
    except CallGone:
        outcome = "caller_hangup"
    return RunResult(outcome, session.path, journal.events, control.transcript, session.public_vars())


def format_run(result: RunResult, tz: tzinfo | None = None) -> str:
    """The run as an admin reads it: one line per step (times in ``tz``), then path and outcome."""
    lines: list[str] = []
    for event in result.events:
        data = dict(event.data)
        at = (event.at.astimezone(tz) if tz else event.at).strftime("%H:%M:%S")
        kind = event.kind
        if kind is EventKind.IVR_NODE:
            lines.append(f"{at}  → {data['node']} [{data['type']}]")
        elif kind is EventKind.PROMPT:
            lines.append(f"{at}      plays {', '.join(data['prompts'])}")
        elif kind is EventKind.IVR_INPUT:
            conf = f" (confidence {data['confidence']})" if data.get("confidence") is not None else ""
            lines.append(f"{at}      {data['mode']} input {data['input']!r}{conf}")
        elif kind is EventKind.IVR_TIMEOUT:
            lines.append(f"{at}      timeout (try {data['attempt']})")
        elif kind is EventKind.IVR_NO_MATCH:
            lines.append(f"{at}      no match {data.get('input')!r} (try {data['attempt']})")
        elif kind is EventKind.VARIABLE:
            lines.append(f"{at}      set {data['name']} = {data['value']!r}")
        elif kind is EventKind.ERROR:
            lines.append(f"{at}      error: {data['error']}")
        elif kind in (EventKind.RECORDING_PAUSED, EventKind.RECORDING_RESUMED):
            lines.append(f"{at}      {kind.value} ({data['reason']})")
        elif kind is EventKind.IVR_EXIT:
            target = f" → {data['target']}" if data.get("target") else ""
            lines.append(f"{at}  exit at {data['node']}: {data['outcome']}{target}")
    lines.append(f"path: {' > '.join(result.path)}")
    lines.append(f"outcome: {result.outcome}")
    return "\n".join(lines)


def dump_json(result: RunResult) -> str:
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False)
