"""What the dialer needs from telephony: lines to leads, dialled through the campaign's trunk.

A line is originated so that the *answer* reaches ccapp first (that instant starts the 2-second
clock of the abandon rule); ccapp then sends the answered channel through the dialplan context that
runs ``AMD()`` (`asterisk-conf/extensions.conf` ``[ccapp-outbound]``), which comes back into Stasis as
``outbound,<attempt>,<AMDSTATUS>,<AMDCAUSE>`` — a new call for the call service, routed to the
dialer by its attempt id. ARI implements this in `ccapp.telephony.ari.outbound`; unit tests use
`ccapp.dialer.fakes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LineAnswer:
    """How a dialled line's ringing ended: answered (``at`` = Asterisk's answer time), or not, with
    the Q.850 cause (17 busy, 19 no answer, 34 congestion, …)."""

    answered: bool
    at: datetime | None = None
    cause: int | None = None
    cause_text: str | None = None


class Line(Protocol):
    """One call to a lead."""

    @property
    def channel_id(self) -> str: ...

    async def wait_answer(self) -> LineAnswer:
        """Until the lead answers or the dial fails. Never raises for a failed dial."""
        ...

    async def detect(self, variables: Mapping[str, str]) -> None:
        """Send the answered line through the AMD context; its verdict arrives as a new Stasis entry.
        `CallGone` if the line has hung up already."""
        ...

    async def wait_gone(self) -> tuple[int | None, str | None]:
        """Until the channel is destroyed (e.g. the lead hangs up while AMD listens); its cause."""
        ...

    async def hangup(self, cause: int = 16) -> None: ...


class OutboundTelephony(Protocol):
    async def originate(
        self,
        dial_string: str,
        *,
        attempt_id: str,
        caller_id: str,
        timeout_s: float,
        variables: Mapping[str, str],
    ) -> Line:
        """Start dialling ``dial_string``; a refused originate comes back as a line whose
        `Line.wait_answer` says not answered (cause from Asterisk, else None)."""
        ...
