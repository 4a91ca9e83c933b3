"""`RecordingGate` over AMI: mutes a channel's MixMonitor recording while a caller types sensitive
digits, so the file holds silence there (its timing stays true).

Until ccapp records calls itself (ACD), recordings come from the dialplan — ``MixMonitor()`` before
``Stasis()``/``AGI()`` is the usual way. A channel without a MixMonitor answers with an error, which is
fine: there is nothing to pause. Any other failure is logged, and raised on ``pause`` when
``fail_closed`` is set, so a call never goes on typing a card number into a recording ccapp could not
pause.
"""

from __future__ import annotations

import logging

from ccapp.errors import CcappError, TelephonyError
from ccapp.telephony.ami.client import AmiClient

log = logging.getLogger(__name__)


class MixMonitorGate:
    def __init__(self, ami: AmiClient | None, channel: str, *, fail_closed: bool = False) -> None:
        self._ami = ami
        self.channel = channel
        self.fail_closed = fail_closed
        self.muted = False

    async def pause(self, reason: str) -> None:
        await self._mute(True, reason)

    async def resume(self, reason: str) -> None:
        if self.muted:
            await self._mute(False, reason)

    async def _mute(self, on: bool, reason: str) -> None:
        if self._ami is None:
            return
        try:
            await self._ami.action(
                "MixMonitorMute",
                {"Channel": self.channel, "Direction": "both", "State": "1" if on else "0"},
                timeout_s=2.0,
            )
        except TelephonyError as exc:
            text = str(exc).lower()
            if not on and "no such channel" in text:
                return  # the caller hung up mid-input: the recording ended with the channel
            if "no mixmonitor" in text or "not found" in text:
                log.debug("no recording to %s on %s", "pause" if on else "resume", self.channel)
                return  # no recording on this channel: nothing to pause
            log.warning(
                "could not %s the recording of %s (%s): %s",
                "pause" if on else "resume",
                self.channel,
                reason,
                exc,
            )
            if on and self.fail_closed:
                raise CcappError(f"could not pause the recording of {self.channel}") from exc
            return
        self.muted = on
        log.info("recording of %s %s (%s)", self.channel, "muted" if on else "unmuted", reason)
