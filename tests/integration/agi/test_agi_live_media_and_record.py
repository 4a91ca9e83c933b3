"""FastAGI on the real Asterisk 22: media URIs in `play` and `record_message` into the spool."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from ccapp.calls.ports import RecordResult
from ccapp.errors import CallGone, TelephonyError
from ccapp.telephony.agi import AgiSession
from tests.integration.agi.conftest import AgiBed
from tests.support import testbed

pytestmark = pytest.mark.asterisk

T = TypeVar("T")
SPOOL = "/var/spool/asterisk/recording"


def in_chroot(path: str) -> Path:
    return testbed.sandbox_root() / path.lstrip("/")


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return float(wav.getnframes()) / float(wav.getframerate())


async def run_ivr(agi_bed: AgiBed, far_end: str, ivr: Callable[[AgiSession], Awaitable[T]]) -> T:
    """Place one call whose AGI session runs ``ivr``; return what it returned (or raise)."""
    outcome: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    async def handler(session: AgiSession) -> None:
        try:
            outcome.set_result(await ivr(session))
        except Exception as exc:
            outcome.set_exception(exc)
            raise

    await agi_bed.call(handler, far_end=far_end)
    return await asyncio.wait_for(outcome, 40)


async def test_number_digits_and_characters_are_spoken(
    agi_bed: AgiBed, caplog: pytest.LogCaptureFixture
) -> None:
    async def ivr(session: AgiSession) -> tuple[str | None, float]:
        await session.answer()
        started = time.monotonic()
        key = await session.play(
            ["number:1250", "number:-42", "digits:42", "characters:eur", "sound:vm-goodbye"]
        )
        elapsed = time.monotonic() - started
        await session.hangup()
        return key, elapsed

    with caplog.at_level(logging.WARNING, "ccapp.telephony.agi"):
        key, elapsed = await run_ivr(agi_bed, "silent", ivr)
    assert key is None
    assert elapsed > 4  # about 7 s of speech; a refused command returns at once
    assert "could not be played" not in caplog.text


async def test_a_key_stops_an_interruptible_say_number(agi_bed: AgiBed) -> None:
    async def ivr(session: AgiSession) -> str | None:
        await session.answer()
        # the far end sends 5 after about 1.5 s, while Asterisk is still saying the number
        key = await session.play(["number:987654321", "vm-goodbye"], interruptible=True)
        await session.hangup()
        return key

    assert await run_ivr(agi_bed, "D5", ivr) == "5"


async def test_a_message_that_reaches_the_limit_is_as_long_as_the_limit(agi_bed: AgiBed) -> None:
    name = f"ccapp-it-agi-{uuid.uuid4().hex[:8]}"

    async def ivr(session: AgiSession) -> RecordResult:
        await session.answer()
        result = await session.record_message(name, max_seconds=3, beep=True)
        await session.hangup()
        return result

    result = await run_ivr(agi_bed, "talk30", ivr)
    assert (result.name, result.reason) == (f"{SPOOL}/{name}", "max_duration")
    assert result.duration_s == pytest.approx(3.0, abs=0.1)
    assert wav_seconds(in_chroot(f"{SPOOL}/{name}.wav")) == pytest.approx(3.0, abs=0.5)


async def test_a_caller_hanging_up_while_recording_keeps_the_message(agi_bed: AgiBed) -> None:
    name = f"ccapp-it-agi-{uuid.uuid4().hex[:8]}"

    async def ivr(session: AgiSession) -> tuple[RecordResult, bool]:
        await session.answer()
        result = await session.record_message(name, max_seconds=20, beep=True)
        try:
            await session.play(["beep"])
        except CallGone:
            return result, True
        return result, False

    result, gone = await run_ivr(agi_bed, "talk4", ivr)
    assert gone
    assert result.reason == "hangup"
    seconds = wav_seconds(in_chroot(f"{SPOOL}/{name}.wav"))
    assert 2.5 <= seconds <= 4.2
    assert result.duration_s == pytest.approx(seconds, abs=0.1)


async def test_the_terminator_ends_the_recording(agi_bed: AgiBed) -> None:
    name = f"ccapp-it-agi-{uuid.uuid4().hex[:8]}"

    async def ivr(session: AgiSession) -> RecordResult:
        await session.answer()
        result = await session.record_message(name, max_seconds=20, beep=False)
        await session.hangup()
        return result

    result = await run_ivr(agi_bed, "D12#", ivr)
    assert (result.name, result.reason) == (f"{SPOOL}/{name}", "terminator")
    assert result.duration_s < 5
    assert in_chroot(f"{SPOOL}/{name}.wav").exists()


async def test_recording_into_a_missing_directory_is_a_telephony_error(agi_bed: AgiBed) -> None:
    name = f"no-such-dir-{uuid.uuid4().hex[:8]}/message"

    async def ivr(session: AgiSession) -> RecordResult:
        await session.answer()
        try:
            return await session.record_message(name, max_seconds=3, beep=False)
        finally:
            await session.hangup()

    with pytest.raises(TelephonyError, match="directory"):
        await run_ivr(agi_bed, "silent", ivr)
