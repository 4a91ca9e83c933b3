"""The in-memory `FakeCallControl` keeps the port's promises."""

from __future__ import annotations

import pytest

from ccapp.calls.fakes import FakeCallControl
from ccapp.calls.ports import CallControl, RecordResult
from ccapp.errors import CallGone


def test_the_fake_satisfies_the_call_control_port() -> None:
    def accepts(_: CallControl) -> None: ...

    accepts(FakeCallControl())


async def test_a_message_shorter_than_the_limit_ends_on_the_terminator() -> None:
    fake = FakeCallControl(record_seconds=2.5)
    result = await fake.record_message("vm/1", max_seconds=30)
    assert result == RecordResult("vm/1", 2.5, "terminator")
    assert fake.actions == [("record", "vm/1")]


async def test_a_message_longer_than_the_limit_is_cut_at_the_limit() -> None:
    fake = FakeCallControl(record_seconds=60)
    assert await fake.record_message("vm/2", max_seconds=10) == RecordResult("vm/2", 10, "max_duration")


async def test_a_caller_hanging_up_while_recording_keeps_the_message() -> None:
    fake = FakeCallControl(hang_up_after=1)
    await fake.answer()
    result = await fake.record_message("vm/3", max_seconds=30)
    assert result == RecordResult("vm/3", 3.0, "hangup")
    assert fake.actions == [("answer", None), ("record", "vm/3")]
    with pytest.raises(CallGone):
        await fake.play(["vm-goodbye"])


async def test_recording_after_the_caller_left_raises_call_gone() -> None:
    fake = FakeCallControl(hang_up_after=0)
    with pytest.raises(CallGone):
        await fake.answer()
    with pytest.raises(CallGone):
        await fake.record_message("vm/4", max_seconds=30)
