"""AGI prompts given as ARI-style media URIs, and messages recorded with RECORD FILE."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest

from ccapp.calls.ports import RecordResult
from ccapp.errors import CallGone, TelephonyError
from ccapp.telephony.agi.session import AgiSession, media_command
from tests.unit.agi.scripted import ScriptedAsterisk, agi_pair, fixture_request

T = TypeVar("T")
KEYS = '"0123456789*#"'
SPOOL = "/var/spool/asterisk/recording"


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


@pytest.mark.parametrize(
    ("prompt", "command"),
    [
        ("vm-goodbye", 'STREAM FILE vm-goodbye ""'),
        ("sound:ccapp/tts/ab12", 'STREAM FILE ccapp/tts/ab12 ""'),
        ("digits:123", 'SAY DIGITS 123 ""'),
        ("digits:*0#", 'SAY DIGITS *0# ""'),
        ("number:42", 'SAY NUMBER 42 ""'),
        ("number:-42", 'SAY NUMBER -42 ""'),
        ("number:1250", 'SAY NUMBER 1250 ""'),
        ("characters:abc", 'SAY ALPHA "abc" ""'),
        ("characters:a b", 'SAY ALPHA "a b" ""'),
    ],
)
def test_each_media_uri_becomes_its_agi_command(prompt: str, command: str) -> None:
    assert media_command(prompt, "") == command


@pytest.mark.parametrize(
    "prompt", ["tone:ring", "number:12.5", "number:abc", "digits:12a", "digits:", "sound:"]
)
def test_a_prompt_agi_cannot_play_has_no_command(prompt: str) -> None:
    assert media_command(prompt, "") is None


def test_a_sound_name_with_a_space_is_refused() -> None:
    with pytest.raises(ValueError, match="AGI word"):
        media_command("sound:two words", "")


async def test_uris_play_in_order_with_the_right_commands() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect('STREAM FILE your ""', "200 result=0 endpos=8000")
        await a.expect('SAY NUMBER 1250 ""', "200 result=0")
        await a.expect('SAY DIGITS 42 ""', "200 result=0")
        await a.expect('SAY ALPHA "eur" ""', "200 result=0")

    result, commands = await run(
        lambda s: s.play(["sound:your", "number:1250", "digits:42", "characters:eur"]), script
    )
    assert result is None
    assert len(commands) == 4


async def test_a_key_during_an_interruptible_say_number_stops_the_rest_and_is_returned() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect(f"SAY NUMBER -7 {KEYS}", "200 result=53")

    result, commands = await run(lambda s: s.play(["number:-7", "vm-goodbye"], interruptible=True), script)
    assert result == "5"
    assert commands == [f"SAY NUMBER -7 {KEYS}"]


async def test_an_unplayable_prompt_is_skipped_and_the_next_one_plays() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect(f"SAY DIGITS 9 {KEYS}", "200 result=0")

    result, commands = await run(lambda s: s.play(["tone:ring", "digits:9"], interruptible=True), script)
    assert result is None
    assert commands == [f"SAY DIGITS 9 {KEYS}"]


async def test_a_say_that_fails_on_a_live_channel_is_skipped() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect('SAY ALPHA "x" ""', "200 result=-1")
        await a.expect("CHANNEL STATUS", "200 result=6")
        await a.expect('STREAM FILE vm-goodbye ""', "200 result=0 endpos=100")

    result, _ = await run(lambda s: s.play(["characters:x", "vm-goodbye"]), script)
    assert result is None


async def test_a_hang_up_during_say_number_raises_call_gone() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect('SAY NUMBER 3 ""', "HANGUP")

    with pytest.raises(CallGone):
        await run(lambda s: s.play(["number:3"]), script)


# -- record_message -------------------------------------------------------------------------------


def _record(name: str = "msg/abc", seconds: int = 30, extra: str = " BEEP s=5") -> str:
    return f'RECORD FILE {SPOOL}/{name} wav "#" {seconds * 1000}{extra}'


async def test_the_recording_directory_is_asked_once_from_the_spool_directory() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("GET VARIABLE ASTSPOOLDIR", "200 result=1 (/var/spool/asterisk)")
        await a.expect(_record(), "200 result=35 (dtmf) endpos=28000")
        await a.expect(_record("b"), "200 result=35 (dtmf) endpos=8000")

    async def twice(s: AgiSession) -> list[RecordResult]:
        return [
            await s.record_message("msg/abc", max_seconds=30),
            await s.record_message("b", max_seconds=30),
        ]

    results, _ = await run(twice, script)
    assert results == [
        RecordResult(f"{SPOOL}/msg/abc", 3.5, "terminator"),
        RecordResult(f"{SPOOL}/b", 1.0, "terminator"),
    ]


async def test_a_recording_that_runs_to_the_limit_ends_with_max_duration() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("GET VARIABLE ASTSPOOLDIR", "200 result=1 (/var/spool/asterisk)")
        command = await a.read_command()
        assert command == f'RECORD FILE {SPOOL}/m wav "" 200 s=5'
        await asyncio.sleep(0.25)  # the command runs its whole time limit
        a.send("200 result=0 (timeout) endpos=1600")

    result, _ = await run(lambda s: s.record_message("m", max_seconds=0.2, beep=False, terminator=""), script)
    assert result == RecordResult(f"{SPOOL}/m", 0.2, "max_duration")


async def test_a_recording_cut_short_by_a_timeout_reply_ended_on_silence() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("GET VARIABLE ASTSPOOLDIR", "200 result=1 (/var/spool/asterisk)")
        await a.expect(_record(), "200 result=0 (timeout) endpos=16000")

    result, _ = await run(lambda s: s.record_message("msg/abc", max_seconds=30), script)
    assert result == RecordResult(f"{SPOOL}/msg/abc", 2.0, "silence")


async def test_a_hang_up_while_recording_keeps_the_message_and_ends_the_session() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("GET VARIABLE ASTSPOOLDIR", "200 result=1 (/var/spool/asterisk)")
        await a.expect(_record(), "200 result=-1 (hangup) endpos=20000", "HANGUP")

    async def record_then_play(s: AgiSession) -> tuple[RecordResult, bool]:
        result = await s.record_message("msg/abc", max_seconds=30)
        return result, s.gone

    (result, gone), _ = await run(record_then_play, script)
    assert result == RecordResult(f"{SPOOL}/msg/abc", 2.5, "hangup")
    assert gone


async def test_a_configured_directory_and_no_silence_detection_skip_both_extras() -> None:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    a_reader, a_writer = await asyncio.open_connection(sock=theirs)
    session = AgiSession(fixture_request(), reader, writer, recording_dir="/srv/rec", record_silence_s=0)
    asterisk = ScriptedAsterisk(a_reader, a_writer)
    peer = asyncio.create_task(
        asterisk.expect('RECORD FILE /srv/rec/x wav "*#" 5000 BEEP', "200 result=42 (dtmf) endpos=0")
    )
    try:
        result = await session.record_message("x", max_seconds=5, terminator="*#")
        await asyncio.wait_for(peer, 5)
    finally:
        await session.close()
        a_writer.close()
        await a_writer.wait_closed()
    assert result == RecordResult("/srv/rec/x", 0.0, "terminator")


async def test_a_file_asterisk_cannot_write_is_a_telephony_error() -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("GET VARIABLE ASTSPOOLDIR", "200 result=1 (/var/spool/asterisk)")
        await a.expect(_record("no/dir"), "200 result=-1 (writefile)")
        await a.expect("CHANNEL STATUS", "200 result=6")

    with pytest.raises(TelephonyError, match="directory"):
        await run(lambda s: s.record_message("no/dir", max_seconds=30), script)


@pytest.mark.parametrize("name", ["/etc/passwd", "../x", "a/../../x", "", "a//b", "two words"])
async def test_names_outside_the_recording_directory_are_refused(name: str) -> None:
    async def script(a: ScriptedAsterisk) -> None:
        await a.expect("GET VARIABLE ASTSPOOLDIR", "200 result=1 (/var/spool/asterisk)")

    with pytest.raises(ValueError, match=r"recording name|AGI word"):
        await run(lambda s: s.record_message(name, max_seconds=5), script)
