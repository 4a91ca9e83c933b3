"""benchmarks/dialer_pacing.py at a tiny size, and (slow) the full table's checks."""

from __future__ import annotations

import pytest

from benchmarks import dialer_pacing


def test_a_tiny_grid_fills_every_column_of_the_table() -> None:
    cells = dialer_pacing.run_cells((5,), (0.3,), seeds=[1], hours=0.5, jobs=1)
    assert set(cells) == {(5, 0.3, pacer) for pacer in dialer_pacing.PACERS}
    assert cells[(5, 0.3, "progressive")].abandon == 0.0
    text, misses = dialer_pacing.table(cells, hours=0.5)
    header, rule, row = text.splitlines()
    assert header.count("|") == row.count("|") == rule.count("|")
    assert row.startswith("| 5 | 0.3 |")
    assert all(isinstance(m, str) for m in misses)


def test_a_predictive_decision_for_a_hundred_agents_is_timed() -> None:
    assert 0.0 < dialer_pacing.decision_time_us(repeat=20) < 5000.0


@pytest.mark.slow
def test_the_full_benchmark_meets_issue_6s_reference_points() -> None:
    cells = dialer_pacing.run_cells(
        dialer_pacing.AGENTS, dialer_pacing.P_LIVE, seeds=[1, 2, 3], hours=8.0, jobs=2
    )
    _, misses = dialer_pacing.table(cells, hours=8.0)
    assert misses == []
