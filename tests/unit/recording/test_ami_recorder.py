"""AmiCallRecorder: MixMonitor, MixMonitorMute and StopMixMonitor actions, errors mapped."""

from __future__ import annotations

from typing import Any

import pytest

from ccapp.errors import CallGone, NotConnected, TelephonyError
from ccapp.telephony.ami import AmiMessage
from ccapp.telephony.ami.recorder import AmiCallRecorder

CHANNEL = "PJSIP/sipp-00000001"


class FakeAmi:
    """Records actions; answers with ``headers`` or fails with Asterisk's ``error`` message."""

    def __init__(self, error: str | None = None, headers: dict[str, str] | None = None) -> None:
        self.error = error
        self.headers = headers or {}
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def action(
        self, name: str, fields: dict[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> AmiMessage:
        self.sent.append((name, dict(fields or {})))
        if self.error:
            raise TelephonyError(f"AMI {name} failed: {self.error}")
        return AmiMessage.from_headers({"Response": "Success", **self.headers})


def recorder(ami: FakeAmi, asterisk_dir: str = "/var/spool/asterisk/recording") -> AmiCallRecorder:
    return AmiCallRecorder(ami, asterisk_dir)  # type: ignore[arg-type]


async def test_start_records_the_channel_to_an_absolute_wav_under_asterisks_dir() -> None:
    ami = FakeAmi(headers={"MixMonitorID": "0x7f41e0007e60"})
    await recorder(ami).start(CHANNEL, "ccapp/0123456789abcdef")
    assert ami.sent == [
        (
            "MixMonitor",
            {
                "Channel": CHANNEL,
                "File": "/var/spool/asterisk/recording/ccapp/0123456789abcdef.wav",
                "Options": "i(CCAPP_MIXMONITOR_ID)",
            },
        )
    ]


async def test_stop_stops_only_ccapps_own_mixmonitor_by_its_id() -> None:
    ami = FakeAmi(headers={"MixMonitorID": "0x7f41e0007e60"})
    rec = recorder(ami)
    await rec.start(CHANNEL, "ccapp/0123456789abcdef")
    await rec.stop(CHANNEL)
    assert ami.sent[-1] == ("StopMixMonitor", {"Channel": CHANNEL, "MixMonitorID": "0x7f41e0007e60"})
    await rec.stop(CHANNEL)  # the id is used once
    assert ami.sent[-1] == ("StopMixMonitor", {"Channel": CHANNEL})


async def test_mute_silences_and_restores_both_directions() -> None:
    ami = FakeAmi()
    rec = recorder(ami)
    await rec.mute(CHANNEL, True)
    await rec.mute(CHANNEL, False)
    assert ami.sent == [
        ("MixMonitorMute", {"Channel": CHANNEL, "Direction": "both", "State": "1"}),
        ("MixMonitorMute", {"Channel": CHANNEL, "Direction": "both", "State": "0"}),
    ]


async def test_a_vanished_channel_is_call_gone() -> None:
    rec = recorder(FakeAmi("No such channel"))
    with pytest.raises(CallGone, match=CHANNEL):
        await rec.start(CHANNEL, "ccapp/0123456789abcdef")
    with pytest.raises(CallGone, match=CHANNEL):
        await rec.mute(CHANNEL, True)
    with pytest.raises(CallGone, match=CHANNEL):
        await rec.stop(CHANNEL)


async def test_stopping_a_channel_that_is_not_recorded_is_fine() -> None:
    await recorder(FakeAmi("Could not stop monitoring channel")).stop(CHANNEL)


async def test_muting_a_channel_without_a_recording_is_a_telephony_error() -> None:
    with pytest.raises(TelephonyError, match="Cannot set mute flag") as info:
        await recorder(FakeAmi("Cannot set mute flag")).mute(CHANNEL, True)
    assert not isinstance(info.value, CallGone)


async def test_a_refused_start_is_a_telephony_error() -> None:
    with pytest.raises(TelephonyError, match="Could not start monitoring channel"):
        await recorder(FakeAmi("Could not start monitoring channel")).start(CHANNEL, "ccapp/0123456789abcdef")


async def test_a_dropped_ami_link_stays_not_connected() -> None:
    class DownAmi(FakeAmi):
        async def action(self, name: str, fields: dict[str, Any] | None = None, **_: Any) -> AmiMessage:
            raise NotConnected("AMI at 127.0.0.1:5038 is not connected")

    with pytest.raises(NotConnected):
        await recorder(DownAmi()).stop(CHANNEL)


@pytest.mark.parametrize(
    "name", ["../etc/passwd", "/abs/name", "ccapp/x.wav", "a,b", "ccapp/", "a//b", "x,,beep", ""]
)
async def test_unsafe_names_never_reach_asterisk(name: str) -> None:
    ami = FakeAmi()
    with pytest.raises(ValueError, match="not a safe relative name"):
        await recorder(ami).start(CHANNEL, name)
    assert ami.sent == []


def test_asterisk_dir_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="absolute"):
        recorder(FakeAmi(), "spool/recording")
