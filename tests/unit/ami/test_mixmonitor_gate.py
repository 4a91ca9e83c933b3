"""MixMonitorGate: mutes a dialplan recording through AMI; quiet when there is none."""

from __future__ import annotations

from typing import Any

import pytest

from ccapp.errors import CcappError, TelephonyError
from ccapp.telephony.ami.mixmonitor import MixMonitorGate


class FakeAmi:
    def __init__(self, error: str | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def action(
        self, name: str, fields: dict[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> None:
        self.sent.append((name, dict(fields or {})))
        if self.error:
            raise TelephonyError(f"AMI {name} failed: {self.error}")


async def test_pause_and_resume_mute_both_directions_of_the_channel() -> None:
    ami = FakeAmi()
    gate = MixMonitorGate(ami, "PJSIP/sipp-0001")  # type: ignore[arg-type]
    await gate.pause("sensitive input")
    await gate.resume("done")
    assert ami.sent == [
        ("MixMonitorMute", {"Channel": "PJSIP/sipp-0001", "Direction": "both", "State": "1"}),
        ("MixMonitorMute", {"Channel": "PJSIP/sipp-0001", "Direction": "both", "State": "0"}),
    ]


async def test_no_recording_on_the_channel_is_not_a_problem() -> None:
    gate = MixMonitorGate(FakeAmi("Cannot find MixMonitor: not found"), "PJSIP/x")  # type: ignore[arg-type]
    await gate.pause("sensitive input")
    await gate.resume("done")
    assert not gate.muted


async def test_a_failure_fails_closed_only_when_asked() -> None:
    open_gate = MixMonitorGate(FakeAmi("No such channel"), "PJSIP/x")  # type: ignore[arg-type]
    await open_gate.pause("sensitive input")  # logged, the call goes on
    closed = MixMonitorGate(FakeAmi("No such channel"), "PJSIP/x", fail_closed=True)  # type: ignore[arg-type]
    with pytest.raises(CcappError):
        await closed.pause("sensitive input")


async def test_without_ami_nothing_is_sent() -> None:
    gate = MixMonitorGate(None, "PJSIP/x")
    await gate.pause("sensitive input")
    await gate.resume("done")
