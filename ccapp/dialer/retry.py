"""Retry policy: when (if ever) a lead is dialled again after an attempt, inside its calling window
and under the per-number daily cap counted in the lead's local day.

Pure: no clock, no database. The caller passes ``now_utc``, the lead's zone and the instants at which
the number was already dialled (at least those of the last two local days); the policy returns the
next attempt's UTC instant or None when the lead is final.

Order of the rules in `RetryPolicy.next_attempt`:

1. a final result (right party reached, wrong number, do-not-call, invalid number) → None;
2. a callback the agent scheduled is honoured even after ``max_attempts`` (the person asked for it;
   set ``callbacks_bypass_max_attempts=False`` to count it); any other result after ``max_attempts``
   attempts → None;
3. the candidate is ``now + delay[result]`` (for a callback: the agent's time, never before now);
4. the candidate moves to the next open calling window (`CallingWindows.next_open`); then, if the
   number already reached the daily cap in the candidate's local day, it moves to the start of the
   next local day and back to step 4 (at most a few rounds: a new day has a fresh count).

No open window within 8 days (an empty `CallingWindows`) also gives None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from types import MappingProxyType

from ccapp.dialer.windows import CallingWindows, local_day_bounds


class AttemptResult(StrEnum):
    """How an attempt ended, as far as retries care (agent dispositions and network outcomes)."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    MACHINE = "machine"
    ABANDONED = "abandoned"
    CALLBACK_REQUESTED = "callback_requested"
    FAILED = "failed"
    CONGESTION = "congestion"
    #: reached, but not the person sought (retry later, the right party may be home then)
    WRONG_PARTY = "wrong_party"
    RIGHT_PARTY = "right_party"
    WRONG_NUMBER = "wrong_number"
    DO_NOT_CALL = "do_not_call"
    INVALID_NUMBER = "invalid_number"


#: results that end the lead: never dialled again
FINAL_RESULTS = frozenset(
    {
        AttemptResult.RIGHT_PARTY,
        AttemptResult.WRONG_NUMBER,
        AttemptResult.DO_NOT_CALL,
        AttemptResult.INVALID_NUMBER,
    }
)

#: defaults a campaign may override; abandoned calls wait long (regulators frown on quick redials)
DEFAULT_DELAYS: Mapping[AttemptResult, timedelta] = MappingProxyType(
    {
        AttemptResult.BUSY: timedelta(minutes=10),
        AttemptResult.NO_ANSWER: timedelta(hours=1),
        AttemptResult.MACHINE: timedelta(hours=3),
        AttemptResult.ABANDONED: timedelta(hours=24),
        AttemptResult.CALLBACK_REQUESTED: timedelta(hours=1),
        AttemptResult.FAILED: timedelta(minutes=30),
        AttemptResult.CONGESTION: timedelta(minutes=5),
        AttemptResult.WRONG_PARTY: timedelta(hours=4),
    }
)


@dataclass(frozen=True, slots=True)
class DailyCap:
    """At most ``limit`` dials of one number per calling day of the lead (its local calendar day)."""

    limit: int

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("daily cap must be at least 1")

    def dialled_today(self, dialled_at: Iterable[datetime], now_utc: datetime, zone: tzinfo) -> int:
        """How many of ``dialled_at`` fall in the local day (in ``zone``) that contains ``now_utc``."""
        start, end = local_day_bounds(now_utc, zone)
        return sum(1 for instant in dialled_at if start <= instant < end)

    def allows(self, dialled_at: Iterable[datetime], now_utc: datetime, zone: tzinfo) -> bool:
        """True when the number may be dialled at ``now_utc`` given its earlier dial instants."""
        return self.dialled_today(dialled_at, now_utc, zone) < self.limit


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Max attempts, a delay per non-final result, and optionally windows and a daily cap."""

    max_attempts: int
    delays: Mapping[AttemptResult, timedelta] = field(default_factory=lambda: DEFAULT_DELAYS)
    windows: CallingWindows | None = None
    daily_cap: DailyCap | None = None
    callbacks_bypass_max_attempts: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for result, delay in self.delays.items():
            if result in FINAL_RESULTS:
                raise ValueError(f"{result} is final and cannot have a retry delay")
            if delay < timedelta(0):
                raise ValueError(f"negative retry delay for {result}")

    def is_final(self, result: AttemptResult | str) -> bool:
        """True when ``result`` ends the lead whatever the attempt count."""
        return AttemptResult(result) in FINAL_RESULTS

    def next_attempt(
        self,
        result: AttemptResult | str,
        attempts_so_far: int,
        now_utc: datetime,
        callback_at: datetime | None = None,
        *,
        zone: tzinfo = UTC,
        dialled_at: Iterable[datetime] = (),
    ) -> datetime | None:
        """The UTC instant of the next attempt, or None when the lead is final.

        ``attempts_so_far`` counts the attempt that just ended; ``dialled_at`` lists earlier dial
        instants of the same number (for the daily cap); ``zone`` is the lead's time zone.
        """
        outcome = AttemptResult(result)
        if outcome in FINAL_RESULTS:
            return None
        callback = outcome is AttemptResult.CALLBACK_REQUESTED
        honour_callback = callback and callback_at is not None and self.callbacks_bypass_max_attempts
        if attempts_so_far >= self.max_attempts and not honour_callback:
            return None
        if callback and callback_at is not None:
            candidate = max(callback_at, now_utc)
        else:
            delay = self.delays.get(outcome)
            if delay is None:
                raise ValueError(f"no retry delay configured for {outcome}")
            candidate = now_utc + delay
        return self.place(candidate, zone, list(dialled_at))

    def place(self, candidate: datetime, zone: tzinfo, dialled_at: list[datetime]) -> datetime | None:
        """The first instant at or after ``candidate`` inside a calling window (in ``zone``) whose
        local day has not reached the daily cap given the number's earlier dials ``dialled_at``;
        None when there is none (no window within 8 days). ``candidate`` itself when it may dial."""
        # Each round either returns or moves to a later local day, where the count starts afresh;
        # a bound keeps a pathological cap/window mix from looping.
        for _ in range(16):
            if self.windows is not None:
                opened = self.windows.next_open(candidate, zone)
                if opened is None:
                    return None
                candidate = opened
            if self.daily_cap is None or self.daily_cap.allows(dialled_at, candidate, zone):
                return candidate.astimezone(UTC)
            candidate = local_day_bounds(candidate, zone)[1]
        return None
