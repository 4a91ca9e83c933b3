"""The dialer's dialplan on the real Asterisk 22: [ccapp-outbound] (AMD, then back to Stasis with the
verdict) against the test PSTN's called parties ([ccapp-test-pstn], +1 NPA 555-01TR).

Each call goes the way ccapp's dialer sends it: originate into a throwaway ARI application; the
answer is the StasisStart ``dial``; the test sets nothing more and sends the channel on to
``ccapp-outbound,amd,1`` (the CCAPP_* variables were set at the originate); the verdict comes back
as StasisStart ``outbound,<attempt>,<AMDSTATUS>,<AMDCAUSE>``. Times are Asterisk's event timestamps.

CCAPP_AMD_TIMING_CALLS=N (default 3) sets how many person and machine calls the timing test places;
it prints the verdict times (``pytest -s``): docs/testbed-pstn.md quotes a run with N=10.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import phonenumbers
import pytest

from ccapp.telephony.ami import AmiClient, AmiMessage
from ccapp.telephony.ari.events import (
    AriEvent,
    ChannelDestroyed,
    ChannelUserevent,
    Dial,
    PlaybackFinished,
    PlaybackStarted,
    StasisStart,
)
from tests.integration.ari.conftest import Bed
from tests.support import testbed
from tests.support.wav_onset import duration_s, onset_s

pytestmark = pytest.mark.asterisk

#: the verdict must leave time for an agent or the abandon message within the 2 s after the answer
PERSON_VERDICT_MAX_S = 1.6
TIMING_CALLS = int(os.environ.get("CCAPP_AMD_TIMING_CALLS", "3"))


def number(kind: int, ring_s: int = 0) -> str:
    """A test PSTN number +1 NPA 555-01TR: kind T, ring R seconds, a random area code NPA so parallel
    runs rarely share one (their recordings are told apart by the channel id anyway)."""
    return f"+1{random.choice(AREA_CODES)}55501{kind}{ring_s}"


#: area codes whose 555-01XX numbers libphonenumber calls valid (ccapp's lead import takes them)
AREA_CODES = [
    area for area in range(201, 990) if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{area}5550100"))
]


@dataclass(frozen=True)
class Outcome:
    channel_id: str
    #: the dialled number as the test PSTN sees it (no +)
    digits: str
    #: Asterisk's time of the answer (the StasisStart ``dial``), None if never answered
    answered_at: datetime | None
    #: ``outbound`` StasisStart args after the attempt id: (AMDSTATUS, AMDCAUSE); None if none came
    verdict: tuple[str, str] | None
    #: seconds from the answer (StasisStart ``dial``) to the verdict (StasisStart ``outbound``)
    verdict_s: float | None
    #: the ChannelDestroyed cause, for calls that were never answered
    cause: int | None = None


def ensure_outbound_testbed() -> None:
    """A test bed started before the dialer's dialplan and sounds existed gets them now."""
    testbed.ensure_dialplan("ccapp-test-pstn-party", "pstn-machine-greeting")
    testbed.ensure_sounds()


@pytest.fixture
def outbound(bed: Bed) -> Bed:
    ensure_outbound_testbed()
    return bed


def is_start(channel_id: str, first_arg: str) -> Callable[[AriEvent], bool]:
    def matches(e: AriEvent) -> bool:
        return isinstance(e, StasisStart) and e.channel_id == channel_id and e.args[:1] == (first_arg,)

    return matches


def is_gone(channel_id: str) -> Callable[[AriEvent], bool]:
    return lambda e: isinstance(e, ChannelDestroyed) and e.channel_id == channel_id


def user_event(channel_id: str, name: str) -> Callable[[AriEvent], bool]:
    """The dialplan's UserEvent ``name`` on ``channel_id`` (ARI passes them on as ChannelUserevent)."""
    return lambda e: isinstance(e, ChannelUserevent) and e.eventname == name and e.channel_id == channel_id


async def dial(bed: Bed, to: str, *, amd: str = "1", params: str = "", timeout_s: int = 15) -> Outcome:
    """Dial ``to`` like ccapp's dialer and wait for the verdict or the failed dial's end."""
    attempt = uuid.uuid4().hex[:8]
    channel_id = f"it-out-{attempt}"
    variables = {"CCAPP_APP": bed.name, "CCAPP_ATTEMPT": attempt, "CCAPP_AMD": amd}
    if params:
        variables["CCAPP_AMD_PARAMS"] = params
    await bed.client.channels.originate(
        f"Local/{to}@ccapp-test-pstn",
        app=bed.name,
        app_args=["dial", attempt],
        timeout=timeout_s,
        variables=variables,
        channel_id=channel_id,
    )

    def answered_or_gone(e: AriEvent) -> bool:
        return e.channel_id == channel_id and (
            isinstance(e, ChannelDestroyed) or (isinstance(e, StasisStart) and e.args[:1] == ("dial",))
        )

    digits = to.removeprefix("+")
    first = await bed.wait_for(answered_or_gone)
    if isinstance(first, ChannelDestroyed):
        return Outcome(channel_id, digits, None, None, None, first.cause)
    assert isinstance(first, StasisStart)
    await bed.client.channels.continue_in_dialplan(channel_id, "ccapp-outbound", "amd", 1)

    def verdict_or_gone(e: AriEvent) -> bool:
        return e.channel_id == channel_id and (
            isinstance(e, ChannelDestroyed) or (isinstance(e, StasisStart) and e.args[:1] == ("outbound",))
        )

    second = await bed.wait_for(verdict_or_gone)
    if isinstance(second, ChannelDestroyed):
        return Outcome(channel_id, digits, first.timestamp, None, None, second.cause)
    assert isinstance(second, StasisStart)
    assert second.args[1] == attempt
    seconds = (second.timestamp - first.timestamp).total_seconds()
    return Outcome(channel_id, digits, first.timestamp, (second.args[2], second.args[3]), seconds)


async def hang_up(bed: Bed, outcome: Outcome) -> None:
    await bed.client.channels.hangup(outcome.channel_id)
    await bed.wait_for(is_gone(outcome.channel_id))


# -- verdicts --------------------------------------------------------------------------------------


async def test_a_person_who_says_hello_comes_back_to_stasis_as_human(outbound: Bed) -> None:
    async with asyncio.timeout(20):
        outcome = await dial(outbound, number(0))
        await hang_up(outbound, outcome)
    assert outcome.verdict is not None
    assert outcome.verdict[0] == "HUMAN"
    assert outcome.verdict[1].startswith("HUMAN-")
    assert outcome.verdict_s is not None
    assert outcome.verdict_s <= PERSON_VERDICT_MAX_S


async def test_an_answering_machine_comes_back_to_stasis_as_machine(outbound: Bed) -> None:
    async with asyncio.timeout(20):
        outcome = await dial(outbound, number(1))
        await hang_up(outbound, outcome)
    assert outcome.verdict is not None
    assert outcome.verdict[0] == "MACHINE"


async def test_amd_off_comes_back_at_once_as_human_with_cause_amd_off(outbound: Bed) -> None:
    async with asyncio.timeout(20):
        outcome = await dial(outbound, number(1), amd="0")
        await hang_up(outbound, outcome)
    assert outcome.verdict == ("HUMAN", "AMD off")
    assert outcome.verdict_s is not None
    assert outcome.verdict_s < 0.3


async def test_amd_params_from_the_channel_replace_the_defaults(outbound: Bed) -> None:
    # afterGreetingSilence 300 ms: the person's verdict names it in its cause
    async with asyncio.timeout(20):
        outcome = await dial(outbound, number(0), params="2000,1500,300,3000,100,50,4,256,2500")
        await hang_up(outbound, outcome)
    assert outcome.verdict is not None
    assert outcome.verdict[0] == "HUMAN"
    assert outcome.verdict[1].endswith("-300")


async def test_a_person_who_rings_first_is_answered_after_the_ring(outbound: Bed) -> None:
    async with asyncio.timeout(20):
        started = asyncio.get_running_loop().time()
        outcome = await dial(outbound, number(0, ring_s=2))
        waited = asyncio.get_running_loop().time() - started
        await hang_up(outbound, outcome)
    assert outcome.verdict is not None
    assert outcome.verdict[0] == "HUMAN"
    assert waited >= 2.0


def dial_status(bed: Bed, channel_id: str) -> str:
    """The last status of the ARI Dial events about ``channel_id`` (BUSY, CONGESTION, ...)."""
    statuses = [e.dialstatus for e in bed.seen if isinstance(e, Dial) and e.channel_id == channel_id]
    return next((s for s in reversed(statuses) if s), "")


async def test_the_short_fictional_numbers_reach_the_same_parties(outbound: Bed) -> None:
    # +1 555 01T RNNN: no such area code, so only tests dial it directly
    async with asyncio.timeout(20):
        person = await dial(outbound, f"+1555010{random.randrange(10000):04d}")
        await hang_up(outbound, person)
        busy = await dial(outbound, f"+1555012{random.randrange(10000):04d}")
    assert person.verdict is not None
    assert person.verdict[0] == "HUMAN"
    assert busy.cause == 17


@pytest.mark.parametrize(
    ("kind", "cause", "status"),
    [
        pytest.param(2, 17, "BUSY", id="busy-17-user-busy"),
        pytest.param(4, 34, "CONGESTION", id="congestion-34"),
        pytest.param(8, 1, None, id="unallocated-1"),
    ],
)
async def test_a_number_that_fails_ends_with_the_cause_a_trunk_would_give(
    outbound: Bed, kind: int, cause: int, status: str | None
) -> None:
    async with asyncio.timeout(20):
        outcome = await dial(outbound, number(kind, ring_s=1))
    assert (outcome.verdict, outcome.cause) == (None, cause)
    if status is not None:
        assert dial_status(outbound, outcome.channel_id) == status


async def test_a_number_nobody_answers_ends_at_the_originate_timeout(outbound: Bed) -> None:
    async with asyncio.timeout(20):
        started = asyncio.get_running_loop().time()
        outcome = await dial(outbound, number(3), timeout_s=3)
        waited = asyncio.get_running_loop().time() - started
    assert outcome.verdict is None
    assert outcome.cause == 19  # User alerting, no answer: what an ARI originate that rang out reports
    # the originate's ring timeout ends the dial without a final Dial status (it stays RINGING)
    assert dial_status(outbound, outcome.channel_id) == "RINGING"
    assert 2.5 <= waited <= 5


async def test_a_lead_hanging_up_during_amd_never_comes_back_to_stasis(outbound: Bed) -> None:
    # the silent person keeps AMD listening for 2 s; the far end hangs up before that
    async with asyncio.timeout(20):
        to = number(6)
        attempt = uuid.uuid4().hex[:8]
        channel_id = f"it-out-{attempt}"
        variables = {"CCAPP_APP": outbound.name, "CCAPP_ATTEMPT": attempt, "CCAPP_AMD": "1"}
        await outbound.client.channels.originate(
            f"Local/{to}@ccapp-test-pstn",
            app=outbound.name,
            app_args=["dial", attempt],
            timeout=10,
            variables=variables,
            channel_id=channel_id,
        )
        await outbound.wait_for(is_start(channel_id, "dial"))
        await outbound.client.channels.continue_in_dialplan(channel_id, "ccapp-outbound", "amd", 1)
        # the app also hears of the Local channel's far half (the one running the test PSTN)
        party = await outbound.wait_for(user_event_of_number(to.removeprefix("+")))
        assert party.channel_id is not None
        await outbound.client.channels.hangup(party.channel_id)
        gone = await outbound.wait_for(is_gone(channel_id))
    assert isinstance(gone, ChannelDestroyed)
    assert gone.cause == 16
    assert not any(is_start(channel_id, "outbound")(e) for e in outbound.seen)


def user_event_of_number(digits: str) -> Callable[[AriEvent], bool]:
    """The test PSTN's CcappPstn event (sent at the answer) of the party at ``digits``."""
    return lambda e: (
        isinstance(e, ChannelUserevent) and e.eventname == "CcappPstn" and e.userevent.get("Number") == digits
    )


# -- what the called party hears ---------------------------------------------------------------------


def recording_path(outcome: Outcome) -> Path:
    """Where the test PSTN recorded what the party of ``outcome`` heard (outside the chroot)."""
    name = f"{outcome.digits}-{outcome.channel_id}.wav"
    return testbed.sandbox_root() / "var/spool/asterisk/recording/pstn" / name


async def closed_recording(path: Path) -> Path:
    """``path`` once MixMonitor has closed it. MixMonitor's thread writes the header after the
    channel is gone and sends no event for it, so this looks every 50 ms (2 s at most)."""
    for _ in range(40):
        if path.exists() and path.stat().st_size > 44 and duration_s(path) > 0:
            return path
        await asyncio.sleep(0.05)
    raise AssertionError(f"no recording at {path}")


@pytest.fixture
async def ami(asterisk: None) -> AsyncIterator[AmiClient]:
    client = AmiClient(testbed.AMI_HOST, testbed.AMI_PORT, testbed.AMI_USER, testbed.AMI_PASSWORD)
    await client.connect()
    yield client
    await client.close()


async def test_the_person_records_the_abandon_message_from_when_ccapp_played_it(
    outbound: Bed, ami: AmiClient
) -> None:
    answers: list[AmiMessage] = []
    ami.on_event("UserEvent", lambda m: answers.append(m) if m.get("UserEvent") == "CcappPstn" else None)
    async with asyncio.timeout(30):
        outcome = await dial(outbound, number(0))
        assert outcome.verdict is not None
        assert outcome.verdict[0] == "HUMAN"
        await outbound.client.channels.play(outcome.channel_id, ["sound:ccapp/ccapp-abandon"])
        finished = await outbound.wait_for(
            lambda e: isinstance(e, PlaybackFinished) and e.channel_id == outcome.channel_id
        )
        assert isinstance(finished, PlaybackFinished)
        assert finished.playback.state == "done"
        started = next(
            e for e in outbound.seen if isinstance(e, PlaybackStarted) and e.channel_id == outcome.channel_id
        )
        await hang_up(outbound, outcome)
        path = await closed_recording(recording_path(outcome))
    assert outcome.answered_at is not None
    message_at = (started.timestamp - outcome.answered_at).total_seconds()
    heard_at = onset_s(path, after_s=0.0)
    # the recording starts at the answer and holds nothing but what ccapp sent: the message
    assert heard_at is not None
    assert heard_at == pytest.approx(message_at, abs=0.15)
    assert duration_s(path) == pytest.approx(message_at + 2.9, abs=0.4)
    mine = [m for m in answers if m.get("Linkedid") == outcome.channel_id]
    assert len(mine) == 1
    assert (mine[0].get("Number"), mine[0].get("Kind"), mine[0].get("Party"), mine[0].get("Phase")) == (
        outcome.digits,
        "person",
        "hello",
        "answered",
    )
    assert mine[0].get("Recording") == f"pstn/{outcome.digits}-{outcome.channel_id}"


async def test_a_machine_gets_its_message_after_the_beep_and_the_call_ends(outbound: Bed) -> None:
    async with asyncio.timeout(30):
        outcome = await dial(outbound, number(1))
        assert outcome.verdict is not None
        assert outcome.verdict[0] == "MACHINE"
        # no CCAPP_MACHINE_MESSAGE: the default message
        await outbound.client.channels.continue_in_dialplan(
            outcome.channel_id, "ccapp-outbound", "machine", 1
        )
        event = await outbound.wait_for(user_event(outcome.channel_id, "CcappMachineMessage"))
        await outbound.wait_for(is_gone(outcome.channel_id))
        path = await closed_recording(recording_path(outcome))
    assert isinstance(event, ChannelUserevent)
    assert (event.userevent["Wait"], event.userevent["Playback"]) == ("SILENCE", "SUCCESS")
    assert event.userevent["Message"] == "ccapp/ccapp-machine-message"
    # the greeting and its beep end 5.9 s after the answer; then 1 s of silence, then the message
    heard_at = onset_s(path)
    assert heard_at is not None
    assert 6.8 <= heard_at <= 7.4


async def test_a_person_comes_back_with_the_abandon_message_when_the_app_is_gone(outbound: Bed) -> None:
    async with asyncio.timeout(30):
        attempt = uuid.uuid4().hex[:8]
        channel_id = f"it-out-{attempt}"
        to = number(0)
        variables = {"CCAPP_APP": "ccapp-it-nobody", "CCAPP_ATTEMPT": attempt, "CCAPP_AMD": "1"}
        await outbound.client.channels.originate(
            f"Local/{to}@ccapp-test-pstn",
            app=outbound.name,
            app_args=["dial", attempt],
            timeout=10,
            variables=variables,
            channel_id=channel_id,
        )
        await outbound.wait_for(is_start(channel_id, "dial"))
        await outbound.client.channels.continue_in_dialplan(channel_id, "ccapp-outbound", "amd", 1)
        events = [
            await outbound.wait_for(user_event(channel_id, name))
            for name in ("CcappOutboundFailed", "CcappAbandonMessage")
        ]
        await outbound.wait_for(is_gone(channel_id))
    failed, abandon = (e for e in events if isinstance(e, ChannelUserevent))
    assert (failed.userevent["Reason"], failed.userevent["AmdStatus"]) == ("stasis-FAILED", "HUMAN")
    assert (abandon.userevent["Message"], abandon.userevent["Playback"]) == ("ccapp/ccapp-abandon", "SUCCESS")


# -- timing ----------------------------------------------------------------------------------------------


async def test_amd_verdicts_come_in_time_for_people_and_machines(outbound: Bed) -> None:
    times: dict[str, list[float]] = {"person": [], "machine": []}
    async with asyncio.timeout(10 + 8 * TIMING_CALLS):
        for _ in range(TIMING_CALLS):
            for kind, name, expected in ((0, "person", "HUMAN"), (1, "machine", "MACHINE")):
                outcome = await dial(outbound, number(kind))
                await hang_up(outbound, outcome)
                assert outcome.verdict is not None
                assert outcome.verdict[0] == expected
                assert outcome.verdict_s is not None
                times[name].append(outcome.verdict_s)
    for name, values in times.items():
        print(
            f"AMD verdict after answer, {name}: n={len(values)} mean={statistics.mean(values):.3f} s "
            f"max={max(values):.3f} s min={min(values):.3f} s"
        )
    assert max(times["person"]) <= PERSON_VERDICT_MAX_S
    assert max(times["machine"]) <= 2.5
