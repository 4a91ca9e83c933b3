"""Random draws for the simulator: handle times, patience and Poisson arrivals with a rate profile.

Every sampler takes the simulation's one seeded `random.Random`, so a scenario with a seed replays
exactly. Pure: no I/O, no global random state.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Protocol

from ccapp.errors import CcappError

DAY_S = 86_400.0


class InvalidScenario(CcappError):
    """A simulator scenario that cannot run (bad rate, mean, shift…); the message names the field."""


class Sampler(Protocol):
    """A distribution of positive durations in seconds."""

    def sample(self, rng: random.Random) -> float: ...

    @property
    def mean(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponential durations with the given mean (M/M/c handle times, Erlang A patience)."""

    mean: float

    def __post_init__(self) -> None:
        if not self.mean > 0:
            raise InvalidScenario(f"exponential: mean must be > 0, not {self.mean}")

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Log-normal durations given by their mean and coefficient of variation (std / mean).

    Real handle times are right-skewed: most calls near the median, a long tail of hard ones.
    """

    mean: float
    cv: float

    def __post_init__(self) -> None:
        if not self.mean > 0:
            raise InvalidScenario(f"lognormal: mean must be > 0, not {self.mean}")
        if not self.cv > 0:
            raise InvalidScenario(f"lognormal: cv must be > 0, not {self.cv}")

    def sample(self, rng: random.Random) -> float:
        sigma2 = math.log1p(self.cv * self.cv)
        return rng.lognormvariate(math.log(self.mean) - sigma2 / 2.0, math.sqrt(sigma2))


@dataclass(frozen=True, slots=True)
class Empirical:
    """Durations drawn uniformly from observed values (e.g. patience measured on past abandons)."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        if not self.values:
            raise InvalidScenario("empirical: no values")
        if min(self.values) < 0:
            raise InvalidScenario("empirical: values must be >= 0")

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    def sample(self, rng: random.Random) -> float:
        return self.values[rng.randrange(len(self.values))]


@dataclass(frozen=True, slots=True)
class RateProfile:
    """Poisson arrivals whose rate is a step function of the time of day, repeated every ``period_s``.

    ``steps`` are (start second within the period, calls per hour), the first starting at 0: the rate
    from one step's start holds until the next step's start.
    """

    steps: tuple[tuple[float, float], ...]
    period_s: float = DAY_S

    def __post_init__(self) -> None:
        steps = tuple((float(start), float(rate)) for start, rate in self.steps)
        object.__setattr__(self, "steps", steps)
        if not steps or steps[0][0] != 0:
            raise InvalidScenario("rate profile: the first step must start at 0 s")
        for (a, _), (b, _) in itertools.pairwise(steps):
            if not b > a:
                raise InvalidScenario(f"rate profile: step starts must increase ({a} then {b})")
        if steps[-1][0] >= self.period_s:
            raise InvalidScenario(f"rate profile: step at {steps[-1][0]} s is past the period")
        if any(rate < 0 for _, rate in steps):
            raise InvalidScenario("rate profile: calls per hour must be >= 0")

    @classmethod
    def constant(cls, calls_per_hour: float) -> RateProfile:
        return cls(((0.0, calls_per_hour),))

    def _segment(self, t: float) -> tuple[float, float]:
        """(rate per second, absolute end time) of the step holding at absolute time ``t``."""
        base = math.floor(t / self.period_s) * self.period_s
        offset = t - base
        steps = self.steps
        index = 0
        while index + 1 < len(steps) and steps[index + 1][0] <= offset:
            index += 1
        end = base + (steps[index + 1][0] if index + 1 < len(steps) else self.period_s)
        return steps[index][1] / 3600.0, end

    def next_arrival(self, t: float, rng: random.Random, until: float) -> float | None:
        """The first arrival after ``t`` (seconds since the simulation start), None if not before ``until``.

        Exact for a step rate: the exponential gap is memoryless, so a gap that crosses a step's end
        is drawn again from that end at the next step's rate.
        """
        while t < until:
            rate, end = self._segment(t)
            if rate > 0:
                arrival = t + rng.expovariate(rate)
                if arrival < end:
                    return arrival if arrival < until else None
            t = end
        return None


def sampler_from(value: object, where: str) -> Sampler:
    """A sampler from its scenario-file form: ``{"exponential": 180}``,
    ``{"lognormal": {"mean": 180, "cv": 0.8}}`` or ``{"empirical": [12, 40, 95]}``.
    """
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidScenario(f"{where}: expected one of exponential, lognormal, empirical")
    ((kind, arg),) = value.items()
    try:
        if kind == "exponential":
            return Exponential(float(arg))
        if kind == "lognormal" and isinstance(arg, dict):
            return LogNormal(float(arg["mean"]), float(arg["cv"]))
        if kind == "empirical" and isinstance(arg, list):
            return Empirical(tuple(float(v) for v in arg))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidScenario(f"{where}: bad {kind} ({exc})") from exc
    except InvalidScenario as exc:
        raise InvalidScenario(f"{where}: {exc}") from exc
    raise InvalidScenario(f"{where}: unknown distribution {kind!r}")


def profile_from(value: object, where: str) -> RateProfile:
    """A rate profile from its scenario-file form: calls per hour, or a list of [start_s, calls per hour]."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return RateProfile.constant(float(value))
        if isinstance(value, list):
            return RateProfile(tuple((float(start), float(rate)) for start, rate in value))
    except (TypeError, ValueError) as exc:
        raise InvalidScenario(f"{where}: bad rate profile ({exc})") from exc
    except InvalidScenario as exc:
        raise InvalidScenario(f"{where}: {exc}") from exc
    raise InvalidScenario(f"{where}: expected calls per hour or a list of [start_s, calls_per_hour]")
