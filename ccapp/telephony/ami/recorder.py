"""`AmiCallRecorder`: ccapp's `CallRecorder` — MixMonitor on the caller's channel over AMI.

MixMonitor is an audiohook on the channel, so the recording follows the caller through bridges,
transfers and a post-agent IVR, whether the call is under ARI or AGI. Asterisk writes the file
(``<asterisk_dir>/<name>.wav``) and closes it when the recording is stopped or the channel hangs
up; `ccapp.recording.store.RecordingStore.collect` waits for that and moves it into ccapp's store.

Each recording is started with ``i(<variable>)``, so the MixMonitor action answers with the
MixMonitor's id and `stop` stops only ccapp's own recording, never one the dialplan started.
``MixMonitorMute`` has no id: it mutes the channel's first MixMonitor (ccapp's when the dialplan
runs none).
"""

from __future__ import annotations

import logging
import re
from pathlib import PurePosixPath

from ccapp.errors import CallGone, TelephonyError
from ccapp.telephony.ami.client import AmiClient

log = logging.getLogger(__name__)

#: channel variable that receives the MixMonitor id (Asterisk echoes it as ``MixMonitorID``)
ID_VARIABLE = "CCAPP_MIXMONITOR_ID"

# Relative names of path segments made of safe characters: MixMonitor's AMI action joins file,
# options and command with commas, and the name becomes a path, so nothing else may get in.
_NAME = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")

_TIMEOUT_S = 5.0


class AmiCallRecorder:
    """Start, mute and stop MixMonitor recordings of channels (named by channel name) over AMI."""

    def __init__(self, ami: AmiClient, asterisk_dir: str) -> None:
        if not PurePosixPath(asterisk_dir).is_absolute():
            raise ValueError(f"asterisk_dir must be an absolute path, not {asterisk_dir!r}")
        self._ami = ami
        self._dir = PurePosixPath(asterisk_dir)
        self._ids: dict[str, str] = {}

    def file_for(self, name: str) -> str:
        """The absolute path Asterisk writes ``name`` to. Raises `ValueError` for an unsafe name."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"recording name {name!r} is not a safe relative name")
        return str(self._dir / f"{name}.wav")

    async def start(self, channel: str, name: str) -> None:
        """Record both directions of ``channel``, mixed, to ``<asterisk_dir>/<name>.wav``.

        Raises `CallGone` when the channel no longer exists, `TelephonyError` when Asterisk refuses.
        """
        file = self.file_for(name)
        mixmonitor_id = await self._act(
            "MixMonitor",
            {"Channel": channel, "File": file, "Options": f"i({ID_VARIABLE})"},
            channel,
        )
        if mixmonitor_id:
            self._ids[channel] = mixmonitor_id
        log.info("recording %s to %s", channel, file)

    async def mute(self, channel: str, muted: bool) -> None:
        """Silence (``muted``) or restore both directions: the file keeps its timing, with a gap."""
        await self._act(
            "MixMonitorMute",
            {"Channel": channel, "Direction": "both", "State": "1" if muted else "0"},
            channel,
        )
        log.info("recording of %s %s", channel, "muted" if muted else "unmuted")

    async def stop(self, channel: str) -> None:
        """Stop ccapp's recording of ``channel``; Asterisk closes the file. A channel that is
        not recorded any more is fine; one that hung up raises `CallGone` (its recording ended
        with it)."""
        fields = {"Channel": channel}
        mixmonitor_id = self._ids.pop(channel, None)
        if mixmonitor_id:
            fields["MixMonitorID"] = mixmonitor_id
        try:
            await self._act("StopMixMonitor", fields, channel)
        except CallGone:
            raise
        except TelephonyError as exc:
            if "could not stop" not in str(exc).lower():
                raise
            log.debug("no recording to stop on %s", channel)
            return
        log.info("stopped recording %s", channel)

    async def _act(self, action: str, fields: dict[str, str], channel: str) -> str:
        """Send ``action``; its ``MixMonitorID`` header (or ``""``). Asterisk's "No such channel"
        becomes `CallGone`."""
        try:
            response = await self._ami.action(action, fields, timeout_s=_TIMEOUT_S)
        except CallGone:
            raise
        except TelephonyError as exc:
            if "no such channel" in str(exc).lower():
                raise CallGone(f"channel {channel} is gone ({action})") from exc
            raise
        return response.get("MixMonitorID") or ""
