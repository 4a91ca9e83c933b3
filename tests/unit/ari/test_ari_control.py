"""AriCallControl on a fake event feed: playback, barge-in, digit collection, hang-ups."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from ccapp.errors import CallGone, TelephonyError
from ccapp.telephony.ari.client import AriRequestError
from ccapp.telephony.ari.control import AriCallControl, FeedItem, FeedSignal
from ccapp.telephony.ari.events import (
    Channel,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    ChannelStateChange,
    Playback,
    PlaybackFinished,
    PlaybackStarted,
    StasisEnd,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CHANNEL = Channel(id="1.1", name="PJSIP/alice-00000001", state="Up")


def base(kind: str) -> dict[str, Any]:
    return {"type": kind, "timestamp": T0, "application": "ccapp"}


def dtmf(digit: str) -> ChannelDtmfReceived:
    return ChannelDtmfReceived(**base("ChannelDtmfReceived"), channel=CHANNEL, digit=digit, duration_ms=100)


def hangup_request() -> ChannelHangupRequest:
    return ChannelHangupRequest(**base("ChannelHangupRequest"), channel=CHANNEL, cause=16)


def finished(playback_id: str, state: str = "done") -> PlaybackFinished:
    pb = Playback(id=playback_id, target_uri=f"channel:{CHANNEL.id}", state=state)
    return PlaybackFinished(**base("PlaybackFinished"), playback=pb)


class FakeAri:
    """Stands in for `AriClient`: records requests and plays the part of Asterisk.

    Each ``play`` emits PlaybackStarted, then ``keys_during_play`` (if any, once), then — unless
    ``hold_playback`` — PlaybackFinished after ``play_s``."""

    def __init__(self, queue: asyncio.Queue[FeedItem]) -> None:
        self.queue = queue
        self.calls: list[tuple[str, Any]] = []
        self.played: list[list[str]] = []
        self.keys_during_play: list[str] = []
        self.play_s = 0.01
        self.hold_playback = False
        self.fail_next: TelephonyError | None = None
        self.emit_on_failure: FeedItem | None = None
        self.stopped: list[str] = []
        self.known_playbacks: set[str] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self.channels = self
        self.playbacks = _Playbacks(self)

    def emit(self, item: FeedItem) -> None:
        self.queue.put_nowait(item)

    def _maybe_fail(self) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            if self.emit_on_failure is not None:
                self.emit(self.emit_on_failure)
            raise error

    async def answer(self, channel_id: str) -> None:
        self._maybe_fail()
        self.calls.append(("answer", channel_id))

    async def play(
        self, channel_id: str, media: Sequence[str], *, playback_id: str, lang: str | None = None
    ) -> Playback:
        self._maybe_fail()
        self.played.append(list(media))
        self.known_playbacks.add(playback_id)
        pb = Playback(id=playback_id, target_uri=f"channel:{channel_id}", state="playing")
        self.emit(PlaybackStarted(**base("PlaybackStarted"), playback=pb))
        for key in self.keys_during_play:
            self.emit(dtmf(key))
        self.keys_during_play = []
        if not self.hold_playback:
            loop = asyncio.get_running_loop()
            self._timers.append(loop.call_later(self.play_s, self._finish, playback_id))
        return pb

    def _finish(self, playback_id: str) -> None:
        if playback_id in self.known_playbacks:
            self.known_playbacks.discard(playback_id)
            self.emit(finished(playback_id))

    async def set_var(self, channel_id: str, name: str, value: str) -> None:
        self._maybe_fail()
        self.calls.append(("set_var", (name, value)))

    async def hangup(
        self, channel_id: str, reason: str | None = None, *, reason_code: int | None = None
    ) -> None:
        self._maybe_fail()
        self.calls.append(("hangup", reason_code))

    async def continue_in_dialplan(
        self, channel_id: str, context: str, extension: str, priority: int
    ) -> None:
        self._maybe_fail()
        self.calls.append(("continue", (context, extension, priority)))

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()


class _Playbacks:
    def __init__(self, ari: FakeAri) -> None:
        self.ari = ari

    async def stop(self, playback_id: str) -> None:
        self.ari.stopped.append(playback_id)
        if playback_id not in self.ari.known_playbacks:
            raise AriRequestError("gone", status=404, ari_message="Playback not found")
        self.ari._finish(playback_id)

    async def get(self, playback_id: str) -> Playback:
        if playback_id not in self.ari.known_playbacks:
            raise AriRequestError("gone", status=404, ari_message="Playback not found")
        return Playback(id=playback_id, state="playing")


@pytest.fixture
def ari() -> Any:
    fake = FakeAri(asyncio.Queue())
    yield fake
    fake.close()


def control_on(ari: FakeAri, channel: Channel = CHANNEL) -> AriCallControl:
    return AriCallControl(ari, channel, ari.queue)  # type: ignore[arg-type]


async def test_play_sends_sound_uris_in_one_request_and_returns_when_that_playback_ends(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.emit(finished("someone-elses"))
    async with asyncio.timeout(2):
        assert await control.play(["hello", "digits:42"]) is None
    assert ari.played == [["sound:hello", "digits:42"]]


async def test_a_key_interrupts_an_interruptible_prompt_which_is_stopped(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.hold_playback = True
    ari.keys_during_play = ["5"]
    async with asyncio.timeout(2):
        assert await control.play(["menu"], interruptible=True) == "5"
    assert len(ari.stopped) == 1


async def test_keys_during_a_plain_prompt_are_dropped(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.keys_during_play = ["9"]
    async with asyncio.timeout(2):
        assert await control.play(["legal-notice"]) is None
        result = await control.collect_digits(max_digits=1, first_timeout=0.05)
    assert result.timed_out
    assert result.digits == ""


async def test_collect_returns_digits_and_the_terminator_apart(ari: FakeAri) -> None:
    control = control_on(ari)
    for key in "12#":
        ari.emit(dtmf(key))
    async with asyncio.timeout(2):
        result = await control.collect_digits(max_digits=8, terminator="#")
    assert (result.digits, result.terminator, result.timed_out) == ("12", "#", False)


async def test_collect_stops_at_max_digits_and_leaves_later_keys_for_the_next_read(ari: FakeAri) -> None:
    control = control_on(ari)
    for key in "1234":
        ari.emit(dtmf(key))
    async with asyncio.timeout(2):
        first = await control.collect_digits(max_digits=3)
        second = await control.collect_digits(max_digits=1)
    assert (first.digits, first.terminator) == ("123", None)
    assert second.digits == "4"


async def test_a_key_during_the_prompt_is_the_first_digit(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.hold_playback = True
    ari.keys_during_play = ["7"]

    async def rest() -> None:
        await asyncio.sleep(0.02)
        ari.emit(dtmf("8"))
        ari.emit(dtmf("#"))

    async with asyncio.timeout(2), asyncio.TaskGroup() as tg:
        tg.create_task(rest())
        result = await control.collect_digits(max_digits=4, prompts=["enter-account"])
    assert (result.digits, result.terminator) == ("78", "#")
    assert len(ari.stopped) == 1


async def test_the_terminator_during_the_prompt_ends_input_with_no_digits(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.hold_playback = True
    ari.keys_during_play = ["#"]
    async with asyncio.timeout(2):
        result = await control.collect_digits(max_digits=4, prompts=["enter-account"])
    assert (result.digits, result.terminator, result.timed_out) == ("", "#", False)


async def test_nothing_pressed_times_out_first_timeout_after_the_prompt(
    ari: FakeAri,
) -> None:
    control = control_on(ari)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(2):
        result = await control.collect_digits(max_digits=4, prompts=["p"], first_timeout=0.1)
    assert (result.digits, result.timed_out) == ("", True)
    assert loop.time() - started >= 0.1


async def test_a_pause_after_some_digits_times_out_with_what_was_typed(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.emit(dtmf("4"))
    async with asyncio.timeout(2):
        result = await control.collect_digits(max_digits=4, first_timeout=5, inter_digit_timeout=0.05)
    assert (result.digits, result.terminator, result.timed_out) == ("4", None, True)


async def test_a_hang_up_while_collecting_raises_call_gone_now_and_later(ari: FakeAri) -> None:
    control = control_on(ari)

    async def caller_hangs_up() -> None:
        await asyncio.sleep(0.02)
        ari.emit(hangup_request())

    async with asyncio.timeout(2):
        task = asyncio.create_task(caller_hangs_up())
        with pytest.raises(CallGone):
            await control.collect_digits(max_digits=4, first_timeout=5)
        await task
        with pytest.raises(CallGone):
            await control.set_variable("X", "1")
    assert ari.calls == []
    assert control.gone


async def test_stasis_end_during_a_prompt_raises_call_gone(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.hold_playback = True

    async def leave() -> None:
        await asyncio.sleep(0.02)
        ari.emit(StasisEnd(**base("StasisEnd"), channel=CHANNEL))

    async with asyncio.timeout(2), asyncio.TaskGroup() as tg:
        tg.create_task(leave())
        with pytest.raises(CallGone):
            await control.play(["long-prompt"])


async def test_a_channel_lost_during_a_reconnect_raises_call_gone(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.emit(FeedSignal.LOST)
    with pytest.raises(CallGone, match="lost"):
        await control.answer()


async def test_a_resync_finds_a_playback_whose_end_was_missed(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.hold_playback = True

    async def reconnected() -> None:
        await asyncio.sleep(0.02)
        ari.known_playbacks.clear()  # it ended while the socket was down
        ari.emit(FeedSignal.RESYNC)

    async with asyncio.timeout(2), asyncio.TaskGroup() as tg:
        tg.create_task(reconnected())
        assert await control.play(["p"]) is None


async def test_a_refused_request_racing_the_callers_hang_up_is_call_gone(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.fail_next = AriRequestError("409", status=409, ari_message="Channel not in Stasis application")
    # the caller leaves while the request is on its way: StasisEnd arrives with the refusal
    ari.emit_on_failure = StasisEnd(**base("StasisEnd"), channel=CHANNEL)
    with pytest.raises(CallGone):
        await control.play(["p"])


async def test_a_refused_request_on_a_live_channel_stays_a_telephony_error(ari: FakeAri) -> None:
    control = control_on(ari)
    ari.fail_next = AriRequestError("500", status=500, ari_message="Failed")
    with pytest.raises(TelephonyError) as caught:
        await control.set_variable("X", "1")
    assert not isinstance(caught.value, CallGone)


async def test_answer_only_asks_asterisk_when_the_channel_is_not_up(ari: FakeAri) -> None:
    up = control_on(ari)
    await up.answer()
    ringing = control_on(ari, Channel(id="1.2", name="PJSIP/bob-00000002", state="Ring"))
    await ringing.answer()
    assert ari.calls == [("answer", "1.2")]


async def test_state_changes_are_tracked(ari: FakeAri) -> None:
    control = control_on(ari, Channel(id="1.1", name="x", state="Ring"))
    ari.emit(ChannelStateChange(**base("ChannelStateChange"), channel=CHANNEL))
    await control.answer()
    assert ari.calls == []


async def test_hangup_sends_the_cause_and_ends_the_control(ari: FakeAri) -> None:
    control = control_on(ari)
    await control.hangup(17)
    assert ari.calls == [("hangup", 17)]
    with pytest.raises(CallGone):
        await control.say_digits("1")


async def test_continue_in_dialplan_hands_the_channel_over(ari: FakeAri) -> None:
    control = control_on(ari)
    await control.set_variable("CCAPP_FALLBACK_REASON", "error")
    await control.continue_in_dialplan("ccapp-fallback")
    assert ari.calls == [
        ("set_var", ("CCAPP_FALLBACK_REASON", "error")),
        ("continue", ("ccapp-fallback", "s", 1)),
    ]
    with pytest.raises(CallGone):
        await control.play(["p"])


async def test_say_digits_plays_the_digits_media(ari: FakeAri) -> None:
    control = control_on(ari)
    async with asyncio.timeout(2):
        await control.say_digits("1234")
        await control.say_digits("")
    assert ari.played == [["digits:1234"]]
