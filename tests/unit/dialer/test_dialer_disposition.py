"""After the talk, the agent's disposition decides the lead: a right party closes it, a wrong party or
a callback reschedules it, do-not-call puts the number on the campaign's list; with no disposition the
lead is closed as ``no_disposition`` once the wrap-up and a grace time are over."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from ccapp.acd.fakes import FakeCaller, eventually
from ccapp.calls.call import Call
from ccapp.dialer.fakes import ANSWERS, DialerBed, ShiftedClock
from tests.unit.dialer.beds import bed, number

LEAD = number(1)


async def talking(b: DialerBed) -> tuple[str, Call, FakeCaller]:
    """A person answered and is talking to agent a1."""
    await b.acd.login("a1")
    [lead] = await b.add_leads("c1", [LEAD])
    await b.svc.command("c1", "start", actor="ann")
    [line] = await b.out.wait_dials(1)
    await eventually(lambda: line.detected, what="the line in AMD")
    call, caller = b.hand_back(line, "HUMAN")
    await eventually(lambda: b.acd.state("a1") == "on_call")
    return lead, call, caller


async def closed(b: DialerBed, lead_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Wait until the lead's attempt is recorded; (the lead's row, the attempt's row)."""
    for _ in range(300):
        lead = await b.lead_row(lead_id)
        if lead["status"] != "dialling":
            [attempt] = await b.attempts(lead_id)
            return lead, attempt
        await asyncio.sleep(0.01)
    raise AssertionError(f"lead {lead_id} still dialling")


async def test_a_right_party_disposition_closes_the_lead(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        lead_id, call, caller = await talking(b)
        await b.acd.service.disposition("a1", call.call_id, outcome="sale", right_party=True)  # mid-talk
        caller.hang_up()
        lead, attempt = await closed(b, lead_id)

        assert (lead["status"], lead["last_result"], lead["next_attempt_at"]) == ("done", "right_party", None)
        assert lead["right_party_reached"] is True
        assert (attempt["outcome"], attempt["right_party"]) == ("sale", True)
        assert attempt["talk_s"] is not None and attempt["ended_at"] is not None


@pytest.mark.parametrize(
    ("outcome", "right_party", "last_result", "after"),
    [
        ("not_home", False, "wrong_party", timedelta(hours=4)),
        ("busy_now", None, "right_party", None),  # says neither: the right party was reached
        ("wrong_number", False, "wrong_number", None),
        ("answering_machine", None, "machine", timedelta(hours=3)),  # an audited "machine" was one
    ],
)
async def test_the_disposition_given_in_wrap_up_reschedules_or_closes_the_lead(
    db_url: str,
    clock: ShiftedClock,
    outcome: str,
    right_party: bool | None,
    last_result: str,
    after: timedelta | None,
) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        lead_id, call, caller = await talking(b)
        caller.hang_up()
        await eventually(lambda: b.acd.state("a1") == "wrap_up")
        await b.acd.service.disposition("a1", call.call_id, outcome=outcome, right_party=right_party)
        lead, attempt = await closed(b, lead_id)

        assert lead["last_result"] == last_result
        assert attempt["outcome"] == outcome
        if after is None:
            assert (lead["status"], lead["next_attempt_at"]) == ("done", None)
        else:
            assert lead["status"] == "scheduled"
            waited = lead["next_attempt_at"] - attempt["ended_at"]
            assert after <= waited < after + timedelta(seconds=1)


async def test_a_callback_time_reschedules_the_lead_at_that_time(db_url: str, clock: ShiftedClock) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        lead_id, call, caller = await talking(b)
        at = datetime(2026, 1, 5, 21, 30, tzinfo=clock.now().tzinfo)  # 16:30 in New York
        await b.acd.service.disposition("a1", call.call_id, outcome="call_me_later", callback_at=at)
        caller.hang_up()
        lead, _ = await closed(b, lead_id)

        assert (lead["status"], lead["last_result"]) == ("scheduled", "callback_requested")
        assert lead["next_attempt_at"] == at and lead["callback_at"] == at


async def test_a_callback_requested_without_a_time_reschedules_the_lead_after_the_callback_delay(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        lead_id, call, caller = await talking(b)
        await b.acd.service.disposition("a1", call.call_id, outcome="callback_requested", right_party=True)
        caller.hang_up()
        lead, attempt = await closed(b, lead_id)

        assert (lead["status"], lead["last_result"]) == ("scheduled", "callback_requested")
        waited = lead["next_attempt_at"] - attempt["ended_at"]
        assert timedelta(hours=1) <= waited < timedelta(hours=1, seconds=1)  # the default delay


async def test_a_do_not_call_disposition_closes_the_lead_and_lists_the_number_for_the_campaign(
    db_url: str, clock: ShiftedClock
) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        lead_id, call, caller = await talking(b)
        await b.acd.service.disposition("a1", call.call_id, outcome="do_not_call", right_party=True)
        caller.hang_up()
        lead, _ = await closed(b, lead_id)

        assert (lead["status"], lead["last_result"]) == ("done", "do_not_call")
        assert await b.store.dnc_entries("campaign:c1") == [("campaign:c1", LEAD)]
        assert await b.store.dnc_entries("global") == []


async def test_without_a_disposition_the_lead_is_closed_as_no_disposition_after_wrap_up_and_grace(
    db_url: str, clock: ShiftedClock, short_grace: None
) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:  # wrap-up 0.2 s, grace 0.1 s
        lead_id, _, caller = await talking(b)
        await asyncio.sleep(0.05)
        caller.hang_up()
        hung_up = clock.now()
        lead, attempt = await closed(b, lead_id)

        assert (lead["status"], lead["last_result"], lead["next_attempt_at"]) == (
            "done",
            "no_disposition",
            None,
        )
        assert attempt["outcome"] is None
        assert (attempt["ended_at"] - hung_up).total_seconds() >= 0.3 - 0.02
        assert attempt["talk_s"] >= 0.05
        assert b.acd.state("a1") == "ready"


async def test_a_disposition_after_the_grace_time_changes_nothing(
    db_url: str, clock: ShiftedClock, short_grace: None
) -> None:
    async with bed(db_url, clock, lines={LEAD: ANSWERS}) as b:
        lead_id, call, caller = await talking(b)
        caller.hang_up()
        before, _ = await closed(b, lead_id)
        await b.acd.service.disposition("a1", call.call_id, outcome="do_not_call")
        await asyncio.sleep(0.05)
        assert await b.lead_row(lead_id) == before
        assert await b.store.dnc_entries("campaign:c1") == []
