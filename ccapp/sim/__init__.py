"""Discrete-event simulation of the contact center on ccapp's own ACD routing core.

- `model`: `Scenario` (queues, agents and shifts, arrivals), `CallRecord`, `Summary`, `SimResult`;
  `scenario_from_mapping` reads a parsed scenario file.
- `distributions`: handle-time and patience samplers, Poisson arrivals with a rate profile.
- `engine`: `run_scenario(scenario) -> SimResult`, the event loop with a virtual clock.
"""

from ccapp.sim.distributions import Empirical, Exponential, InvalidScenario, LogNormal, RateProfile
from ccapp.sim.engine import run_scenario
from ccapp.sim.model import (
    AgentSpec,
    ArrivalSpec,
    CallRecord,
    Outcome,
    Scenario,
    SimResult,
    Summary,
    scenario_from_mapping,
)

__all__ = [
    "AgentSpec",
    "ArrivalSpec",
    "CallRecord",
    "Empirical",
    "Exponential",
    "InvalidScenario",
    "LogNormal",
    "Outcome",
    "RateProfile",
    "Scenario",
    "SimResult",
    "Summary",
    "run_scenario",
    "scenario_from_mapping",
]
