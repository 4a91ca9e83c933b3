from __future__ import annotations

import asyncio
import time

import pytest

from ccapp.looplag import LoopLagMonitor


async def test_a_blocking_call_shows_up_as_the_max_stall() -> None:
    async with LoopLagMonitor(interval=0.005) as monitor:
        await asyncio.sleep(0.03)
        time.sleep(0.08)  # noqa: ASYNC251  # a deliberate stall of the loop
        await asyncio.sleep(0.03)
    lag = monitor.lag
    assert lag.samples >= 3
    assert 0.05 <= lag.max < 1.0
    assert lag.mean <= lag.max


async def test_an_idle_loop_has_a_small_lag_and_reset_clears_it() -> None:
    monitor = LoopLagMonitor(interval=0.005)
    monitor.start()
    await asyncio.sleep(0.05)
    lag = await monitor.stop()
    assert lag.max < 0.05
    monitor.reset()
    assert monitor.lag.samples == 0


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LoopLagMonitor(interval=0)
