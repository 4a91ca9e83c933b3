"""Expected-wait estimators replayed on simulated queues: their error against the actual waits.

    .venv/bin/python benchmarks/expected_wait.py [--loads 0.7,0.85,0.95] [--agents 5,20,50]
        [--calls 40000] [--warmup 2000] [--seed 11] [--aht 180] [--cv 1.0] [--half-life 1200]
        [--aht-change 1.0]

For each (utilisation ρ, agents c): a seeded discrete-event replay of one FIFO queue with Poisson
arrivals at rate ρ·c / AHT, log-normal handle times of mean ``--aht`` and coefficient of variation
``--cv``, and ``c`` agents, no abandonment. A `ccapp.acd.wait.WaitEstimator` is fed as the ACD
service would feed it (handle time at each completion, staffing at each change, the wait at each
answer). Each caller who finds every agent busy (the callers who hear an announcement) gets, at
entry, a prediction from each method; the actual wait is known when an agent takes them. The first
``--warmup`` callers are not scored. ``--aht-change F`` multiplies the true AHT by F from the middle
caller on (and divides the arrival rate by F, so the load stays ρ): a shift in handle time that the
recent AHT has to follow.

Methods:
* ``position``   — `WaitEstimator.expected_wait`: (position − ready) × recent AHT / busy agents.
* ``pos-oracle`` — the same formula with the true AHT: the error left is the wait's own randomness.
* ``announced``  — ``position`` rounded for the prompt by `announced_wait`.
* ``naive``      — `WaitEstimator.naive_wait`: position × recent AHT.
* ``last-20``    — `WaitEstimator.recent_wait`: mean of the last 20 answered calls' waits.
* ``erlang-c``   — Erlang C mean wait of a caller who waits, AHT / (c − A), with the true arrival
  rate and AHT (an oracle no live system has): one number for everybody.

Prints per scenario and method: callers scored, MAE, median and p90 absolute error, and bias
(mean of predicted − actual), all in seconds.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
from collections import deque
from collections.abc import Callable

from ccapp.acd.wait import DEFAULT_HALF_LIFE_S, WaitEstimator, announced_wait

Q = "q"
METHODS = ("position", "pos-oracle", "announced", "naive", "last-20", "erlang-c")


def replay(
    rho: float,
    agents: int,
    calls: int,
    warmup: int,
    seed: int,
    aht: float,
    cv: float,
    half_life: float,
    aht_change: float,
) -> tuple[dict[str, list[float]], list[float], float]:
    """Simulate one queue; return each method's predictions, the actual waits, and P(wait)."""
    rng = random.Random(seed)
    sigma2 = math.log(1 + cv * cv)
    sigma = math.sqrt(sigma2)
    mu = rate = erlang_c_wait = 0.0
    estimator = WaitEstimator(default_handle_s=aht, half_life_s=half_life, recent_waits=20)
    oracle = WaitEstimator()

    def regime(true_aht: float) -> None:
        """Handle times of mean ``true_aht`` from now on, and arrivals that keep the load at ρ."""
        nonlocal mu, rate, erlang_c_wait, oracle
        mu = math.log(true_aht) - sigma2 / 2
        rate = rho * agents / true_aht
        erlang_c_wait = true_aht / (agents - rho * agents)
        oracle = WaitEstimator(default_handle_s=true_aht, prior_calls=1e12)  # mean handle = true AHT

    regime(aht)
    predicted: dict[str, list[float]] = {m: [] for m in METHODS}
    actual: list[float] = []
    pending: dict[int, int] = {}  # caller → index in actual (scored callers still waiting)

    def staffing(ready: int, busy: int) -> None:
        estimator.set_staffing(Q, ready=ready, busy=busy)
        oracle.set_staffing(Q, ready=ready, busy=busy)

    line: deque[tuple[int, float]] = deque()  # (caller, arrived at)
    releases: list[tuple[float, float]] = []  # heap of (agent free at, handle time)
    ready = agents
    staffing(ready, 0)
    now = 0.0
    next_arrival = rng.expovariate(rate)
    caller = 0
    waited = 0

    def start(caller_id: int, arrived: float, now: float) -> None:
        handle = rng.lognormvariate(mu, sigma)
        heapq.heappush(releases, (now + handle, handle))
        estimator.record_wait(Q, now - arrived)
        if caller_id in pending:
            actual[pending.pop(caller_id)] = now - arrived

    while caller < calls or pending:
        if releases and (releases[0][0] <= next_arrival or caller >= calls):
            now, handle = heapq.heappop(releases)
            estimator.record_handle(Q, handle, now)
            if line:
                start(*line.popleft(), now)  # the freed agent takes the head of the line at once
            else:
                ready += 1
                staffing(ready, agents - ready)
            continue
        now = next_arrival
        next_arrival = now + rng.expovariate(rate)
        caller += 1
        if caller == calls // 2 and aht_change != 1:
            regime(aht * aht_change)
            next_arrival = now + rng.expovariate(rate)
            staffing(ready, agents - ready)
        if ready:
            ready -= 1
            staffing(ready, agents - ready)
            start(caller, now, now)
            continue
        line.append((caller, now))
        if caller <= warmup:
            continue
        waited += 1
        position = len(line)
        position_wait = estimator.expected_wait(Q, position, now)
        oracle_wait = oracle.expected_wait(Q, position, now)
        assert position_wait is not None  # every agent is busy
        assert oracle_wait is not None
        announced = announced_wait(position_wait, cap_s=math.inf)
        assert announced is not None
        predicted["position"].append(position_wait)
        predicted["pos-oracle"].append(oracle_wait)
        predicted["announced"].append(float(announced))
        predicted["naive"].append(estimator.naive_wait(Q, position, now))
        predicted["last-20"].append(estimator.recent_wait(Q) or 0.0)
        predicted["erlang-c"].append(erlang_c_wait)
        pending[caller] = len(actual)
        actual.append(math.nan)
    return predicted, actual, waited / max(1, calls - warmup)


def quantile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def errors(predicted: list[float], actual: list[float]) -> tuple[float, float, float, float]:
    """MAE, median absolute error, p90 absolute error, bias."""
    diffs = [p - a for p, a in zip(predicted, actual, strict=True)]
    absolute = sorted(abs(d) for d in diffs)
    return (
        statistics.fmean(absolute),
        quantile(absolute, 0.5),
        quantile(absolute, 0.9),
        statistics.fmean(diffs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    floats: Callable[[str], list[float]] = lambda s: [float(x) for x in s.split(",")]  # noqa: E731
    ints: Callable[[str], list[int]] = lambda s: [int(x) for x in s.split(",")]  # noqa: E731
    parser.add_argument("--loads", type=floats, default=[0.7, 0.85, 0.95])
    parser.add_argument("--agents", type=ints, default=[5, 20, 50])
    parser.add_argument("--calls", type=int, default=40000)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--aht", type=float, default=180.0)
    parser.add_argument("--cv", type=float, default=1.0)
    parser.add_argument("--aht-change", type=float, default=1.0, help="AHT × this from the middle call on")
    parser.add_argument("--half-life", type=float, default=DEFAULT_HALF_LIFE_S, help="of the recent AHT, s")
    args = parser.parse_args()

    print(
        f"{args.calls} calls per scenario ({args.warmup} warm-up), log-normal handle time mean {args.aht:g} s"
        f" CV {args.cv:g}, AHT half-life {args.half_life:g} s, AHT change ×{args.aht_change:g},"
        f" seed {args.seed};"
        " errors in seconds over callers who had to wait\n"
    )
    print("| ρ | c | waited | mean wait | method | MAE | median | p90 | bias |")
    print("|--:|--:|------:|---------:|--------|----:|------:|----:|-----:|")
    totals: dict[str, list[float]] = {m: [] for m in METHODS}
    for rho in args.loads:
        for c in args.agents:
            predicted, actual, p_wait = replay(
                rho, c, args.calls, args.warmup, args.seed, args.aht, args.cv, args.half_life, args.aht_change
            )
            mean_wait = statistics.fmean(actual)
            for method in METHODS:
                mae, med, p90, bias = errors(predicted[method], actual)
                totals[method].append(mae / mean_wait)
                head = (
                    f"| {rho:g} | {c} | {p_wait:.0%} | {mean_wait:.0f} |"
                    if method == METHODS[0]
                    else "| | | | |"
                )
                print(f"{head} {method} | {mae:.0f} | {med:.0f} | {p90:.0f} | {bias:+.0f} |")
    print("\nMAE / mean actual wait, averaged over the scenarios:")
    for method in METHODS:
        print(f"  {method:<11} {statistics.fmean(totals[method]):.2f}")


if __name__ == "__main__":
    main()
