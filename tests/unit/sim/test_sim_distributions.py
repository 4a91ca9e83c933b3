"""Samplers and arrival profiles: right means and shapes, bad values refused with the field named."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from ccapp.sim import Empirical, Exponential, InvalidScenario, LogNormal, RateProfile


def test_lognormal_has_the_mean_and_coefficient_of_variation_asked_for() -> None:
    rng = random.Random(1)
    values = [LogNormal(180.0, 0.8).sample(rng) for _ in range(100_000)]
    mean = statistics.fmean(values)
    assert mean == pytest.approx(180.0, rel=0.02)
    assert statistics.pstdev(values) / mean == pytest.approx(0.8, rel=0.05)
    assert statistics.median(values) < mean  # right-skewed, like real handle times


def test_exponential_and_empirical_means() -> None:
    rng = random.Random(2)
    assert statistics.fmean(Exponential(60.0).sample(rng) for _ in range(50_000)) == pytest.approx(
        60.0, rel=0.02
    )
    empirical = Empirical((5.0, 10.0, 45.0))
    assert empirical.mean == 20.0
    assert {empirical.sample(rng) for _ in range(200)} == {5.0, 10.0, 45.0}


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Exponential(0.0), "mean"),
        (lambda: LogNormal(-1.0, 0.5), "mean"),
        (lambda: LogNormal(100.0, 0.0), "cv"),
        (lambda: Empirical(()), "no values"),
        (lambda: RateProfile(((10.0, 5.0),)), "start at 0"),
        (lambda: RateProfile(((0.0, 5.0), (0.0, 6.0))), "increase"),
        (lambda: RateProfile(((0.0, -5.0),)), "calls per hour"),
        (lambda: RateProfile(((0.0, 5.0), (90_000.0, 6.0))), "period"),
    ],
)
def test_bad_distributions_are_refused(make: object, field: str) -> None:
    with pytest.raises(InvalidScenario, match=field):
        make()  # type: ignore[operator]


def test_poisson_arrivals_count_follows_the_rate_of_each_step() -> None:
    profile = RateProfile(((0.0, 360.0), (3600.0, 0.0), (7200.0, 3600.0)), period_s=3 * 3600.0)
    rng = random.Random(3)
    counts = [0, 0, 0]
    t: float | None = 0.0
    while (t := profile.next_arrival(t, rng, until=30 * 3 * 3600.0)) is not None:
        counts[int(t // 3600) % 3] += 1
    assert counts[1] == 0
    assert counts[0] == pytest.approx(30 * 360, rel=0.05)
    assert counts[2] == pytest.approx(30 * 3600, rel=0.02)


def test_gaps_between_arrivals_are_exponential() -> None:
    profile = RateProfile.constant(3600.0)  # one a second
    rng = random.Random(4)
    t, gaps = 0.0, []
    for _ in range(20_000):
        nxt = profile.next_arrival(t, rng, until=math.inf)
        assert nxt is not None
        gaps.append(nxt - t)
        t = nxt
    assert statistics.fmean(gaps) == pytest.approx(1.0, rel=0.03)
    # P(gap > 1 s) = e^-1 for an exponential gap
    assert sum(g > 1.0 for g in gaps) / len(gaps) == pytest.approx(math.exp(-1.0), abs=0.015)


def test_no_arrival_after_the_end_or_in_an_empty_profile() -> None:
    rng = random.Random(5)
    assert RateProfile.constant(0.0).next_arrival(0.0, rng, until=86_400.0 * 3) is None
    assert RateProfile.constant(1.0).next_arrival(0.0, rng, until=1e-9) is None
