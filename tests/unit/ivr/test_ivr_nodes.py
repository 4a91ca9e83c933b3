"""Every IVR node type walked by the engine: the journaled path, inputs, masked values and outcome."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from ccapp.calls.call import Call
from ccapp.calls.fakes import MemoryJournal
from ccapp.calls.model import CallEvent, Direction, EventKind, Leg, Via
from ccapp.calls.ports import RecordResult
from ccapp.clock import FakeClock
from ccapp.errors import CallGone
from ccapp.ivr.engine import IvrError, IvrSession
from ccapp.ivr.ports import Recognition, Recognizer
from ccapp.ivr.runner import (
    CannedFetcher,
    RunResult,
    ScriptedCaller,
    TextPrompts,
    TextRecognizer,
    run_offline,
)
from ccapp.ivr.schedule import Schedule
from ccapp.ivr.services import IvrServices, TransferSettings
from ccapp.ivr.tree import Tree

BERLIN = ZoneInfo("Europe/Berlin")
#: a Monday morning in Berlin, inside business hours
MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=BERLIN)


def tree(text: str) -> Tree:
    return Tree.model_validate(yaml.safe_load(textwrap.dedent(text)))


def of(events: Sequence[CallEvent], kind: EventKind) -> list[dict[str, Any]]:
    return [dict(e.data) for e in events if e.kind is kind]


def kinds(events: Sequence[CallEvent]) -> list[str]:
    return [e.kind.value for e in events if e.kind not in (EventKind.CALL_STARTED, EventKind.LEG_ADDED)]


async def walk(text: str, **kwargs: Any) -> RunResult:
    kwargs.setdefault("at", MONDAY_10)
    return await run_offline("t", tree(text), **kwargs)


@dataclass
class GateFake:
    """A call recording that remembers when it was paused and resumed."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    async def pause(self, reason: str) -> None:
        self.calls.append(("pause", reason))

    async def resume(self, reason: str) -> None:
        self.calls.append(("resume", reason))


@dataclass
class Session:
    """A finished walk; ``control`` is the scripted caller (unused when the test brought its own)."""

    outcome: str
    session: IvrSession
    events: list[CallEvent]
    control: ScriptedCaller


async def run_session(
    text: str,
    *,
    keys: Sequence[str] = (),
    speech: Sequence[str] = (),
    recognizer: Recognizer | None = None,
    recording: GateFake | None = None,
    hang_up_after_inputs: int | None = None,
    control: Any = None,
    queue: Any = None,
) -> Session:
    """Like `run_offline`, but with the services a test chooses."""
    clock = FakeClock(MONDAY_10.astimezone(UTC))
    journal = MemoryJournal()
    caller = ScriptedCaller(
        clock, keys=list(keys), speech=list(speech), hang_up_after_inputs=hang_up_after_inputs
    )
    call = Call(journal=journal, clock=clock, direction=Direction.INBOUND, via=Via.ARI, entry="t")
    call.start(Leg("offline-1", "Offline/1", caller_number="+15550100"))
    services = IvrServices(
        clock=clock,
        fetcher=CannedFetcher(fail="no HTTP here"),
        prompts=TextPrompts(),
        recognizer=recognizer,
        transfer=TransferSettings(number_dial="PJSIP/{number}@trunk"),
    )
    if recording is not None:
        services.recording = recording
    if queue is not None:
        services.queue = queue
    session = IvrSession(
        call=call,
        control=control or caller,
        tree_name="t",
        tree=tree(text),
        services=services,
        caller_number="+15550100",
    )
    try:
        outcome = await session.run()
    except CallGone:
        outcome = "caller_hangup"
    return Session(outcome, session, journal.events, caller)


# --- play ------------------------------------------------------------------------------------------

PLAY_THEN_BYE = """
start: hello
nodes:
  hello: {type: play, prompts: [hello-world, "text:Welcome"], next: bye}
  bye: {type: hangup}
"""


async def test_play_node_plays_its_prompts_and_goes_on() -> None:
    result = await walk(PLAY_THEN_BYE)

    assert result.path == ["hello", "bye"]
    assert of(result.events, EventKind.PROMPT) == [{"prompts": ["hello-world", "text:Welcome"]}]
    assert ("play", ["hello-world", "text:Welcome"]) in result.transcript
    assert of(result.events, EventKind.IVR_NODE)[0] == {
        "tree": "t",
        "node": "hello",
        "version": tree(PLAY_THEN_BYE).version,
        "type": "play",
    }
    assert result.outcome == "hangup"


BARGE_IN = """
start: hello
nodes:
  hello: {type: play, prompts: [hello-world], barge_in: true, next: menu}
  menu:
    type: menu
    prompts: [press-1]
    options: {"1": accept, "2": reject}
  accept: {type: hangup, cause: 16}
  reject: {type: hangup, cause: 21}
"""


async def test_a_key_pressed_during_a_barge_in_prompt_answers_the_next_menu() -> None:
    result = await walk(BARGE_IN, keys=["!1"])

    assert result.path == ["hello", "menu", "accept"]
    assert ("barge_in", "1") in result.transcript
    # the menu used the carried key: its prompt was never played
    assert ("play", ["press-1"]) not in result.transcript
    assert of(result.events, EventKind.IVR_INPUT) == [
        {"tree": "t", "node": "menu", "mode": "dtmf", "input": "1", "confidence": None}
    ]


async def test_a_play_node_without_barge_in_keeps_the_key_for_the_menu_prompt() -> None:
    result = await walk(BARGE_IN.replace("barge_in: true", "barge_in: false"), keys=["!2"])

    assert ("barge_in", "2") not in result.transcript
    assert ("play", ["press-1"]) in result.transcript
    assert result.path == ["hello", "menu", "reject"]


# --- menu ------------------------------------------------------------------------------------------

MENU = """
start: menu
nodes:
  menu:
    type: menu
    prompts: [press-1]
    options: {"1": sales, "2": support}
    var: choice
    max_tries: 3
    on_timeout: {prompts: [didnt-hear]}
    on_invalid: {prompts: [invalid]}
    on_max_tries: {prompts: [operator], next: operator}
  sales: {type: hangup}
  support: {type: hangup, cause: 17}
  operator: {type: transfer, target: PJSIP/1001}
"""


async def test_menu_routes_a_valid_key_and_keeps_it_in_its_variable() -> None:
    result = await walk(MENU, keys=["2"])

    assert result.path == ["menu", "support"]
    assert of(result.events, EventKind.VARIABLE) == [{"name": "choice", "value": "2"}]
    assert result.variables == {"choice": "2"}
    assert result.transcript[-1] == ("hangup", 17)


async def test_menu_asks_again_after_an_invalid_key_and_after_a_timeout() -> None:
    result = await walk(MENU, keys=["9", "-", "1"])

    assert result.path == ["menu", "sales"]
    assert kinds(result.events)[:8] == [
        "ivr.node",
        "prompt",
        "ivr.no_match",
        "prompt",
        "prompt",
        "ivr.timeout",
        "prompt",
        "prompt",
    ]
    assert of(result.events, EventKind.IVR_NO_MATCH) == [
        {"tree": "t", "node": "menu", "attempt": 1, "mode": "dtmf", "input": "9"}
    ]
    assert of(result.events, EventKind.IVR_TIMEOUT) == [{"tree": "t", "node": "menu", "attempt": 2}]
    prompts = [p["prompts"] for p in of(result.events, EventKind.PROMPT)]
    assert prompts == [["press-1"], ["invalid"], ["press-1"], ["didnt-hear"], ["press-1"]]


async def test_menu_goes_to_the_max_tries_node_after_the_last_try() -> None:
    result = await walk(MENU, keys=["9", "8", "-"])

    assert result.path == ["menu", "operator"]
    assert [e["attempt"] for e in of(result.events, EventKind.IVR_NO_MATCH)] == [1, 2]
    assert [e["attempt"] for e in of(result.events, EventKind.IVR_TIMEOUT)] == [3]
    assert of(result.events, EventKind.PROMPT)[-1] == {"prompts": ["operator"]}
    assert result.outcome == "transfer"


async def test_menu_hangs_up_after_max_tries_when_no_next_is_given() -> None:
    text = """
    start: menu
    nodes:
      menu: {type: menu, prompts: [press-1], options: {"1": sales}, max_tries: 2}
      sales: {type: hangup}
    """
    result = await walk(text, keys=["-", "-", "1"])

    assert result.path == ["menu"]
    assert result.outcome == "max_tries"
    assert of(result.events, EventKind.IVR_EXIT) == [
        {"tree": "t", "node": "menu", "outcome": "max_tries", "target": None}
    ]
    # the default max-tries handler says goodbye before hanging up
    assert result.transcript[-2:] == [("play", ["vm-goodbye"]), ("hangup", 16)]


async def test_a_handler_with_next_jumps_at_once_without_asking_again() -> None:
    text = MENU.replace("on_invalid: {prompts: [invalid]}", "on_invalid: {next: operator}")
    result = await walk(text, keys=["7", "1"])

    assert result.path == ["menu", "operator"]
    assert len(of(result.events, EventKind.IVR_NO_MATCH)) == 1
    assert [p["prompts"] for p in of(result.events, EventKind.PROMPT)] == [["press-1"]]


# --- collect ---------------------------------------------------------------------------------------

COLLECT = """
start: account
nodes:
  account:
    type: collect
    prompts: [enter-account]
    var: account
    min_digits: 4
    max_digits: 6
    terminator: "#"
    on_invalid: {prompts: [invalid]}
    next: bye
  bye: {type: hangup}
"""


async def test_collect_keeps_digits_up_to_the_terminator() -> None:
    result = await walk(COLLECT, keys=["4711#"])

    assert result.path == ["account", "bye"]
    assert result.variables == {"account": "4711"}
    assert of(result.events, EventKind.IVR_INPUT) == [
        {
            "tree": "t",
            "node": "account",
            "mode": "dtmf",
            "input": "4711",
            "confidence": None,
            "timed_out": False,
        }
    ]


async def test_collect_stops_at_max_digits_and_rejects_too_few() -> None:
    result = await walk(COLLECT, keys=["12#", "12345678"])

    assert of(result.events, EventKind.IVR_NO_MATCH) == [
        {"tree": "t", "node": "account", "attempt": 1, "mode": "dtmf", "input": "12"}
    ]
    assert result.variables == {"account": "123456"}


async def test_collect_with_a_star_terminator_and_digits_ended_by_the_inter_digit_timeout() -> None:
    text = COLLECT.replace('terminator: "#"', 'terminator: "*"')
    result = await walk(text, keys=["5555*"])
    assert result.variables == {"account": "5555"}
    result = await walk(text, keys=["98765"])
    assert of(result.events, EventKind.IVR_INPUT)[0]["timed_out"] is True
    assert result.variables == {"account": "98765"}


async def test_collect_checks_its_pattern() -> None:
    text = COLLECT.replace('terminator: "#"', 'terminator: "#"\n    pattern: "1[0-9]+"')
    result = await walk(text, keys=["9999#", "1999#"])

    assert [e["input"] for e in of(result.events, EventKind.IVR_NO_MATCH)] == ["9999"]
    assert result.variables == {"account": "1999"}


async def test_collect_with_luhn_accepts_a_valid_card_number_and_rejects_a_wrong_check_digit() -> None:
    text = COLLECT.replace("max_digits: 6", "max_digits: 19\n    luhn: true")
    result = await walk(text, keys=["79927398710#", "79927398713#"])

    assert [e["input"] for e in of(result.events, EventKind.IVR_NO_MATCH)] == ["79927398710"]
    assert result.variables == {"account": "79927398713"}


async def test_collect_goes_to_its_max_tries_handler_after_three_bad_entries() -> None:
    text = COLLECT.replace("next: bye", "on_max_tries: {next: bye}\n    next: bye")
    result = await walk(text, keys=["1#", "-", "2#", "4711#"])

    assert result.path == ["account", "bye"]
    assert result.variables == {}
    assert len(of(result.events, EventKind.IVR_NO_MATCH)) == 2
    assert len(of(result.events, EventKind.IVR_TIMEOUT)) == 1


async def test_a_barge_in_key_is_the_first_digit_of_a_collect() -> None:
    text = """
    start: hello
    nodes:
      hello: {type: play, prompts: [hello-world], barge_in: true, next: account}
      account: {type: collect, prompts: [enter-account], var: account, next: bye}
      bye: {type: hangup}
    """
    result = await walk(text, keys=["!4", "711#"])

    assert result.variables == {"account": "4711"}
    assert ("play", ["enter-account"]) not in result.transcript


PIN = """
start: pin
nodes:
  pin:
    type: collect
    prompts: ["text:Your PIN please"]
    var: pin
    min_digits: 4
    max_digits: 4
    sensitive: true
    next: echo
  echo:
    type: set
    vars: {copy: "pin {vars.pin}"}
    channel: true
    next: bye
  bye: {type: hangup}
"""


async def test_sensitive_digits_are_masked_in_every_event_and_recording_pauses_around_them() -> None:
    gate = GateFake()
    run = await run_session(PIN, keys=["86", "8642"], recording=gate)

    assert run.outcome == "hangup"
    assert "8642" not in repr([e.data for e in run.events])
    assert "86" not in repr(of(run.events, EventKind.IVR_NO_MATCH))
    assert of(run.events, EventKind.IVR_NO_MATCH)[0]["input"] == "**"
    assert of(run.events, EventKind.IVR_INPUT)[0]["input"] == "****"
    assert of(run.events, EventKind.VARIABLE) == [
        {"name": "pin", "value": "****"},
        {"name": "copy", "value": "********"},
    ]
    # the engine itself still has the real value for the http node that needs it
    assert run.session.vars["pin"] == "8642"
    assert run.session.public_vars() == {"pin": "****", "copy": "********"}
    assert run.control.variables == {"CCAPP_COPY": "********"}
    assert gate.calls == [("pause", "sensitive input"), ("resume", "sensitive input done")]
    order = kinds(run.events)
    assert order.index("recording.paused") < order.index("ivr.input") < order.index("recording.resumed")


async def test_recording_resumes_even_when_the_caller_hangs_up_in_a_sensitive_collect() -> None:
    gate = GateFake()
    run = await run_session(PIN, keys=["86"], recording=gate, hang_up_after_inputs=1)

    assert run.outcome == "caller_hangup"
    assert gate.calls == [("pause", "sensitive input"), ("resume", "sensitive input done")]
    assert kinds(run.events)[-2:] == ["recording.resumed", "ivr.exit"]
    assert of(run.events, EventKind.IVR_EXIT) == [
        {"tree": "t", "node": "pin", "outcome": "caller_hangup", "target": None}
    ]
    assert "86" not in repr(of(run.events, EventKind.IVR_NO_MATCH))


async def test_a_collect_that_is_not_sensitive_never_touches_the_recording() -> None:
    gate = GateFake()
    run = await run_session(COLLECT, keys=["4711#"], recording=gate)

    assert gate.calls == []
    assert "recording.paused" not in kinds(run.events)


# --- speech ----------------------------------------------------------------------------------------

SPEECH = """
start: ask
nodes:
  ask:
    type: speech
    prompts: ["text:Sales or billing?"]
    phrases: {sales: sales, Billing Please: billing}
    dtmf: {"1": sales, "2": billing}
    confidence: 0.5
    var: said
    on_no_input: {prompts: [didnt-hear]}
    on_no_match: {prompts: [invalid]}
    on_max_tries: {next: operator}
  sales: {type: hangup}
  billing: {type: hangup, cause: 17}
  operator: {type: transfer, target: PJSIP/1001}
"""


async def test_speech_routes_a_recognised_phrase() -> None:
    result = await walk(SPEECH, speech=["billing  PLEASE"])

    assert result.path == ["ask", "billing"]
    assert ("says", "billing  PLEASE") in result.transcript
    assert of(result.events, EventKind.IVR_INPUT) == [
        {
            "tree": "t",
            "node": "ask",
            "mode": "speech",
            "input": "billing please",
            "confidence": 1.0,
            "latency_ms": 0,
        }
    ]
    assert result.variables == {"said": "billing please"}


async def test_speech_asks_again_after_no_match_and_no_input() -> None:
    result = await walk(SPEECH, speech=["pizza", "-", "sales"])

    assert result.path == ["ask", "sales"]
    assert of(result.events, EventKind.IVR_NO_MATCH) == [
        {
            "tree": "t",
            "node": "ask",
            "attempt": 1,
            "mode": "speech",
            "input": None,
            "confidence": 0.0,
            "latency_ms": 0,
        }
    ]
    assert of(result.events, EventKind.IVR_TIMEOUT) == [{"tree": "t", "node": "ask", "attempt": 2}]


async def test_speech_goes_to_max_tries_after_three_silences() -> None:
    result = await walk(SPEECH, speech=["-", "-", "-"])

    assert result.path == ["ask", "operator"]
    assert result.outcome == "transfer"


@dataclass
class UnsureRecognizer:
    """Hears the right phrase but is not sure of it."""

    confidence: float

    def recognize(self, audio: bytes, sample_rate: int, phrases: Sequence[str]) -> Recognition:
        return Recognition(audio.decode(), self.confidence)


async def test_a_phrase_below_the_confidence_threshold_is_a_no_match() -> None:
    run = await run_session(SPEECH, speech=["sales", "sales"], recognizer=UnsureRecognizer(0.31))

    assert [e["confidence"] for e in of(run.events, EventKind.IVR_NO_MATCH)] == [0.31, 0.31]
    assert [e["input"] for e in of(run.events, EventKind.IVR_NO_MATCH)] == ["sales", "sales"]

    sure = await run_session(SPEECH, speech=["sales"], recognizer=UnsureRecognizer(0.5))
    assert sure.session.path == ["ask", "sales"]


async def test_a_key_pressed_at_a_speech_prompt_is_used_as_dtmf() -> None:
    result = await walk(SPEECH, keys=["7", "2"])

    assert result.path == ["ask", "billing"]
    assert of(result.events, EventKind.IVR_NO_MATCH)[0] == {
        "tree": "t",
        "node": "ask",
        "attempt": 1,
        "mode": "dtmf",
        "input": "7",
    }
    assert of(result.events, EventKind.IVR_INPUT)[0]["mode"] == "dtmf"


async def test_speech_without_a_recognizer_falls_back_to_dtmf_only() -> None:
    run = await run_session(SPEECH, keys=["-", "1"], speech=["billing please"], recognizer=None)

    assert run.session.path == ["ask", "sales"]
    assert ("says", "billing please") not in run.control.transcript
    assert of(run.events, EventKind.IVR_TIMEOUT) == [{"tree": "t", "node": "ask", "attempt": 1}]


@dataclass
class DtmfOnly:
    """A channel that cannot listen (no `SpeechCapture`), e.g. FastAGI."""

    inner: ScriptedCaller

    async def play(self, prompts: Sequence[str], *, interruptible: bool = False) -> str | None:
        return await self.inner.play(prompts, interruptible=interruptible)

    async def collect_digits(self, **kwargs: Any) -> Any:
        return await self.inner.collect_digits(**kwargs)

    async def set_variable(self, name: str, value: str) -> None:
        await self.inner.set_variable(name, value)

    async def hangup(self, cause: int = 16) -> None:
        await self.inner.hangup(cause)

    async def continue_in_dialplan(self, context: str, extension: str = "s", priority: int = 1) -> None:
        await self.inner.continue_in_dialplan(context, extension, priority)


async def test_speech_on_a_channel_that_cannot_listen_takes_keys() -> None:
    caller = ScriptedCaller(FakeClock(), keys=["2"], speech=["sales"])
    run = await run_session(SPEECH, recognizer=TextRecognizer(), control=DtmfOnly(caller))

    assert run.session.path == ["ask", "billing"]
    assert ("says", "sales") not in caller.transcript
    assert caller.transcript[-1] == ("hangup", 17)


# --- condition -------------------------------------------------------------------------------------

HOURS = """
start: check
schedules:
  office:
    tz: Europe/Berlin
    hours: {mon-fri: "08:00-18:00", sat: ["09:00-12:00", "13:00-14:00"]}
    holidays: [2026-12-24]
  new_york:
    tz: America/New_York
    hours: {"mon,tue,wed,thu,fri": "09:00-17:00"}
  dst_day:
    tz: Europe/Berlin
    hours: {sun: "03:00-04:00"}
nodes:
  check:
    type: condition
    rules:
      - when: {schedule: office}
        next: open
    default: closed
  open: {type: hangup}
  closed: {type: hangup, cause: 17}
"""


@pytest.mark.parametrize(
    ("at", "schedule", "open_"),
    [
        (datetime(2026, 12, 21, 10, 0, tzinfo=BERLIN), "office", True),
        (datetime(2026, 12, 21, 7, 59, tzinfo=BERLIN), "office", False),
        (datetime(2026, 12, 21, 18, 0, tzinfo=BERLIN), "office", False),  # the end is excluded
        (datetime(2026, 12, 24, 10, 0, tzinfo=BERLIN), "office", False),  # holiday (a Thursday)
        (datetime(2026, 12, 26, 9, 30, tzinfo=BERLIN), "office", True),  # Saturday, first range
        (datetime(2026, 12, 26, 12, 30, tzinfo=BERLIN), "office", False),  # Saturday lunch break
        (datetime(2026, 12, 26, 13, 30, tzinfo=BERLIN), "office", True),  # Saturday, second range
        (datetime(2026, 12, 27, 10, 0, tzinfo=BERLIN), "office", False),  # Sunday
        # 07:30 UTC is 08:30 in Berlin in winter: open; in summer (CEST) it is 09:30: open too, but
        # 06:30 UTC is 07:30 in winter (closed) and 08:30 in summer (open)
        (datetime(2026, 12, 21, 6, 30, tzinfo=UTC), "office", False),
        (datetime(2026, 7, 6, 6, 30, tzinfo=UTC), "office", True),
        # the same instant is 10:00 in Berlin and 04:00 in New York
        (datetime(2026, 12, 21, 9, 0, tzinfo=UTC), "new_york", False),
        (datetime(2026, 12, 21, 14, 0, tzinfo=UTC), "new_york", True),  # 09:00 EST
        (datetime(2026, 7, 6, 13, 0, tzinfo=UTC), "new_york", True),  # 09:00 EDT
        (datetime(2026, 12, 21, 22, 30, tzinfo=UTC), "new_york", False),  # 17:30 EST
        # 2026-03-29: Berlin jumps from 02:00 CET to 03:00 CEST at 01:00 UTC
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "dst_day", True),  # 03:30 CEST
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "dst_day", False),  # 01:30 CET
    ],
)
async def test_condition_on_a_schedule(at: datetime, schedule: str, open_: bool) -> None:
    result = await walk(HOURS.replace("schedule: office", f"schedule: {schedule}"), at=at)

    assert result.path == ["check", "open" if open_ else "closed"]


async def test_a_rule_with_open_false_holds_when_the_schedule_is_closed() -> None:
    text = HOURS.replace("{schedule: office}", "{schedule: office, open: false}")

    closed = await walk(text, at=datetime(2026, 12, 27, 10, 0, tzinfo=BERLIN))
    opened = await walk(text, at=datetime(2026, 12, 21, 10, 0, tzinfo=BERLIN))

    assert (closed.path[-1], opened.path[-1]) == ("open", "closed")


async def test_condition_uses_a_shared_schedule_from_the_settings() -> None:
    text = HOURS.replace("schedule: office", "schedule: shared")
    shared = Schedule(tz="Asia/Tokyo", hours={"mon": ["18:00-19:00"]})
    # 10:00 Berlin on a Monday is 18:00 in Tokyo
    result = await walk(text, schedules={"shared": shared})

    assert result.path == ["check", "open"]


CALLER_AND_VARS = """
start: set
nodes:
  set: {type: set, vars: {tier: "{caller.number}"}, next: check}
  check:
    type: condition
    rules:
      - when: {caller: '\\+49.*'}
        next: german
      - when: {var: tier, equals: "+15550100"}
        next: equals
      - when: {var: tier, matches: '\\+1555.*'}
        next: matches
      - when: {var: tier, in: ["+15550199", "+15550198"]}
        next: listed
      - when: {var: missing, equals: "x"}
        next: german
    default: other
  german: {type: hangup}
  equals: {type: hangup}
  matches: {type: hangup}
  listed: {type: hangup}
  other: {type: hangup}
"""


@pytest.mark.parametrize(
    ("caller", "end"),
    [
        ("+4930123", "german"),
        ("+15550100", "equals"),
        ("+15559999", "matches"),
        ("0049+4930", "other"),  # the caller regex must match the whole number
        ("+4415550100", "other"),  # and so must matches
    ],
)
async def test_condition_on_the_caller_and_on_variables(caller: str, end: str) -> None:
    result = await walk(CALLER_AND_VARS, caller=caller)

    assert result.path == ["set", "check", end]


async def test_condition_var_in_a_list() -> None:
    text = CALLER_AND_VARS.replace("'\\+1555.*'", "'nothing'")
    result = await walk(text, caller="+15550198")

    assert result.path[-1] == "listed"


# --- http ------------------------------------------------------------------------------------------

HTTP = """
start: lookup
nodes:
  lookup:
    type: http
    method: GET
    url: "https://api.example.com/accounts/{vars.account}?caller={caller.number}"
    headers: {X-Call: "{call.id}"}
    assign: {balance: account.balance, first: account.items.0.id, active: active, note: note}
    next: ok
    on_error: failed
  ok: {type: hangup}
  failed: {type: hangup, cause: 17}
"""


@dataclass
class RecordingFetcher:
    answer: Any
    requests: list[dict[str, Any]] = field(default_factory=list)

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> Any:
        self.requests.append(
            {"method": method, "url": url, "body": body, "headers": dict(headers), "timeout_s": timeout_s}
        )
        return self.answer


ANSWER = {"account": {"balance": 12.5, "items": [{"id": 7}, {"id": 8}]}, "active": True, "note": None}


async def test_http_assigns_nested_fields_and_goes_to_next() -> None:
    fetcher = RecordingFetcher(ANSWER)
    text = HTTP.replace("{vars.account}", "42")
    result = await walk(text, fetcher=fetcher)

    assert result.path == ["lookup", "ok"]
    assert result.variables == {"balance": "12.5", "first": "7", "active": "true", "note": ""}
    assert fetcher.requests[0]["method"] == "GET"
    assert fetcher.requests[0]["body"] is None
    assert fetcher.requests[0]["headers"] == {"X-Call": result.events[0].call_id}


async def test_http_quotes_variables_in_the_url() -> None:
    text = """
    start: set
    nodes:
      set: {type: set, vars: {account: "a b/&c=d?#"}, next: lookup}
      lookup:
        type: http
        method: post
        url: "https://api.example.com/accounts/{vars.account}?caller={caller.number}"
        body: {account: "{vars.account}", who: "{caller.number}"}
        next: ok
        on_error: ok
      ok: {type: hangup}
    """
    fetcher = RecordingFetcher({})
    await walk(text, fetcher=fetcher, caller="+1 555")

    request = fetcher.requests[0]
    assert request["url"] == "https://api.example.com/accounts/a%20b%2F%26c%3Dd%3F%23?caller=%2B1%20555"
    # the JSON body carries values as they are
    assert (request["method"], request["body"]) == ("POST", {"account": "a b/&c=d?#", "who": "+1 555"})


async def test_a_failed_request_goes_to_on_error_and_journals_the_error_without_the_url() -> None:
    result = await walk(HTTP, fetcher=CannedFetcher(fail="HTTP status 503"))

    assert result.path == ["lookup", "failed"]
    assert of(result.events, EventKind.ERROR) == [{"where": "ivr.http.lookup", "error": "HTTP status 503"}]
    assert result.variables == {}


async def test_a_missing_field_goes_to_on_error_and_sets_no_variable() -> None:
    answer = {"account": {"balance": 1, "items": []}, "active": False, "note": "x"}
    result = await walk(HTTP, fetcher=CannedFetcher(answer=answer))

    assert result.path == ["lookup", "failed"]
    assert result.variables == {}
    assert of(result.events, EventKind.ERROR) == [
        {"where": "ivr.http.lookup", "error": "the answer has no field 'account.items.0.id'"}
    ]


async def test_a_field_holding_an_object_is_an_error() -> None:
    text = HTTP.replace("balance: account.balance,", "balance: account,")
    result = await walk(text, fetcher=CannedFetcher(answer=ANSWER))

    assert result.path == ["lookup", "failed"]
    assert of(result.events, EventKind.ERROR)[0]["error"] == "field 'account' is not a single value"


# --- set -------------------------------------------------------------------------------------------

SET = """
start: set
nodes:
  set:
    type: set
    vars: {topic: "support", line: "{caller.number} to {call.called} ({vars.topic})", n: 5}
    next: bye
  bye: {type: hangup}
"""


async def test_set_fills_templates_in_order_and_journals_every_variable() -> None:
    result = await walk(SET, called="800")

    assert result.variables == {"topic": "support", "line": "+15550100 to 800 (support)", "n": "5"}
    assert [e["name"] for e in of(result.events, EventKind.VARIABLE)] == ["topic", "line", "n"]
    assert not [t for t in result.transcript if t[0] == "set"]


async def test_set_with_channel_true_sets_ccapp_channel_variables() -> None:
    run = await run_session(SET.replace("next: bye", "channel: true\n    next: bye"))

    assert run.control.variables == {
        "CCAPP_TOPIC": "support",
        "CCAPP_LINE": "+15550100 to  (support)",
        "CCAPP_N": "5",
    }


# --- queue -----------------------------------------------------------------------------------------

QUEUE = """
start: q
nodes:
  q: {type: queue, prompts: [please-wait], queue: sales, priority: 3, next: busy}
  busy: {type: hangup, cause: 17}
"""


async def test_the_busy_stub_plays_and_gives_the_call_back_to_next() -> None:
    result = await walk(QUEUE)

    assert result.path == ["q", "busy"]
    assert ("play", ["please-wait"]) in result.transcript
    assert ("play", ["queue-periodic-announce"]) in result.transcript
    assert {"name": "queue_outcome", "value": "queue_stub_busy"} in of(result.events, EventKind.VARIABLE)


async def test_a_queue_without_next_ends_the_tree_at_the_queue() -> None:
    result = await walk(QUEUE.replace(", next: busy", "").replace("  busy: {type: hangup, cause: 17}\n", ""))

    assert result.outcome == "queue"
    assert of(result.events, EventKind.IVR_EXIT)[0]["target"] == "sales"


@dataclass
class AnsweringQueue:
    entered: list[dict[str, Any]] = field(default_factory=list)

    async def enter(
        self, control: Any, *, queue: str, priority: int, variables: Mapping[str, str], call: Any
    ) -> str:
        self.entered.append({"queue": queue, "priority": priority, "variables": dict(variables)})
        return "answered"


async def test_a_caller_still_there_after_the_agent_left_goes_on_to_next() -> None:
    queue = AnsweringQueue()
    run = await run_session(
        PIN.replace("next: bye", "next: q") + QUEUE.split("nodes:\n")[1], keys=["1234"], queue=queue
    )

    # the post-call step (here a hang-up with cause 17) runs: a survey or a payment step would too
    assert run.outcome == "hangup"
    assert queue.entered[0]["queue"] == "sales"
    assert queue.entered[0]["priority"] == 3
    # a queue never sees sensitive input
    assert queue.entered[0]["variables"]["pin"] == "****"


# --- transfer --------------------------------------------------------------------------------------

TRANSFER = """
start: t
nodes:
  t: {type: transfer, prompts: [pls-hold], target: PJSIP/1001, timeout_s: 20}
"""


async def test_transfer_to_a_target_continues_in_the_transfer_context() -> None:
    result = await walk(TRANSFER, transfer=TransferSettings(context="xfer"))

    assert result.outcome == "transfer"
    assert result.transcript[-4:] == [
        ("play", ["pls-hold"]),
        ("set", ("CCAPP_TRANSFER_TARGET", "PJSIP/1001")),
        ("set", ("CCAPP_TRANSFER_TIMEOUT", "20")),
        ("continue", ("xfer", "s", 1)),
    ]
    assert of(result.events, EventKind.IVR_EXIT) == [
        {"tree": "t", "node": "t", "outcome": "transfer", "target": "PJSIP/1001"}
    ]


NUMBER = """
start: set
nodes:
  set: {type: set, vars: {ext: "%s"}, next: t}
  t: {type: transfer, number: "+4930{vars.ext}"}
"""


async def test_transfer_to_a_number_dials_through_number_dial() -> None:
    result = await walk(NUMBER % "1234", transfer=TransferSettings("ctx", "PJSIP/{number}@trunk"))

    assert ("set", ("CCAPP_TRANSFER_TARGET", "PJSIP/+49301234@trunk")) in result.transcript
    assert result.outcome == "transfer"


async def test_transfer_to_a_bad_number_is_an_error_at_that_node() -> None:
    with pytest.raises(IvrError, match="transfer number is not a phone number"):
        await walk(NUMBER % "12ab", transfer=TransferSettings("ctx", "PJSIP/{number}@trunk"))


async def test_transfer_to_a_number_without_a_trunk_is_an_error() -> None:
    with pytest.raises(IvrError, match="number_dial"):
        await walk(NUMBER % "1234", transfer=TransferSettings("ctx", None))


async def test_an_engine_error_journals_exit_error_at_the_node() -> None:
    clock = FakeClock(MONDAY_10)
    journal = MemoryJournal()
    call = Call(journal=journal, clock=clock, direction=Direction.INBOUND, via=Via.ARI, entry="t")
    session = IvrSession(
        call=call,
        control=ScriptedCaller(clock),
        tree_name="t",
        tree=tree(NUMBER % "12ab"),
        services=IvrServices(
            clock=clock, fetcher=CannedFetcher(), transfer=TransferSettings("c", "X/{number}")
        ),
    )

    with pytest.raises(IvrError):
        await session.run()

    assert of(journal.events, EventKind.IVR_EXIT) == [
        {"tree": "t", "node": "t", "outcome": "error", "target": "IvrError"}
    ]


# --- voicemail -------------------------------------------------------------------------------------

VOICEMAIL = """
start: vm
nodes:
  vm: {type: voicemail, prompts: [leave-message], mailbox: sales, max_s: 30}
"""


async def test_voicemail_records_into_the_mailbox_by_call_id_then_hangs_up() -> None:
    result = await walk(VOICEMAIL)
    call_id = result.events[0].call_id

    assert ("record", f"ccapp/voicemail/sales/{call_id}") in result.transcript
    assert result.transcript[-1] == ("hangup", 16)
    assert result.outcome == "voicemail"
    assert of(result.events, EventKind.IVR_INPUT) == [
        {
            "tree": "t",
            "node": "vm",
            "mode": "voice",
            "input": f"ccapp/voicemail/sales/{call_id}",
            "duration_s": 5.0,
            "reason": "terminator",
        }
    ]
    assert result.variables == {"voicemail": f"ccapp/voicemail/sales/{call_id}"}
    assert of(result.events, EventKind.IVR_EXIT)[0]["target"] == "sales"


async def test_voicemail_with_next_goes_on_after_the_message() -> None:
    result = await walk(VOICEMAIL.replace("max_s: 30", "max_s: 30, next: bye") + "  bye: {type: hangup}\n")

    assert result.path == ["vm", "bye"]


@dataclass
class HangsUpWhileRecording(ScriptedCaller):
    async def record_message(
        self, name: str, *, max_seconds: float, beep: bool = True, terminator: str = "#"
    ) -> RecordResult:
        self.gone = True
        return RecordResult(name, 2.0, "hangup")


async def test_a_caller_who_hangs_up_after_the_message_exits_as_caller_hangup() -> None:
    run = await run_session(VOICEMAIL, control=HangsUpWhileRecording(FakeClock()))

    assert run.outcome == "caller_hangup"
    assert of(run.events, EventKind.IVR_INPUT)[0]["reason"] == "hangup"
    assert of(run.events, EventKind.IVR_EXIT)[0]["outcome"] == "caller_hangup"


# --- hangup and caller hang-up ---------------------------------------------------------------------


async def test_hangup_node_plays_and_hangs_up_with_its_cause() -> None:
    result = await walk("""
    start: bye
    nodes:
      bye: {type: hangup, prompts: [vm-goodbye], cause: 21}
    """)

    assert result.transcript[-2:] == [("play", ["vm-goodbye"]), ("hangup", 21)]
    assert of(result.events, EventKind.IVR_EXIT) == [
        {"tree": "t", "node": "bye", "outcome": "hangup", "target": None}
    ]


async def test_a_caller_hang_up_inside_a_node_journals_the_exit_at_that_node() -> None:
    text = """
    start: first
    nodes:
      first: {type: menu, prompts: [one], options: {"1": second}}
      second: {type: menu, prompts: [two], options: {"1": bye}}
      bye: {type: hangup}
    """
    result = await walk(text, keys=["1", "1"], hang_up_after_inputs=1)

    assert result.outcome == "caller_hangup"
    assert result.path == ["first", "second"]
    assert of(result.events, EventKind.IVR_EXIT) == [
        {"tree": "t", "node": "second", "outcome": "caller_hangup", "target": None}
    ]
    assert ("caller_hangup", None) in result.transcript


async def test_a_confident_phrase_outside_the_grammar_is_a_no_match_not_a_crash() -> None:
    run = await run_session(SPEECH, speech=["pizza", "sales"], recognizer=UnsureRecognizer(0.9))

    assert run.session.path == ["ask", "sales"]
    assert of(run.events, EventKind.IVR_NO_MATCH) == [
        {
            "tree": "t",
            "node": "ask",
            "attempt": 1,
            "mode": "speech",
            "input": "pizza",
            "confidence": 0.9,
            "latency_ms": 0,
        }
    ]


async def test_condition_var_in_accepts_numbers_as_written_in_yaml() -> None:
    text = """
    start: menu
    nodes:
      menu: {type: menu, prompts: [press], options: {"1": check, "2": check, "3": check}, var: choice}
      check:
        type: condition
        rules:
          - when: {var: choice, in: [1, 2]}
            next: low
        default: high
      low: {type: hangup}
      high: {type: hangup}
    """

    assert (await walk(text, keys=["2"])).path == ["menu", "check", "low"]
    assert (await walk(text, keys=["3"])).path == ["menu", "check", "high"]


# --- prompts and guards ----------------------------------------------------------------------------

MEDIA = """
start: set
nodes:
  set: {type: set, vars: {amount: "%s", account: "12-34 #x"}, next: say}
  say:
    type: play
    prompts: ["text:Balance {vars.amount}", "number:{vars.amount}", "digits:{vars.account}", beep]
    next: bye
  bye: {type: hangup}
"""


@pytest.mark.parametrize(
    ("amount", "spoken"),
    [
        ("1250.50", ["number:1250", "letters/dot", "digits:50"]),
        ("12,05", ["number:12", "letters/dot", "digits:05"]),
        ("7.00", ["number:7"]),
        ("-3", ["number:-3"]),
        ("lots", []),
    ],
)
async def test_prompts_are_filled_and_turned_into_media(
    amount: str, spoken: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    result = await walk(MEDIA % amount)

    assert ("play", [f"text:Balance {amount}", *spoken, "digits:1234#", "beep"]) in result.transcript
    # the journal keeps the templates, never the values (a prompt may read back sensitive digits)
    assert of(result.events, EventKind.PROMPT) == [
        {"prompts": ["text:Balance {vars.amount}", "number:{vars.amount}", "digits:{vars.account}", "beep"]}
    ]
    assert ("is not a number; prompt skipped" in caplog.text) == (not spoken)


async def test_text_prompts_without_a_tts_engine_are_an_error() -> None:
    clock = FakeClock(MONDAY_10)
    call = Call(journal=MemoryJournal(), clock=clock, direction=Direction.INBOUND, via=Via.ARI, entry="t")
    session = IvrSession(
        call=call,
        control=ScriptedCaller(clock),
        tree_name="t",
        tree=tree(PLAY_THEN_BYE),
        services=IvrServices(clock=clock, fetcher=CannedFetcher()),
    )

    with pytest.raises(IvrError, match=r"text: prompts need a TTS engine \(ivr.tts\)"):
        await session.run()


async def test_a_caller_looping_in_a_menu_forever_is_stopped() -> None:
    text = """
    start: menu
    nodes:
      menu: {type: menu, prompts: [again], options: {"1": menu, "2": bye}}
      bye: {type: hangup}
    """

    with pytest.raises(IvrError, match="more than 1000 nodes in one call"):
        await walk(text, keys=["1"] * 1001)


async def test_a_one_digit_collect_takes_a_barge_in_key_alone() -> None:
    text = """
    start: hello
    nodes:
      hello: {type: play, prompts: [hello-world], barge_in: true, next: digit}
      digit: {type: collect, prompts: [one-digit], var: d, max_digits: 1, next: bye}
      bye: {type: hangup}
    """
    result = await walk(text, keys=["!5", "9"])

    assert result.variables == {"d": "5"}
    assert not [t for t in result.transcript if t[0] in ("keys", "timeout")]


async def test_collect_and_speech_handlers_with_next_jump_at_once() -> None:
    collect = COLLECT.replace("on_invalid: {prompts: [invalid]}", "on_invalid: {next: bye}")
    speech = SPEECH.replace("on_no_match: {prompts: [invalid]}", "on_no_match: {next: operator}")

    assert (await walk(collect, keys=["1#", "4711#"])).path == ["account", "bye"]
    assert (await walk(speech, speech=["pizza", "sales"])).path == ["ask", "operator"]


async def test_a_schedule_unknown_at_run_time_is_an_error() -> None:
    # validation refuses such a tree; an engine given one anyway stops instead of guessing
    with pytest.raises(IvrError, match="unknown schedule 'office'"):
        await walk(HOURS.replace("  office:\n", "  renamed:\n"))
