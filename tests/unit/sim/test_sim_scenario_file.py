"""A scenario file (parsed YAML/JSON) becomes a `Scenario`; a realistic day runs end to end."""

from __future__ import annotations

from typing import Any

import pytest

from ccapp.acd.model import Strategy
from ccapp.sim import Empirical, InvalidScenario, LogNormal, Outcome, run_scenario, scenario_from_mapping

DAY: dict[str, Any] = {
    "seed": 5,
    "duration_s": 86_400,
    "service_level_s": 20,
    "short_abandon_s": 5,
    "queues": [
        {"name": "sales", "skills": {"en": 2}, "wrap_up_s": 15},
        {"name": "support", "strategy": "fewest_calls", "wrap_up_s": 30, "max_wait_s": 600},
    ],
    "agents": [
        {
            "id": "day",
            "count": 8,
            "queues": ["sales", "support"],
            "skills": {"en": 3},
            "shift": [28_800, 61_200],
        },
        {"id": "late", "count": 3, "queues": ["support"], "shift": [43_200, 72_000]},
    ],
    "arrivals": [
        {
            "queue": "sales",
            "calls_per_hour": [[0, 0], [28_800, 60], [43_200, 90], [61_200, 0]],
            "handle": {"lognormal": {"mean": 240, "cv": 0.9}},
            "patience": {"exponential": 150},
        },
        {
            "queue": "support",
            "calls_per_hour": [[0, 0], [28_800, 40], [72_000, 0]],
            "handle": {"lognormal": {"mean": 300, "cv": 0.7}},
            "patience": {"empirical": [20, 60, 120, 300]},
        },
    ],
}


def test_a_scenario_file_becomes_a_scenario() -> None:
    sc = scenario_from_mapping(DAY)
    assert [q.name for q in sc.queues] == ["sales", "support"]
    assert sc.queues[1].strategy is Strategy.FEWEST_CALLS
    assert len(sc.agents) == 11
    assert sc.agents[0].agent_id == "day-1" and sc.agents[0].shift_end_s == 61_200.0
    assert sc.arrivals[0].handle == LogNormal(240.0, 0.9)
    assert sc.arrivals[1].patience == Empirical((20.0, 60.0, 120.0, 300.0))
    assert sc.short_abandon_s == 5.0


def test_a_realistic_day_runs_and_adds_up() -> None:
    result = run_scenario(scenario_from_mapping(DAY))
    records = result.records
    assert len(records) == pytest.approx(9 * 60 / 2 + 5 * 90 + 12 * 40, rel=0.15)
    assert {r.entered_at.hour for r in records} <= set(range(8, 20))
    assert all(r.outcome is not Outcome.CLOSED for r in records)
    sales, support = result.by_queue["sales"], result.by_queue["support"]
    assert {r.agent_id.split("-")[0] for r in records if r.queue == "sales" and r.agent_id} == {"day"}
    for s in (sales, support):
        assert s.service_level is not None and 0 < s.service_level <= 1
        assert s.answered + s.abandoned + s.overflowed <= s.offered
    assert result.summary.occupancy is not None and 0 < result.summary.occupancy < 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"queues": [{"name": "sales", "colour": "red"}]}, r"queues\[0\]: unknown keys \['colour'\]"),
        ({"queues": [{"name": "sales", "strategy": "random"}]}, r"queues\[0\]: .*unknown strategy"),
        ({"agents": [{"queues": ["sales"]}]}, r"agents\[0\]: missing \['id'\]"),
        (
            {"arrivals": [{"queue": "sales", "calls_per_hour": 10, "handle": {"gamma": 3}}]},
            "unknown distribution",
        ),
        (
            {"arrivals": [{"queue": "sales", "calls_per_hour": 10, "handle": {"lognormal": {"mean": 3}}}]},
            r"arrivals\[0\].handle: bad lognormal",
        ),
        (
            {"arrivals": [{"queue": "sales", "calls_per_hour": "lots", "handle": {"exponential": 3}}]},
            "expected",
        ),
        (
            {"arrivals": [{"queue": "sales", "calls_per_hour": [[5, 1]], "handle": {"exponential": 3}}]},
            r"arrivals\[0\].calls_per_hour: rate profile: the first step",
        ),
        ({"duration": 5}, r"unknown keys \['duration'\]"),
    ],
)
def test_a_bad_scenario_file_names_the_entry_and_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidScenario, match=message):
        scenario_from_mapping({**DAY, **change})
