"""The call service: routing, journaling, fail-open, shutdown."""

from __future__ import annotations

import asyncio

from ccapp.calls.call import Call
from ccapp.calls.fakes import FakeCallControl, MemoryJournal
from ccapp.calls.model import Via
from ccapp.calls.ports import CallControl
from ccapp.calls.router import Router
from ccapp.calls.service import CallService, ChannelInfo, Fallback
from ccapp.clock import FakeClock
from ccapp.ivr.first import FirstIvrSettings, run_first_ivr

INFO = ChannelInfo("chan-1", "PJSIP/sipp-00000001", caller_number="+15550100", called_number="100")


async def first(call: Call, control: CallControl, params: tuple[str, ...]) -> str:
    return await run_first_ivr(call, control, FirstIvrSettings())


def make_service(journal: MemoryJournal, **kw: object) -> CallService:
    router = Router()
    router.add("inbound", first)

    async def broken(call: Call, control: CallControl, params: tuple[str, ...]) -> str:
        await control.answer()
        raise ZeroDivisionError("a bug")

    router.add("broken", broken)
    return CallService(journal=journal, clock=FakeClock(), router=router, hangup_wait_s=0.05, **kw)  # type: ignore[arg-type]


async def test_caller_typing_12_hash_hears_the_digits_back_and_the_call_is_journaled() -> None:
    journal = MemoryJournal()
    service = make_service(journal)
    control = FakeCallControl(channel_id="chan-1", keys=["12#"])

    async def report_hangup() -> None:
        await asyncio.sleep(0)
        service.channel_ended("chan-1", 16, "Normal Clearing")

    outcome, _ = await asyncio.gather(
        service.run_call(control, INFO, via=Via.ARI, args=["inbound", "first"]), report_hangup()
    )

    await service.wait_idle()
    assert outcome == "completed"
    assert ("say_digits", "12") in control.actions
    assert control.actions[-1] == ("hangup", 16)
    assert journal.kinds() == [
        "call.started",
        "leg.added",
        "leg.answered",
        "prompt",
        "digits",
        "prompt",
        "prompt",
        "leg.ended",
        "call.ended",
    ]
    digits = next(e for e in journal.events if e.kind == "digits")
    assert digits.data == {"digits": "12", "terminator": "#", "timed_out": False}
    ended = journal.events[-1]
    assert ended.data == {"cause": 16, "cause_text": "Normal Clearing", "outcome": "completed"}
    assert [e.seq for e in journal.events] == list(range(1, 10))
    assert service.active == {}


async def test_silent_caller_times_out_and_hears_goodbye() -> None:
    journal = MemoryJournal()
    control = FakeCallControl(channel_id="chan-1", keys=[""])
    service = make_service(journal)
    outcome = await service.run_call(control, INFO, via=Via.AGI, args=["inbound"])
    await service.wait_idle()
    assert outcome == "no_input"
    assert ("play", ("vm-goodbye",)) in control.actions
    assert journal.events[-1].data["cause"] == 16  # we hung up; Asterisk did not report in time


async def test_caller_hanging_up_mid_ivr_closes_the_call_with_asterisks_cause() -> None:
    journal = MemoryJournal()
    service = make_service(journal)
    control = FakeCallControl(channel_id="chan-1", keys=["12#"], hang_up_after=2)
    service.channel_ended("chan-1", 16, None)  # unknown channel yet: ignored
    task = asyncio.create_task(service.run_call(control, INFO, via=Via.ARI, args=["inbound"]))
    await asyncio.sleep(0)
    service.channel_ended("chan-1", 17, "User busy")
    assert await task == "caller_hangup"
    await service.wait_idle()
    assert journal.events[-1].data == {"cause": 17, "cause_text": "User busy", "outcome": "caller_hangup"}


async def test_a_bug_in_a_handler_sends_the_caller_to_the_fallback_context() -> None:
    journal = MemoryJournal()
    service = make_service(journal, fallback=Fallback("oops", "s", 1))
    control = FakeCallControl(channel_id="chan-1")
    outcome = await service.run_call(control, INFO, via=Via.ARI, args=["broken"])
    await service.wait_idle()
    assert outcome == "continued"
    assert control.actions[-2:] == [
        ("set", ("CCAPP_FALLBACK_REASON", "error")),
        ("continue", ("oops", "s", 1)),
    ]
    error = next(e for e in journal.events if e.kind == "error")
    assert error.data["error"] == "ZeroDivisionError"
    assert journal.events[-1].data["outcome"] == "continued"
    assert service.stats["failed_open"] == 1


async def test_unknown_route_fails_open_and_is_recorded() -> None:
    journal = MemoryJournal()
    control = FakeCallControl(channel_id="chan-1")
    service = make_service(journal)
    outcome = await service.run_call(control, INFO, via=Via.ARI, args=["nope", "x"])
    await service.wait_idle()
    assert outcome == "continued"
    assert ("set", ("CCAPP_FALLBACK_REASON", "no_route")) in control.actions
    assert journal.events[0].data["entry"] == "nope/x"


async def test_while_draining_new_calls_go_straight_to_the_dialplan() -> None:
    journal = MemoryJournal()
    service = make_service(journal)
    await service.drain(grace_s=0.01)
    control = FakeCallControl(channel_id="chan-1")
    assert await service.run_call(control, INFO, via=Via.ARI, args=["inbound"]) == "continued"
    assert ("set", ("CCAPP_FALLBACK_REASON", "shutting_down")) in control.actions


async def test_drain_continues_calls_still_running_after_the_grace_period() -> None:
    journal = MemoryJournal()
    service = make_service(journal)
    release = asyncio.Event()
    evicted: list[str] = []

    class Stuck(FakeCallControl):
        async def collect_digits(self, **kw: object) -> object:  # type: ignore[override]
            await release.wait()
            raise __import__("ccapp.errors").errors.CallGone("left")

    async def evict(fb: Fallback) -> None:
        evicted.append(fb.context)
        release.set()

    control = Stuck(channel_id="chan-1")
    task = asyncio.create_task(service.run_call(control, INFO, via=Via.ARI, args=["inbound"], evict=evict))
    await asyncio.sleep(0.01)
    await service.drain(grace_s=0.05)
    assert evicted == ["ccapp-fallback"]
    assert await task == "continued_shutdown"
    await service.wait_idle()
    assert journal.events[-1].data["outcome"] == "continued_shutdown"


async def test_calls_whose_channels_vanished_during_a_reconnect_are_closed_as_lost() -> None:
    journal = MemoryJournal()
    service = make_service(journal)
    release = asyncio.Event()

    class Stuck(FakeCallControl):
        async def collect_digits(self, **kw: object) -> object:  # type: ignore[override]
            await release.wait()
            raise __import__("ccapp.errors").errors.CallGone("gone")

    task = asyncio.create_task(
        service.run_call(Stuck(channel_id="chan-1"), INFO, via=Via.ARI, args=["inbound"])
    )
    await asyncio.sleep(0.01)
    assert service.channels_vanished(set(), Via.ARI) == ["chan-1"]
    release.set()
    assert await task == "lost"
    await service.wait_idle()
    assert journal.events[-1].data == {"cause": None, "cause_text": "vanished", "outcome": "lost"}
