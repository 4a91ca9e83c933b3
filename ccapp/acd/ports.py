"""What the ACD service needs from the telephony side besides the caller's `CallControl`.

ARI implements it in `ccapp.telephony.ari.acd`; unit tests use `ccapp.acd.fakes`. Channels are
named by Asterisk's unique id (the caller's ``control.channel_id``, an agent leg's ``leg_id``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DialOutcome:
    """How ringing a phone ended: answered, or not with a Q.850 cause (19 no answer, 17 busy…)."""

    answered: bool
    cause: int | None = None
    cause_text: str | None = None


class Leg(Protocol):
    """A channel ccapp dialled (an agent's phone, a callback, a transfer target, a supervisor)."""

    @property
    def leg_id(self) -> str: ...

    @property
    def channel(self) -> str:
        """The channel name (``PJSIP/1001-0000001a``), known once Asterisk created it."""
        ...

    async def wait_answer(self) -> DialOutcome:
        """Until the phone answers or the dial fails. Never raises for a failed dial."""
        ...

    async def wait_ended(self) -> tuple[int | None, str | None]:
        """Until the leg has hung up; its cause."""
        ...

    async def play(self, prompts: Sequence[str]) -> None:
        """Play to this leg only (a whisper to the agent); returns when done. `CallGone` if it hung up."""
        ...

    async def hangup(self, cause: int = 16) -> None:
        """Hang up (stop ringing); a leg already gone is fine."""
        ...

    @property
    def ended(self) -> bool: ...


class AcdTelephony(Protocol):
    """Dialling, bridging, hold music and snooping for the ACD."""

    async def dial(
        self,
        endpoint: str,
        *,
        caller_id: str,
        timeout_s: float,
        variables: Mapping[str, str] | None = None,
    ) -> Leg:
        """Start ringing ``endpoint`` (any dial string); answered legs stay under ccapp's control."""
        ...

    async def bridge(self, bridge_id: str, channel_ids: Sequence[str]) -> None:
        """Put channels in the mixing bridge ``bridge_id`` (created on first use)."""
        ...

    async def unbridge(self, bridge_id: str, channel_id: str) -> None:
        """Take a channel out of a bridge (it stays up, under ccapp's control)."""
        ...

    async def destroy_bridge(self, bridge_id: str) -> None:
        """Tear a bridge down (channels in it stay up); an unknown bridge is fine."""
        ...

    async def play_bridge(self, bridge_id: str, prompts: Sequence[str]) -> None:
        """Start playing to everybody in a bridge (a consent notice); does not wait for the end."""
        ...

    async def start_moh(self, channel_id: str, moh_class: str) -> None: ...

    async def stop_moh(self, channel_id: str) -> None: ...

    async def snoop(self, channel_id: str, *, spy: str, whisper: str) -> str:
        """A snoop channel on ``channel_id`` (``spy``/``whisper``: none | in | out | both); its id."""
        ...

    async def hangup(self, channel_id: str) -> None:
        """Hang up any channel by id (a snoop, a stray leg); unknown ids are fine."""
        ...

    async def live_channels(self) -> set[str]:
        """Ids of the channels that exist in Asterisk right now (reconcile after a restart)."""
        ...


class CallRecorder(Protocol):
    """Records a call's caller channel (both directions) to a file named by the call id."""

    async def start(self, channel: str, name: str) -> None:
        """Start recording channel ``channel`` (its name) to ``name`` (relative, no extension)."""
        ...

    async def mute(self, channel: str, muted: bool) -> None:
        """Silence (or un-silence) both directions of the recording: a gap in the audio."""
        ...

    async def stop(self, channel: str) -> None: ...
