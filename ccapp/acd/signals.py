"""Messages the ACD service sends to a call's queue session (its caller task reads them)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ccapp.acd.commands import TransferView
from ccapp.acd.ranking import Assignment


@dataclass(frozen=True, slots=True)
class Offer:
    """The router gave the call to these (reserved) agents."""

    assignment: Assignment


@dataclass(frozen=True, slots=True)
class Overdue:
    """The call has waited its queue's max wait."""


@dataclass(slots=True)
class TransferRequest:
    """An API request about a connected call: ``action`` is ``blind``, ``attended``, ``complete`` or
    ``cancel``; the session answers through ``reply``."""

    action: str
    target: str = ""
    by: str | None = None
    reply: asyncio.Future[TransferView] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


Signal = Offer | Overdue | TransferRequest
