"""FastAGI against the real Asterisk 22: calls come in through ``200@from-callers``."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ccapp.calls.ports import DigitResult
from ccapp.errors import CallGone
from ccapp.telephony.agi import AgiRequest, AgiSession, FastAgiServer
from ccapp.telephony.ami import AmiClient, AmiMessage
from tests.integration.agi.conftest import AGI_PORT, AgiBed, start_on_agi_port

pytestmark = pytest.mark.asterisk


def user_event(ami: AmiClient, name: str, **fields: str) -> asyncio.Future[AmiMessage]:
    """A future for the first UserEvent ``name`` whose headers include ``fields``."""
    found: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()

    def check(event: AmiMessage) -> None:
        if event.get("UserEvent") != name or found.done():
            return
        if all(value in event.get_all(key) for key, value in fields.items()):
            found.set_result(event)

    unsubscribe = ami.on_event("UserEvent", check)
    found.add_done_callback(lambda _: unsubscribe())
    return found


async def test_caller_digits_are_collected_said_back_and_the_call_hung_up(agi_bed: AgiBed) -> None:
    outcome: asyncio.Future[tuple[AgiRequest, DigitResult]] = asyncio.get_running_loop().create_future()

    async def ivr(session: AgiSession) -> None:
        await session.answer()
        digits = await session.collect_digits(max_digits=8, terminator="#", first_timeout=8)
        await session.say_digits(digits.digits)
        await session.hangup()
        outcome.set_result((session.request, digits))

    _, originate = await agi_bed.call(ivr, far_end="D12#")
    assert originate.response.success
    request, digits = await asyncio.wait_for(outcome, 30)
    assert digits == DigitResult("12", terminator="#", timed_out=False)
    assert request.path == "ivr/first"
    assert request.context == "from-callers"
    assert request.extension == "200"
    assert request.version.startswith("22.")
    assert (await originate.wait(15))["Response"] == "Success"
    assert agi_bed.server.stats.served >= 1


async def test_continue_in_dialplan_lands_in_the_given_context(agi_bed: AgiBed) -> None:
    token = uuid.uuid4().hex[:12]

    async def ivr(session: AgiSession) -> None:
        await session.set_variable("CCAPP_FALLBACK_REASON", f"agi-test-{token}")
        await session.continue_in_dialplan("ccapp-fallback", "s", 1)

    arrived = user_event(agi_bed.ami, "CcappFallback", Reason=f"agi-test-{token}")
    await agi_bed.call(ivr, far_end="silent", token=token)
    event = await asyncio.wait_for(arrived, 20)
    assert event["Reason"] == f"agi-test-{token}"


async def test_a_caller_who_hangs_up_ends_the_session_with_call_gone(agi_bed: AgiBed) -> None:
    raised: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def ivr(session: AgiSession) -> None:
        await session.answer()
        try:
            await session.collect_digits(max_digits=4, first_timeout=20)
        except CallGone as exc:
            raised.set_result(exc)
            raise

    before = agi_bed.server.stats.caller_gone
    await agi_bed.call(ivr, far_end="giveup")
    assert isinstance(await asyncio.wait_for(raised, 30), CallGone)
    await agi_bed.server.stop(grace=5)
    assert agi_bed.server.stats.caller_gone == before + 1


async def test_an_unknown_script_fails_open_into_the_fallback_context(ami: AmiClient) -> None:
    channels: list[str] = []

    def resolver(request: AgiRequest) -> None:
        channels.append(request.channel)

    server = FastAgiServer(resolver, "127.0.0.1", AGI_PORT)
    await start_on_agi_port(server)
    try:
        arrived = user_event(ami, "CcappFallback", Reason="agi-unknown-route")
        await ami.originate("Local/200@from-callers", context="ccapp-test", exten="silent", timeout_s=15)
        event = await asyncio.wait_for(arrived, 20)
    finally:
        await server.stop(grace=2)
    assert server.stats.unknown_route == 1
    assert channels[0] in event.get_all("Channel")
