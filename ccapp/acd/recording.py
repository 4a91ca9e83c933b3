"""`Recordings`: ccapp's call recordings, per queue policy.

A recording starts when a call is connected to an agent in a queue whose policy is ``all`` (the
consent prompt was played when the call joined the queue). It records the caller's channel, both
directions, until the caller hangs up — through transfers and any post-call IVR step. Pauses (the
API, or sensitive IVR input through `gate`) mute it, leaving a silent gap, and are kept as spans of
seconds from the start. When the caller's channel is gone the recording is journaled as stopped and
its file collected into ccapp's store.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ccapp.acd.errors import NotPermitted, UnknownCall
from ccapp.acd.ports import CallRecorder
from ccapp.calls.call import Call
from ccapp.calls.model import EventKind
from ccapp.clock import Clock
from ccapp.errors import CcappError
from ccapp.ivr.ports import RecordingGate
from ccapp.recording.policy import PausedSpans

log = logging.getLogger("ccapp.acd.recording")

Collect = Callable[[str, str], Awaitable[tuple[Path, int]]]


@dataclass(slots=True)
class _Live:
    call: Call
    channel_id: str
    channel: str
    name: str
    pauses: PausedSpans


class Recordings:
    def __init__(self, recorder: CallRecorder | None, clock: Clock, collect: Collect | None = None) -> None:
        self._recorder = recorder
        self._clock = clock
        self._collect = collect
        self._live: dict[str, _Live] = {}  # call id → recording
        self._by_channel: dict[str, str] = {}  # caller channel id → call id

    def active(self, call_id: str) -> bool:
        return call_id in self._live

    def recording_channel(self, channel_id: str) -> bool:
        """True if ``channel_id`` is the caller channel of a recording in progress."""
        return channel_id in self._by_channel

    async def connected(
        self,
        call: Call,
        channel_id: str,
        queue: str,
        agent_id: str,
        policy: str,
        *,
        requested: str | None = None,
    ) -> None:
        """The call was connected to an agent: start recording if the queue's policy says so
        (``requested``: who asked, for an on-demand start)."""
        if policy != "all" or self._recorder is None or call.call_id in self._live:
            return
        leg = call.legs.get(channel_id)
        channel = leg.channel if leg is not None else channel_id
        name = f"ccapp/{call.call_id}"
        try:
            await self._recorder.start(channel, name)
        except CcappError as exc:
            log.error("recording of call %s could not start: %s", call.call_id, exc)
            return
        self._live[call.call_id] = _Live(
            call, channel_id, channel, name, PausedSpans(self._clock.monotonic())
        )
        self._by_channel[channel_id] = call.call_id
        call.record(
            EventKind.RECORDING_STARTED,
            {
                "recording_id": call.call_id,
                "name": name,
                "queue": queue,
                "agent_id": agent_id,
                "policy": "on_demand" if requested else policy,
                **({"requested_by": requested} if requested else {}),
            },
        )

    def _get(self, call_id: str) -> _Live:
        live = self._live.get(call_id)
        if live is None:
            raise UnknownCall(f"call {call_id!r} is not being recorded")
        return live

    async def pause(self, call_id: str, reason: str, *, journal: bool = True) -> None:
        """Mute the call's recording (``journal=False``: the caller, the IVR, journals it itself)."""
        live = self._get(call_id)
        if live.pauses.paused:
            raise NotPermitted("the recording is already paused")
        assert self._recorder is not None
        await self._recorder.mute(live.channel, True)
        live.pauses.pause(self._clock.monotonic())
        if journal:
            live.call.record(EventKind.RECORDING_PAUSED, {"reason": reason, "recording_id": call_id})

    async def resume(self, call_id: str, reason: str, *, journal: bool = True) -> None:
        live = self._get(call_id)
        if not live.pauses.paused:
            raise NotPermitted("the recording is not paused")
        assert self._recorder is not None
        await self._recorder.mute(live.channel, False)
        live.pauses.resume(self._clock.monotonic())
        if journal:
            live.call.record(EventKind.RECORDING_RESUMED, {"reason": reason, "recording_id": call_id})

    def gate(self, call_id: str, fallback: RecordingGate) -> RecordingGate:
        """The IVR's recording gate for a call: pauses ccapp's recording when there is one (else the
        dialplan's MixMonitor, through ``fallback``)."""
        return _Gate(self, call_id, fallback)

    async def channel_ended(self, channel_id: str) -> None:
        """The caller's channel is gone: journal the end and collect the file."""
        call_id = self._by_channel.pop(channel_id, None)
        if call_id is None:
            return
        live = self._live.pop(call_id)
        report = live.pauses.close(self._clock.monotonic())
        live.call.record(
            EventKind.RECORDING_STOPPED,
            {
                "recording_id": call_id,
                "duration_s": report.duration_s,
                "paused_s": report.paused_s,
                "paused_spans": report.spans,
            },
        )
        if self._collect is None:
            return
        try:
            path, size = await self._collect(call_id, live.name)
        except (CcappError, OSError, ValueError) as exc:
            log.error("recording of call %s could not be collected: %s", call_id, exc)
            return
        live.call.record(
            EventKind.RECORDING_STORED, {"recording_id": call_id, "path": str(path), "size_bytes": size}
        )


class _Gate:
    def __init__(self, recordings: Recordings, call_id: str, fallback: RecordingGate) -> None:
        self._r = recordings
        self._call_id = call_id
        self._fallback = fallback

    async def pause(self, reason: str) -> None:
        if self._r.active(self._call_id):
            with contextlib.suppress(NotPermitted):
                await self._r.pause(self._call_id, reason, journal=False)
        else:
            await self._fallback.pause(reason)

    async def resume(self, reason: str) -> None:
        if self._r.active(self._call_id):
            with contextlib.suppress(NotPermitted):
                await self._r.resume(self._call_id, reason, journal=False)
        else:
            await self._fallback.resume(reason)
