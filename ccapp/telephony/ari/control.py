"""`CallControl` over ARI for one channel in Stasis.

The control reads its channel's events from a queue that `AriApp` fills (or a test does). It has no
task of its own: each operation consumes events while it waits, with a timeout where the port has
one. Keys are buffered until an operation wants them (type-ahead); keys pressed during a
non-interruptible prompt are dropped, like Asterisk's Playback().

Once the channel hangs up, leaves the application, or is reported lost after a reconnect, every
pending and later operation raises `CallGone`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import uuid
from collections import deque
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from ccapp.calls.ports import DigitResult, RecordResult
from ccapp.errors import CallGone, TelephonyError
from ccapp.ivr.ports import Utterance
from ccapp.speech.listener import MediaTap
from ccapp.speech.vad import VadEvent, VadSettings
from ccapp.telephony.ari.client import AriClient, AriRequestError
from ccapp.telephony.ari.events import (
    AriEvent,
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    ChannelStateChange,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    RecordingStarted,
    StasisEnd,
)
from ccapp.telephony.ari.media import media_uris

log = logging.getLogger("ccapp.telephony.ari.control")
T = TypeVar("T")


class FeedSignal(enum.Enum):
    """Notes `AriApp` slips into a channel's queue besides events."""

    #: the events socket reconnected and Asterisk no longer has the channel
    LOST = "lost"
    #: the events socket reconnected; events may have been missed, re-check what is awaited
    RESYNC = "resync"


FeedItem = AriEvent | FeedSignal

#: port terminator → ARI ``terminateOn``
_TERMINATE_ON = {"#": "#", "*": "*", "any": "any", "": "none"}
#: how long past its maximum length a recording may take to be reported finished
_RECORD_GRACE_S = 30.0


def _check_recording_name(name: str) -> None:
    """A relative name under the recording directory; ARI creates the folders in it."""
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts) or any(c.isspace() for c in name):
        raise ValueError(f"not a relative recording name: {name!r}")


class AriCallControl:
    """Implements `ccapp.calls.ports.CallControl` for ``channel``."""

    def __init__(
        self,
        client: AriClient,
        channel: Channel,
        events: asyncio.Queue[FeedItem],
        *,
        lang: str | None = None,
        record_silence_s: int = 5,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self._client = client
        #: where Asterisk sends the caller's audio during `listen` (ccapp's address as Asterisk sees it)
        self.listen_host = listen_host
        self._record_silence_s = record_silence_s
        self.channel = channel
        self._events = events
        self._lang = lang
        self._digits: deque[str] = deque()
        self._gone: str | None = None

    @property
    def channel_id(self) -> str:
        return self.channel.id

    @property
    def gone(self) -> bool:
        return self._gone is not None

    # ------------------------------------------------------------------------------ port
    async def answer(self) -> None:
        self._drain()
        if self.channel.state == "Up":
            return
        await self._rest(self._client.channels.answer(self.channel_id))

    async def play(self, prompts: Sequence[str], *, interruptible: bool = False) -> str | None:
        self._drain()
        if interruptible and self._digits:
            return self._digits.popleft()
        if not prompts:
            return None
        media = media_uris(prompts)
        return await self._play(media, interruptible)

    async def collect_digits(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 5.0,
        inter_digit_timeout: float = 3.0,
        prompts: Sequence[str] = (),
    ) -> DigitResult:
        digits = ""
        key = await self.play(prompts, interruptible=True) if prompts else None
        while True:
            if key is not None:
                if terminator and key == terminator:
                    return DigitResult(digits, terminator)
                digits += key
            if len(digits) >= max_digits:
                return DigitResult(digits)
            key = await self._next_digit(inter_digit_timeout if digits else first_timeout)
            if key is None:
                return DigitResult(digits, timed_out=True)

    async def say_digits(self, digits: str) -> None:
        self._drain()
        if digits:
            await self._play([f"digits:{digits}"], interruptible=False)

    async def record_message(
        self, name: str, *, max_seconds: float, beep: bool = True, terminator: str = "#"
    ) -> RecordResult:
        """Record into the stored recording ``name`` (``<spool>/recording/<name>.wav``).

        ``terminator`` is ``#``, ``*``, ``any`` or ``""`` (none): ARI ends a recording on no other
        key. Asterisk sends RecordingFinished even when the caller hangs up (before StasisEnd), so
        the message is kept and the reason is ``hangup``; keys pressed while recording are dropped.
        The duration is the event's (whole seconds, as ARI counts them). ccapp stops the recording
        at ``max_seconds`` itself: Asterisk's own limit counts whole seconds and overshoots by up
        to one.
        """
        if max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        _check_recording_name(name)
        terminate_on = _TERMINATE_ON.get(terminator)
        if terminate_on is None:
            raise ValueError(f"ARI cannot end a recording on {terminator!r}: use '#', '*', 'any' or ''")
        self._drain()
        # only a backstop: ccapp stops the recording on time itself
        max_duration_s = math.ceil(max_seconds) + 1
        await self._rest(
            self._client.channels.record(
                self.channel_id,
                name,
                format="wav",
                max_duration_s=max_duration_s,
                max_silence_s=self._record_silence_s or None,
                if_exists="overwrite",
                beep=beep,
                terminate_on=terminate_on,
            )
        )
        try:
            return await self._recording_outcome(name, max_seconds, terminator)
        except TimeoutError:
            raise TelephonyError(
                f"recording {name} on {self.channel.name} was never reported finished"
            ) from None

    async def listen(
        self,
        *,
        prompts: Sequence[str] = (),
        no_input_timeout: float = 5.0,
        max_speech: float = 10.0,
        end_silence: float = 0.8,
    ) -> Utterance:
        """`ccapp.ivr.ports.SpeechCapture`: play ``prompts`` while hearing the caller through a
        `MediaTap` (snoop + external media); speech or a key stops the prompts (barge-in).

        The no-input timeout runs from the end of the prompts. The tap is torn down on every way
        out, a hang-up (`CallGone`) and cancellation included.
        """
        self._drain()
        if self._digits:
            return Utterance(digit=self._digits.popleft())
        settings = VadSettings(end_silence=end_silence, max_speech=max_speech)
        async with MediaTap(self._client, self.channel_id, settings, host=self.listen_host) as tap:
            return await self._hear(tap, prompts, no_input_timeout, max_speech)

    async def _hear(
        self, tap: MediaTap, prompts: Sequence[str], no_input_timeout: float, max_speech: float
    ) -> Utterance:
        loop = asyncio.get_running_loop()
        playback_id: str | None = None
        if prompts:
            playback_id = uuid.uuid4().hex
            media = media_uris(prompts)
            await self._rest(
                self._client.channels.play(self.channel_id, media, playback_id=playback_id, lang=self._lang)
            )
        deadline: float | None = None if playback_id else loop.time() + no_input_timeout
        next_event = asyncio.ensure_future(self._events.get())
        next_vad = asyncio.ensure_future(tap.events.get())
        try:
            while True:
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait(
                    {next_event, next_vad}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:  # nothing said before the timeout (or no audio arrives at all)
                    await self._stop_playback(playback_id)
                    return Utterance(audio=tap.utterance(), sample_rate=tap.sample_rate)
                if next_vad in done:
                    vad_event = next_vad.result()
                    next_vad = asyncio.ensure_future(tap.events.get())
                    if vad_event is VadEvent.SPEECH_STARTED:
                        await self._stop_playback(playback_id)  # barge-in
                        playback_id = None
                        # a safety net should RTP stop mid-utterance
                        deadline = loop.time() + max_speech + 2.0
                    else:
                        await self._stop_playback(playback_id)
                        return Utterance(audio=tap.utterance(), sample_rate=tap.sample_rate)
                if next_event in done:
                    item = next_event.result()
                    next_event = asyncio.ensure_future(self._events.get())
                    self._note(item)
                    self._check()
                    if isinstance(item, ChannelDtmfReceived):
                        await self._stop_playback(playback_id)
                        return Utterance(digit=item.digit)
                    ours = playback_id is not None and (
                        (isinstance(item, PlaybackFinished) and item.playback.id == playback_id)
                        or (item is FeedSignal.RESYNC and await self._playback_over(playback_id))
                    )
                    if ours:
                        playback_id = None
                        if not tap.vad.started:
                            deadline = loop.time() + no_input_timeout
        finally:
            next_vad.cancel()
            if next_event.done() and not next_event.cancelled():
                # taken off the queue but not handled: keep a key as type-ahead
                item = next_event.result()
                self._note(item)
                if isinstance(item, ChannelDtmfReceived):
                    self._digits.append(item.digit)
            next_event.cancel()
            await asyncio.gather(next_event, next_vad, return_exceptions=True)

    async def _stop_playback(self, playback_id: str | None) -> None:
        if playback_id is not None:
            with contextlib.suppress(AriRequestError):  # it may have just ended by itself
                await self._rest(self._client.playbacks.stop(playback_id))

    async def set_variable(self, name: str, value: str) -> None:
        self._drain()
        await self._rest(self._client.channels.set_var(self.channel_id, name, value))

    async def hangup(self, cause: int = 16) -> None:
        self._drain()
        await self._rest(self._client.channels.hangup(self.channel_id, reason_code=cause))
        self._gone = "hung up by ccapp"

    async def continue_in_dialplan(self, context: str, extension: str = "s", priority: int = 1) -> None:
        self._drain()
        await self._rest(
            self._client.channels.continue_in_dialplan(self.channel_id, context, extension, priority)
        )
        self._gone = f"continued in the dialplan at {context},{extension},{priority}"

    # ------------------------------------------------------------------------------ internals
    async def _play(self, media: list[str], interruptible: bool) -> str | None:
        playback_id = uuid.uuid4().hex
        await self._rest(
            self._client.channels.play(self.channel_id, media, playback_id=playback_id, lang=self._lang)
        )
        try:
            while True:
                item = await self._next()
                if isinstance(item, PlaybackFinished) and item.playback.id == playback_id:
                    if item.playback.state == "failed":
                        log.warning("playback of %s failed on %s", media, self.channel.name)
                    return None
                if item is FeedSignal.RESYNC and await self._playback_over(playback_id):
                    return None
                if isinstance(item, ChannelDtmfReceived) and interruptible:
                    with contextlib.suppress(AriRequestError):  # it may have just ended by itself
                        await self._rest(self._client.playbacks.stop(playback_id))
                    return item.digit
        except asyncio.CancelledError:
            # whoever cancelled us (e.g. the ACD connecting an agent) wants the sound to stop too
            with contextlib.suppress(TelephonyError):
                await self._client.playbacks.stop(playback_id)
            raise

    async def _recording_outcome(self, name: str, max_seconds: float, terminator: str) -> RecordResult:
        """Wait for the end of recording ``name``, through a hang-up (which `_next` would raise on);
        stop it ``max_seconds`` after it started."""
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        started = loop.time()
        keyed = stopped = False
        async with asyncio.timeout(max_seconds + _RECORD_GRACE_S):
            while True:
                if deadline is not None and not stopped and loop.time() >= deadline:
                    stopped = True
                    with contextlib.suppress(TelephonyError):  # it may have just ended by itself
                        await self._client.recordings.stop(name)
                try:
                    async with asyncio.timeout_at(None if stopped else deadline):
                        item = await self._events.get()
                except TimeoutError:
                    continue
                self._note(item)
                if isinstance(item, RecordingStarted) and item.recording.name == name:
                    started = loop.time()
                    deadline = started + max_seconds
                elif isinstance(item, RecordingFinished) and item.recording.name == name:
                    if self.gone:
                        reason = "hangup"
                    elif keyed:
                        reason = "terminator"
                    elif stopped or loop.time() - started >= max_seconds - 0.5:
                        reason = "max_duration"
                    else:
                        reason = "silence"
                    return RecordResult(name, float(item.recording.duration or 0), reason)
                elif isinstance(item, RecordingFailed) and item.recording.name == name:
                    if self.gone:
                        return RecordResult(name, 0.0, "hangup")
                    raise TelephonyError(
                        f"recording {name} failed on {self.channel.name}: {item.recording.cause}"
                    )
                elif isinstance(item, ChannelDtmfReceived):
                    keyed = keyed or terminator == "any" or item.digit == terminator
                elif item is FeedSignal.RESYNC and await self._recording_over(name):
                    # it ended while the events socket was down: the reason is a guess
                    elapsed = loop.time() - started
                    reason = "max_duration" if elapsed >= max_seconds - 0.5 else "silence"
                    return RecordResult(name, float(round(min(elapsed, max_seconds))), reason)
                elif isinstance(item, StasisEnd | ChannelDestroyed) or item is FeedSignal.LOST:
                    # the channel went before Asterisk said how the recording ended
                    return RecordResult(name, float(round(loop.time() - started)), "hangup")

    async def _recording_over(self, name: str) -> bool:
        try:
            await self._rest(self._client.recordings.live_get(name))
        except AriRequestError as exc:
            return exc.status == 404
        return False

    async def _playback_over(self, playback_id: str) -> bool:
        try:
            await self._rest(self._client.playbacks.get(playback_id))
        except AriRequestError as exc:
            return exc.status == 404
        return False

    async def _next_digit(self, wait_s: float) -> str | None:
        if self._digits:
            return self._digits.popleft()
        try:
            async with asyncio.timeout(wait_s):
                while True:
                    item = await self._next()
                    if isinstance(item, ChannelDtmfReceived):
                        return item.digit
        except TimeoutError:
            return None

    async def _next(self) -> FeedItem:
        """The next event of this channel, after bookkeeping; `CallGone` when the channel is gone."""
        self._check()
        item = await self._events.get()
        self._note(item)
        self._check()
        return item

    def _drain(self) -> None:
        """Take in what arrived while no operation was waiting: type-ahead keys and hang-ups."""
        while True:
            try:
                item = self._events.get_nowait()
            except asyncio.QueueEmpty:
                break
            self._note(item)
            if isinstance(item, ChannelDtmfReceived):
                self._digits.append(item.digit)
        self._check()

    def _note(self, item: FeedItem) -> None:
        if isinstance(item, ChannelStateChange):
            self.channel = item.channel
        elif isinstance(item, ChannelHangupRequest | ChannelDestroyed):
            self._gone = self._gone or "hung up"
        elif isinstance(item, StasisEnd):
            self._gone = self._gone or "left the application"
        elif item is FeedSignal.LOST:
            self._gone = self._gone or "lost while the events socket was down"

    def _check(self) -> None:
        if self._gone is not None:
            raise CallGone(f"channel {self.channel.name or self.channel_id} {self._gone}")

    async def _rest(self, request: Awaitable[T]) -> T:
        """Run a request; an error caused by the caller having just hung up becomes `CallGone`."""
        try:
            return await request
        except CallGone:
            self._gone = self._gone or "gone"
            raise
        except TelephonyError as exc:
            # e.g. 409 "not in Stasis" racing the StasisEnd that is already in the queue
            self._drain_quietly()
            if self._gone is not None:
                raise CallGone(f"channel {self.channel.name or self.channel_id} {self._gone}") from exc
            raise

    def _drain_quietly(self) -> None:
        with contextlib.suppress(CallGone):
            self._drain()
