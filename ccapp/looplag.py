"""`LoopLagMonitor`: how long the event loop stalls, measured from inside it.

A task sleeps ``interval`` seconds over and over; whatever it oversleeps is time the loop spent
doing something else without yielding. The largest overshoot is the worst stall a caller's audio
command or an AMI event would have waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoopLag:
    """Summary of the stalls seen so far, in seconds."""

    samples: int
    max: float
    mean: float


class LoopLagMonitor:
    """Measures event-loop stalls while running; use ``async with`` or `start` / `stop`."""

    def __init__(self, interval: float = 0.01, *, clock: Callable[[], float] = time.perf_counter) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._interval = interval
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._samples = 0
        self._max = 0.0
        self._total = 0.0

    @property
    def lag(self) -> LoopLag:
        mean = self._total / self._samples if self._samples else 0.0
        return LoopLag(samples=self._samples, max=self._max, mean=mean)

    def reset(self) -> None:
        self._samples = 0
        self._max = 0.0
        self._total = 0.0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag-monitor")

    async def stop(self) -> LoopLag:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return self.lag

    async def __aenter__(self) -> LoopLagMonitor:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        while True:
            before = self._clock()
            await asyncio.sleep(self._interval)
            overshoot = max(0.0, self._clock() - before - self._interval)
            self._samples += 1
            self._total += overshoot
            self._max = max(self._max, overshoot)
