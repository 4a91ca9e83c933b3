"""ARI on the real Asterisk 22: media URIs, `record_message`, and the [ccapp-transfer] context."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import wave
from pathlib import Path

import pytest

from ccapp.errors import CallGone
from ccapp.telephony.ari.events import ChannelUserevent, Dial, PlaybackFinished, StasisEnd
from tests.integration.ari.conftest import Bed
from tests.support import testbed

pytestmark = pytest.mark.asterisk


def recording_file(name: str) -> Path:
    """Where Asterisk stored a recording, seen from outside the chroot."""
    return testbed.sandbox_root() / "var/spool/asterisk/recording" / f"{name}.wav"


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return float(wav.getnframes()) / float(wav.getframerate())


def unique(prefix: str) -> str:
    return f"ccapp-it/{prefix}-{uuid.uuid4().hex[:8]}"


async def test_number_digits_and_characters_uris_play_to_the_end(bed: Bed) -> None:
    async with asyncio.timeout(30):
        control = await bed.originate("Local/silent@ccapp-test")
        await control.answer()
        uris = ["number:1250", "number:-42", "digits:42", "characters:eur", "vm-goodbye"]
        for uri in uris:  # one playback each: a list would report only its last item's end
            assert await control.play([uri]) is None
        await control.hangup()
    finished = [e.playback for e in bed.seen if isinstance(e, PlaybackFinished)]
    assert [(p.media_uri, p.state) for p in finished] == [
        ("number:1250", "done"),
        ("number:-42", "done"),
        ("digits:42", "done"),
        ("characters:eur", "done"),
        ("sound:vm-goodbye", "done"),
    ]


async def test_a_message_that_reaches_the_limit_is_stored_as_long_as_the_limit(bed: Bed) -> None:
    name = unique("max")
    async with asyncio.timeout(30):
        control = await bed.originate("Local/talk30@ccapp-test")
        await control.answer()
        result = await control.record_message(name, max_seconds=3, beep=False)
        await control.hangup()
    assert (result.name, result.reason) == (name, "max_duration")
    assert result.duration_s == pytest.approx(3, abs=1)
    assert wav_seconds(recording_file(name)) == pytest.approx(3.0, abs=0.5)


async def test_a_caller_hanging_up_while_recording_keeps_the_message(bed: Bed) -> None:
    name = unique("hangup")
    async with asyncio.timeout(30):
        # the far end plays music for 4 s and hangs up; the beep takes part of that
        control = await bed.originate("Local/talk4@ccapp-test")
        await control.answer()
        result = await control.record_message(name, max_seconds=20, beep=True)
        with pytest.raises(CallGone):
            await control.play(["beep"])
    assert result.reason == "hangup"
    seconds = wav_seconds(recording_file(name))
    assert 2.5 <= seconds <= 4.2
    assert result.duration_s == pytest.approx(seconds, abs=1)


async def test_the_terminator_ends_the_recording(bed: Bed) -> None:
    name = unique("hash")
    async with asyncio.timeout(30):
        # the far end sends 1 2 # about 1.5 s after answering
        control = await bed.originate("Local/D12#@ccapp-test")
        await control.answer()
        result = await control.record_message(name, max_seconds=20, beep=False, terminator="#")
        await control.hangup()
    assert (result.name, result.reason) == (name, "terminator")
    assert result.duration_s < 5
    assert recording_file(name).exists()


# -- [ccapp-transfer] ----------------------------------------------------------------------------


SCENARIOS = Path(__file__).parent / "scenarios"


async def agent_phone(port: int, scenario: str = "uas") -> asyncio.subprocess.Process:
    """A SIPp UAS on ``port`` inside the chroot for one call: the built-in ``uas`` (answers) or a
    file in scenarios/."""
    if scenario.endswith(".xml"):
        (testbed.sandbox_root() / "tmp" / scenario).write_text((SCENARIOS / scenario).read_text())
        chosen = ["-sf", f"/tmp/{scenario}"]
    else:
        chosen = ["-sn", scenario]
    return await asyncio.create_subprocess_exec(
        str(testbed.SANDBOX), "exec", "sipp", *chosen, "-i", "127.0.0.1", "-p", str(port),
        "-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_transfer_context_rings_the_agent_phone_which_answers(bed: Bed) -> None:
    # agent-sipp-1's settings, but a port of its own: other tests' SIPp phones may hold 5071
    port = testbed.free_udp_port()
    sipp = await agent_phone(port)
    try:
        await asyncio.sleep(1.0)  # SIPp binds its port; nothing to wait on from outside the chroot
        async with asyncio.timeout(40):
            control = await bed.originate("Local/silent@ccapp-test")
            await control.answer()
            target = f"PJSIP/agent-sipp-1/sip:agent@127.0.0.1:{port}"
            await control.set_variable("CCAPP_TRANSFER_TARGET", target)
            await control.set_variable("CCAPP_TRANSFER_TIMEOUT", "10")
            await control.continue_in_dialplan("ccapp-transfer", "s", 1)
            # the channel stays subscribed to the app after it left Stasis: its Dial events come
            await bed.wait_for(
                lambda e: (
                    isinstance(e, Dial)
                    and e.dialstatus == "ANSWER"
                    and e.peer.name.startswith("PJSIP/agent-sipp-1")
                )
            )
            # the caller ends the call; Asterisk sends the agent phone a BYE and SIPp finishes
            await bed.client.channels.hangup(control.channel_id)
            out, err = await sipp.communicate()
    finally:
        if sipp.returncode is None:
            sipp.kill()
            await sipp.wait()
    assert sipp.returncode == 0, (out.decode()[-2000:], err.decode()[-2000:])


async def test_a_transfer_that_cannot_ring_the_target_reports_the_failure(bed: Bed) -> None:
    async with asyncio.timeout(30):
        control = await bed.originate("Local/silent@ccapp-test")
        await control.answer()
        await control.set_variable("CCAPP_TRANSFER_TARGET", "PJSIP/no-such-endpoint")
        await control.set_variable("CCAPP_CALL_ID", "call-42")
        await control.continue_in_dialplan("ccapp-transfer", "s", 1)
        event = await bed.wait_for(
            lambda e: isinstance(e, ChannelUserevent) and e.eventname == "CcappTransferFailed"
        )
    assert isinstance(event, ChannelUserevent)
    assert event.userevent["Status"] == "CHANUNAVAIL"
    assert event.userevent["Target"] == "PJSIP/no-such-endpoint"
    assert event.userevent["CallId"] == "call-42"
    assert any(isinstance(e, StasisEnd) and e.channel_id == control.channel_id for e in bed.seen)
    with contextlib.suppress(CallGone):
        await bed.client.channels.hangup(control.channel_id)


async def test_a_busy_agent_phone_fails_the_transfer_with_status_busy(bed: Bed) -> None:
    port = testbed.free_udp_port()
    sipp = await agent_phone(port, "uas_busy.xml")
    try:
        await asyncio.sleep(1.0)  # SIPp binds its port; nothing to wait on from outside the chroot
        async with asyncio.timeout(30):
            control = await bed.originate("Local/silent@ccapp-test")
            await control.answer()
            await control.set_variable(
                "CCAPP_TRANSFER_TARGET", f"PJSIP/agent-sipp-2/sip:agent@127.0.0.1:{port}"
            )
            await control.continue_in_dialplan("ccapp-transfer", "s", 1)
            event = await bed.wait_for(
                lambda e: isinstance(e, ChannelUserevent) and e.eventname == "CcappTransferFailed"
            )
            out, err = await sipp.communicate()
    finally:
        if sipp.returncode is None:
            sipp.kill()
            await sipp.wait()
        with contextlib.suppress(CallGone):
            await bed.client.channels.hangup(control.channel_id)
    assert isinstance(event, ChannelUserevent)
    assert event.userevent["Status"] == "BUSY"
    assert sipp.returncode == 0, (out.decode()[-2000:], err.decode()[-2000:])
