"""The simulator against Erlang C (M/M/c) and Erlang A (M/M/c+M): simulated figures with a 95 %
confidence interval next to the formulas of `ccapp.kpi.erlang`.

    .venv/bin/python benchmarks/sim_vs_erlang.py [--reps 20] [--calls 100000] [--cases C1,A2,…]

Each case is one queue, ``c`` agents always on, Poisson arrivals, exponential talk of mean AHT,
no wrap-up, and (Erlang A cases) exponential patience. It runs ``--reps`` independent replications
(seeds 1…reps) of ``--calls`` arrivals each, the first 2 % of each run a warm-up. The interval is
mean ± t(0.975, reps − 1) · sd / √reps over the replications: the runs are independent, so it is
honest even though waits within one run are strongly correlated (which a per-call standard error
would ignore). Abandons are all counted (no short-abandon threshold), as the formulas assume.

Metrics: SL = answered within T / arrivals; ASA = mean wait of the answered calls; P(wait) = share
of arrivals who find every agent busy; abandon = abandoned / arrivals (Erlang A only).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from dataclasses import dataclass

from ccapp.acd.model import QueueConfig
from ccapp.kpi import erlang
from ccapp.sim import AgentSpec, ArrivalSpec, Exponential, RateProfile, Scenario, Summary, run_scenario

T = 20.0
# two-sided 95 % Student t quantiles for df = 1…30
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    agents: int
    calls_per_hour: float
    aht_s: float
    patience_s: float | None = None

    @property
    def traffic(self) -> float:
        return self.calls_per_hour * self.aht_s / 3600.0


CASES = (
    Case("C1", 14, 200.0, 180.0),  # the published example: 100 calls / 30 min, A = 10
    Case("C2", 5, 80.0, 180.0),  # small group, A = 4, 80 % occupancy
    Case("C3", 20, 340.0, 180.0),  # A = 17, 85 %
    Case("A1", 14, 200.0, 180.0, 120.0),
    Case("A2", 5, 80.0, 180.0, 60.0),
    Case("A3", 10, 220.0, 180.0, 90.0),  # overloaded: A = 11 > c, stable only through abandons
)


def simulate(case: Case, calls: int, seed: int) -> Summary:
    duration = calls / case.calls_per_hour * 3600.0
    patience = None if case.patience_s is None else Exponential(case.patience_s)
    scenario = Scenario(
        queues=(QueueConfig("q", wrap_up_s=0.0),),
        agents=tuple(AgentSpec(f"a{i}", frozenset({"q"})) for i in range(case.agents)),
        arrivals=(
            ArrivalSpec("q", RateProfile.constant(case.calls_per_hour), Exponential(case.aht_s), patience),
        ),
        duration_s=duration,
        warmup_s=0.02 * duration,
        seed=seed,
        service_level_s=T,
        keep_records=False,
    )
    return run_scenario(scenario).summary


def formulas(case: Case) -> dict[str, float]:
    """What Erlang C (no patience) or Erlang A says for the case."""
    a, c = case.traffic, case.agents
    if case.patience_s is None:
        return {
            "SL": erlang.service_level(c, a, case.aht_s, T),
            "ASA s": erlang.asa(c, a, case.aht_s),  # every call is answered: mean wait of all
            "P(wait)": erlang.erlang_c(c, a),
        }
    ea = erlang.erlang_a(c, a, case.aht_s, case.patience_s, T)
    return {"SL": ea.service_level, "ASA s": ea.asa_s, "P(wait)": ea.p_wait, "abandon": ea.p_abandon}


def measured(summary: Summary) -> dict[str, float]:
    out = {
        "SL": summary.service_level or 0.0,
        "ASA s": summary.asa_s or 0.0,
        "P(wait)": summary.p_wait or 0.0,
    }
    if summary.abandon_rate is not None:
        out["abandon"] = summary.abandon_rate
    return out


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % confidence interval over independent replications."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan
    t = _T975[min(len(values) - 1, len(_T975)) - 1]
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))


def _fmt(metric: str, value: float) -> str:
    return f"{value:.2f}" if metric == "ASA s" else f"{value * 100:.2f} %"


def run_case(case: Case, reps: int, calls: int) -> tuple[list[list[str]], int, float]:
    """The table rows of one case, the measured calls and the seconds it took."""
    started = time.perf_counter()
    runs = [simulate(case, calls, seed) for seed in range(1, reps + 1)]
    elapsed = time.perf_counter() - started
    total = sum(r.offered for r in runs)
    theory = formulas(case)
    rows = []
    for metric, expected in theory.items():
        if metric == "abandon" and case.patience_s is None:
            continue
        mean, half = interval([measured(r)[metric] for r in runs])
        if metric == "ASA s":
            diff = f"{(mean / expected - 1) * 100:+.1f} %"
            ci = f"± {half:.2f}"
        else:
            diff = f"{(mean - expected) * 100:+.2f} pt"
            ci = f"± {half * 100:.2f}"
        rows.append(
            [
                case.name,
                f"{case.calls_per_hour:g}",
                f"{case.aht_s:g}",
                str(case.agents),
                "—" if case.patience_s is None else f"{case.patience_s:g}",
                f"{total:,}",
                metric,
                f"{_fmt(metric, mean)} {ci}",
                _fmt(metric, expected),
                diff,
            ]
        )
    return rows, total, elapsed


HEADER = [
    "case",
    "λ /h",
    "AHT s",
    "agents",
    "patience s",
    "calls",
    "metric",
    "simulated (95 % CI)",
    "formula",
    "diff",
]


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(" --- " for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=20, help="independent replications per case")
    parser.add_argument("--calls", type=int, default=100_000, help="arrivals per replication")
    parser.add_argument("--cases", default=",".join(c.name for c in CASES), help="e.g. C1,A2")
    args = parser.parse_args()
    wanted = set(args.cases.split(","))
    rows: list[list[str]] = []
    for case in CASES:
        if case.name not in wanted:
            continue
        case_rows, total, elapsed = run_case(case, args.reps, args.calls)
        rows += case_rows
        print(f"{case.name}: {total:,} measured calls in {elapsed:.0f} s", flush=True)
    print()
    print(markdown(rows))


if __name__ == "__main__":
    main()
