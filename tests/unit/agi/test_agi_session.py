from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest

from ccapp.calls.ports import CallControl, DigitResult
from ccapp.errors import CallGone, ProtocolError, TelephonyError
from ccapp.telephony.agi.session import AgiSession
from tests.unit.agi.scripted import ScriptedAsterisk, agi_pair, load_transcript

T = TypeVar("T")
KEYS = '"0123456789*#"'


async def run(
    action: Callable[[AgiSession], Awaitable[T]],
    script: Callable[[ScriptedAsterisk], Coroutine[Any, Any, None]],
) -> tuple[T, list[str]]:
    async with agi_pair() as (session, asterisk):
        peer = asyncio.create_task(script(asterisk))
        try:
            result = await action(session)
        finally:
            await asyncio.wait_for(peer, 5)
        return result, asterisk.commands


def test_agi_session_satisfies_the_call_control_port() -> None:
    def accepts(_: CallControl) -> None: ...

    async def build() -> None:
        async with agi_pair() as (session, _):
            accepts(session)
            assert session.channel_id == session.request.uniqueid

    asyncio.run(build())


async def test_digits_are_collected_until_the_terminator_which_is_reported_not_kept() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("WAIT FOR DIGIT 5000", "200 result=49")
        await a.expect("WAIT FOR DIGIT 3000", "200 result=50")
        await a.expect("WAIT FOR DIGIT 3000", "200 result=35")

    result, _ = await run(lambda s: s.collect_digits(max_digits=8, terminator="#"), script)
    assert result == DigitResult("12", terminator="#", timed_out=False)


async def test_a_key_that_interrupts_the_prompt_is_the_first_digit() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect(f"STREAM FILE enter-number {KEYS}", "200 result=51 endpos=1200")
        await a.expect("WAIT FOR DIGIT 2000", "200 result=52")

    result, commands = await run(
        lambda s: s.collect_digits(
            max_digits=2, prompts=["enter-number", "never-played"], inter_digit_timeout=2.0
        ),
        script,
    )
    assert result == DigitResult("34")
    assert len(commands) == 2


async def test_the_terminator_pressed_during_the_prompt_ends_input_empty() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect(f"STREAM FILE enter-number {KEYS}", "200 result=35 endpos=10")

    result, _ = await run(lambda s: s.collect_digits(max_digits=4, prompts=["enter-number"]), script)
    assert result == DigitResult("", terminator="#")


async def test_prompts_play_in_order_then_the_first_timeout_applies() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect(f"STREAM FILE one {KEYS}", "200 result=0 endpos=8000")
        await a.expect(f"STREAM FILE two {KEYS}", "200 result=0 endpos=8000")
        await a.expect("WAIT FOR DIGIT 7500", "200 result=0")

    result, _ = await run(
        lambda s: s.collect_digits(max_digits=4, prompts=["one", "two"], first_timeout=7.5), script
    )
    assert result == DigitResult("", timed_out=True)


async def test_inter_digit_timeout_returns_what_was_typed() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("WAIT FOR DIGIT 5000", "200 result=55")
        await a.expect("WAIT FOR DIGIT 3000", "200 result=0")

    result, _ = await run(lambda s: s.collect_digits(max_digits=4), script)
    assert result == DigitResult("7", timed_out=True)


async def test_max_digits_ends_input_without_terminator_and_star_is_a_digit() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("WAIT FOR DIGIT 5000", "200 result=42")
        await a.expect("WAIT FOR DIGIT 3000", "200 result=35")
        await a.expect("WAIT FOR DIGIT 3000", "200 result=57")

    result, _ = await run(lambda s: s.collect_digits(max_digits=3, terminator=""), script)
    assert result == DigitResult("*#9")


async def test_a_custom_terminator_is_honoured() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("WAIT FOR DIGIT 5000", "200 result=35")
        await a.expect("WAIT FOR DIGIT 3000", "200 result=42")

    result, _ = await run(lambda s: s.collect_digits(max_digits=3, terminator="*"), script)
    assert result == DigitResult("#", terminator="*")


async def test_collect_digits_rejects_zero_max_digits() -> None:
    async with agi_pair() as (session, _):
        with pytest.raises(ValueError, match="max_digits"):
            await session.collect_digits(max_digits=0)


async def test_hangup_notification_raises_call_gone_and_later_commands_do_not_reach_asterisk() -> None:
    async with agi_pair() as (session, asterisk):

        async def script() -> None:
            await asterisk.expect("WAIT FOR DIGIT 3000", "200 result=-1", "HANGUP")

        peer = asyncio.create_task(script())
        with pytest.raises(CallGone):
            await session.collect_digits(max_digits=4, first_timeout=3.0)
        await peer
        assert asterisk.commands == ["WAIT FOR DIGIT 3000"]
        # result=-1 made the session ask CHANNEL STATUS, answered by HANGUP above
        assert session.gone
        with pytest.raises(CallGone):
            await session.answer()


async def test_recorded_caller_hang_up_maps_to_call_gone() -> None:
    exchanges = load_transcript("session_caller_hangs_up.txt")
    async with agi_pair() as (session, asterisk):
        for command, replies in exchanges[:8]:
            peer = asyncio.create_task(asterisk.expect(command, *replies))
            await session.command(command)
            await peer
        command, replies = exchanges[8]  # HANGUP, then 511
        peer = asyncio.create_task(asterisk.expect(command, *replies))
        with pytest.raises(CallGone):
            await session.command(command)
        await peer


async def test_511_dead_channel_is_call_gone() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("ANSWER", "511 Command Not Permitted on a dead channel or intercept routine")

    with pytest.raises(CallGone, match="dead"):
        await run(lambda s: s.answer(), script)


async def test_a_missing_sound_is_skipped_when_the_channel_is_still_up() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect('STREAM FILE no-such-sound ""', "200 result=-1 endpos=0")
        await a.expect("CHANNEL STATUS", "200 result=6")
        await a.expect('STREAM FILE beep ""', "200 result=0 endpos=3520")

    result, _ = await run(lambda s: s.play(["no-such-sound", "beep"]), script)
    assert result is None


async def test_minus_one_during_playback_of_a_hung_up_channel_is_call_gone() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect('STREAM FILE beep ""', "200 result=-1 endpos=800")
        await a.expect("CHANNEL STATUS", "HANGUP", "511 Command Not Permitted on a dead channel")

    with pytest.raises(CallGone):
        await run(lambda s: s.play(["beep"]), script)


async def test_interruptible_play_returns_the_key() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect(f"STREAM FILE menu {KEYS}", "200 result=50 endpos=100")

    result, _ = await run(lambda s: s.play(["menu", "more"], interruptible=True), script)
    assert result == "2"


async def test_continue_in_dialplan_sets_context_extension_priority_and_ends_the_session() -> None:
    async with agi_pair() as (session, asterisk):

        async def script() -> bool:
            await asterisk.expect("SET CONTEXT ccapp-fallback", "200 result=0")
            await asterisk.expect("SET EXTENSION s", "200 result=0")
            await asterisk.expect("SET PRIORITY 1", "200 result=0")
            return await asterisk.at_eof()

        peer = asyncio.create_task(script())
        await session.continue_in_dialplan("ccapp-fallback")
        assert await peer
        assert session.released
        with pytest.raises(CallGone, match="no longer under ccapp's control"):
            await session.answer()


async def test_hangup_with_normal_clearing_uses_hangup_and_other_causes_the_application() -> None:
    async def normal(a: ScriptedAsterisk) -> None:
        await a.expect("HANGUP", "200 result=1")

    async def busy(a: ScriptedAsterisk) -> None:
        await a.expect("EXEC Hangup 17", "HANGUP", "200 result=-1")

    await run(lambda s: s.hangup(), normal)
    await run(lambda s: s.hangup(17), busy)


async def test_variables_are_quoted_and_read_back() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect('SET VARIABLE GREETING "say \\"hi\\" now"', "200 result=1")
        await a.expect("GET VARIABLE GREETING", '200 result=1 (say "hi" now)')
        await a.expect("GET VARIABLE UNSET", "200 result=0")
        await a.expect('VERBOSE "hello there" 3', "200 result=1")
        await a.expect('SAY DIGITS "12" ""', "200 result=0")

    async def action(s: AgiSession) -> tuple[str | None, str | None]:
        await s.set_variable("GREETING", 'say "hi" now')
        value = await s.get_variable("GREETING")
        unset = await s.get_variable("UNSET")
        await s.verbose("hello there", 3)
        await s.say_digits("12")
        return value, unset

    result, _ = await run(action, script)
    assert result == ('say "hi" now', None)


async def test_arguments_cannot_inject_commands() -> None:
    async with agi_pair() as (session, asterisk):
        with pytest.raises(ValueError, match="line break"):
            await session.set_variable("X", "1\nHANGUP")
        with pytest.raises(ValueError, match="not a valid AGI word"):
            await session.set_variable("X Y", "1")
        with pytest.raises(ValueError, match="not a valid AGI word"):
            await session.continue_in_dialplan("ctx\nHANGUP")
        assert asterisk.commands == []


async def test_usage_and_unknown_command_replies_are_telephony_errors() -> None:
    exchanges = dict(load_transcript("session_dtmf_12hash.txt"))

    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("STREAM FILE", *exchanges["STREAM FILE"])
        await a.expect("NO SUCH COMMAND", *exchanges["NO SUCH COMMAND"])

    async with agi_pair() as (session, asterisk):
        peer = asyncio.create_task(script(asterisk))
        with pytest.raises(TelephonyError, match="520 Invalid command syntax"):
            await session.command("STREAM FILE")
        with pytest.raises(TelephonyError, match="510"):
            await session.command("NO SUCH COMMAND")
        await peer
        assert not session.released


async def test_a_command_without_reply_times_out_and_closes_the_session() -> None:
    async with agi_pair(command_timeout=0.05) as (session, asterisk):
        with pytest.raises(TelephonyError, match="no reply"):
            await session.answer()
        assert await asterisk.read_command() == "ANSWER"
        assert await asterisk.at_eof()
        assert session.released


async def test_asterisk_closing_the_connection_is_call_gone() -> None:
    async with agi_pair() as (session, asterisk):

        async def script() -> None:
            await asterisk.read_command()
            asterisk.writer.write(b"200 res")  # cut mid-line
            asterisk.writer.close()

        peer = asyncio.create_task(script())
        with pytest.raises(CallGone, match="closed"):
            await session.answer()
        await peer


async def test_a_reply_that_is_not_agi_is_a_protocol_error() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("ANSWER", "HTTP/1.1 400 Bad Request")

    with pytest.raises(ProtocolError):
        await run(lambda s: s.answer(), script)
