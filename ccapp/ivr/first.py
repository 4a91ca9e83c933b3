"""The first IVR: answer, ask for digits, say them back, hang up.

It proves the whole path (Asterisk → adapter → call service → journal → SQL) and is the
reference workload of the call-rate benchmark. The full IVR engine replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccapp.calls.call import Call
from ccapp.calls.model import EventKind
from ccapp.calls.ports import CallControl


@dataclass(frozen=True, slots=True)
class FirstIvrSettings:
    prompt: str = "vm-enter-num-to-call"
    max_digits: int = 8
    terminator: str = "#"
    first_timeout_s: float = 5.0
    inter_digit_timeout_s: float = 3.0
    you_entered: str = "you-entered"
    goodbye: str = "vm-goodbye"


async def run_first_ivr(call: Call, control: CallControl, settings: FirstIvrSettings) -> str:
    """Walk the first IVR on one channel; returns the call's outcome."""
    await control.answer()
    call.record(EventKind.PROMPT, {"prompts": [settings.prompt]})
    result = await control.collect_digits(
        max_digits=settings.max_digits,
        terminator=settings.terminator,
        first_timeout=settings.first_timeout_s,
        inter_digit_timeout=settings.inter_digit_timeout_s,
        prompts=[settings.prompt],
    )
    call.record(
        EventKind.DIGITS,
        {"digits": result.digits, "terminator": result.terminator, "timed_out": result.timed_out},
    )
    if result.digits:
        call.record(EventKind.PROMPT, {"prompts": [settings.you_entered], "say_digits": result.digits})
        await control.play([settings.you_entered])
        await control.say_digits(result.digits)
    call.record(EventKind.PROMPT, {"prompts": [settings.goodbye]})
    await control.play([settings.goodbye])
    await control.hangup()
    return "completed" if result.digits else "no_input"
