"""Pure recording rules: whether a call is recorded, and where its recording was paused.

No I/O and no clock of their own: times come in as seconds on one monotonic scale (the ACD's
``clock.monotonic()``), so tests and the simulator drive them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Policy = Literal["all", "none", "on_demand"]


def should_record(policy: Policy, requested: bool) -> bool:
    """``all`` records every call, ``none`` never, ``on_demand`` only when someone asked
    (an agent or supervisor through the API, or the caller's choice after the consent prompt)."""
    if policy == "all":
        return True
    if policy == "none":
        return False
    if policy == "on_demand":
        return requested
    raise ValueError(f"unknown recording policy {policy!r}")


@dataclass(frozen=True, slots=True)
class PausedReport:
    """Where a recording holds silence: ``spans`` of ``[from_s, to_s]`` seconds from its start
    (the journal's ``paused_spans``), their total, and the recording's length."""

    spans: list[list[float]]
    paused_s: float
    duration_s: float


@dataclass(slots=True)
class PausedSpans:
    """Tracks pauses of one recording that started at ``started_at``. A second pause (or resume)
    in a row changes nothing, so an API pause during auto-paused sensitive input is harmless;
    after `close`, pauses and resumes are ignored (the recording is over)."""

    started_at: float
    _spans: list[tuple[float, float]] = field(default_factory=list)
    _paused_at: float | None = None
    _closed: PausedReport | None = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def pause(self, at: float) -> bool:
        """Start a silent span at ``at``; False when already paused (or closed)."""
        if self._closed is not None or self._paused_at is not None:
            return False
        self._paused_at = self._offset(at)
        return True

    def resume(self, at: float) -> bool:
        """End the silent span at ``at``; False when not paused (or closed)."""
        if self._closed is not None or self._paused_at is None:
            return False
        self._end_span(self._offset(at))
        return True

    def paused_s(self, at: float) -> float:
        """Seconds paused so far, counting an open pause up to ``at``."""
        total = sum(end - start for start, end in self._spans)
        if self._paused_at is not None:
            total += max(0.0, self._offset(at) - self._paused_at)
        return round(total, 3)

    def close(self, at: float) -> PausedReport:
        """The recording ended at ``at`` (an open pause ends with it). Closing twice returns the
        first report."""
        if self._closed is not None:
            return self._closed
        end = self._offset(at)
        if self._paused_at is not None:
            self._end_span(end)
        spans = [[round(start, 3), round(stop, 3)] for start, stop in self._spans]
        self._closed = PausedReport(spans=spans, paused_s=self.paused_s(at), duration_s=round(end, 3))
        return self._closed

    def _offset(self, at: float) -> float:
        last = self._spans[-1][1] if self._spans else 0.0
        if self._paused_at is not None:
            last = max(last, self._paused_at)
        # a clock read before the start (or a stale timestamp) must not make a negative span
        return max(at - self.started_at, last)

    def _end_span(self, end: float) -> None:
        assert self._paused_at is not None
        if end > self._paused_at:
            self._spans.append((self._paused_at, end))
        self._paused_at = None
