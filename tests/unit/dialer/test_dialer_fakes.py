"""The dialer's telephony fake behaves like the ARI adapter it stands for: scripted answers and
failures with their causes, a ring timeout, AMD entry refused on a gone line, hang-ups recorded."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from ccapp.dialer.fakes import BUSY, RINGS, FakeOutbound, LineScript, ShiftedClock
from ccapp.errors import CallGone
from tests.unit.dialer.conftest import MONDAY_10_NY


async def test_originate_records_the_dial_and_a_busy_line_fails_with_cause_17() -> None:
    out = FakeOutbound(ShiftedClock(MONDAY_10_NY), {"+12125550001": BUSY})
    line = await out.originate(
        "PJSIP/+12125550001@trunk", attempt_id="at1", caller_id="+15550000", timeout_s=5, variables={"A": "1"}
    )
    answer = await line.wait_answer()
    assert (answer.answered, answer.cause) == (False, 17)
    assert await line.wait_gone() == (17, "fake")
    [dial] = out.originations
    assert (dial.dial_string, dial.attempt_id, dial.variables) == (
        "PJSIP/+12125550001@trunk",
        "at1",
        {"A": "1"},
    )
    assert MONDAY_10_NY <= dial.at < MONDAY_10_NY + timedelta(seconds=1)
    assert out.dialled() == ["+12125550001"]


async def test_a_line_that_rings_on_fails_with_no_answer_at_its_timeout() -> None:
    out = FakeOutbound(ShiftedClock(MONDAY_10_NY), default=RINGS)
    line = await out.originate("PJSIP/+1212@t", attempt_id="a", caller_id="", timeout_s=0.05, variables={})
    answer = await asyncio.wait_for(line.wait_answer(), 1)
    assert (answer.answered, answer.cause) == (False, 19)


async def test_an_answered_line_enters_amd_and_a_scripted_verdict_is_handed_back() -> None:
    out = FakeOutbound(ShiftedClock(MONDAY_10_NY), default=LineScript(verdict="MACHINE", amd_s=0.01))
    verdicts: list[tuple[str, str]] = []
    out.on_verdict = lambda line, verdict: verdicts.append((line.attempt_id, verdict))
    line = await out.originate("PJSIP/+1212@t", attempt_id="a", caller_id="", timeout_s=5, variables={})
    answer = await line.wait_answer()
    assert answer.answered and answer.at is not None
    await line.detect({"X": "1"})
    await asyncio.sleep(0.05)
    assert (line.detected, verdicts) == ([{"X": "1"}], [("a", "MACHINE")])


async def test_a_lead_gone_during_amd_is_seen_and_amd_refuses_a_gone_line() -> None:
    out = FakeOutbound(ShiftedClock(MONDAY_10_NY), default=LineScript(gone_in_amd=True, amd_s=0.01))
    line = await out.originate("PJSIP/+1212@t", attempt_id="a", caller_id="", timeout_s=5, variables={})
    await line.wait_answer()
    await line.detect({})
    assert await asyncio.wait_for(line.wait_gone(), 1) == (16, "remote hangup")
    with pytest.raises(CallGone):
        await line.detect({})


async def test_ccapp_hanging_up_a_line_is_recorded_with_its_cause() -> None:
    out = FakeOutbound(ShiftedClock(MONDAY_10_NY), default=RINGS)
    line = await out.originate("PJSIP/+1212@t", attempt_id="a", caller_id="", timeout_s=5, variables={})
    await line.hangup(21)
    await line.hangup(16)  # once gone, nothing more happens
    assert line.hung_up_by_ccapp == 21
    assert (await line.wait_answer()).answered is False


def test_the_shifted_clock_moves_wall_time_only() -> None:
    clock = ShiftedClock(MONDAY_10_NY)
    mono, now = clock.monotonic(), clock.now()
    clock.shift(3600)
    assert clock.monotonic() - mono < 1
    assert 3600 <= (clock.now() - now).total_seconds() < 3601
