"""Fill a database with realistic calls for the KPI report benchmark (benchmarks/kpi_report.py).

    .venv/bin/python benchmarks/kpi_data.py --rows 10_000_000 --days 90 --queues 20 --agents 500 \\
        --callers 2_000_000 --topics 30 --seed 1 \\
        [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/ccapp_bench] \\
        [--sqlite /var/tmp/ccapp-bench/kpi.db] [--duckdb /var/tmp/ccapp-bench/kpi.duckdb]

One call = one ``queue_calls`` row (entry 1) and one ``contacts`` row. The data: a weekday/weekend
and two-peak daily arrival profile; topics with Zipf-like popularity, each homed on a queue (so
queue volumes are skewed too); callers drawn with a Zipf-like weight (a few frequent callers, most
call once or twice); waits growing with the load of the hour, patience with a share of instant
hang-ups (short abandons) and some callback requests; log-normal talk, hold and wrap-up; a resolved
flag per handled call whose probability depends on the topic; and follow-up calls — an abandoned
caller retries within minutes, an unresolved one comes back on the same topic within days (so a
real share of contacts repeat within 7 days, some across midnight). ``contacts.prev_at``/``next_at``
are computed here by sorting per (number, topic): exactly what ccapp's upkeep keeps as calls close.

The same ``--seed`` and sizes give the same rows in every backend. Everything is computed once as
compact numpy columns (~100 bytes a row); Python row objects exist only per chunk of ``--chunk``
rows while loading. The secondary indexes of ``queue_calls`` and ``contacts`` are dropped for the
load and recreated from their own migrated definitions, so the final schema is the migrated one.

``kpi_queue_slots`` (+ ``kpi_rollup_meta``) are filled from the same arrays with the default
thresholds (T 20 s, S 5 s, W 7 days) — or by ccapp's own ``rebuild_rollups`` with ``--rollups ccapp``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MS = 1
SECOND = 1000 * MS
MINUTE = 60 * SECOND
DAY = 86400 * SECOND
SLOT = 15 * MINUTE
#: The default thresholds (ccapp.kpi.definitions.Thresholds): T, S and W.
SL_T = 20.0
SHORT_S = 5.0
REPEAT_W_MS = 7 * DAY
DEFAULT_START = datetime(2026, 8, 3, tzinfo=UTC)  # a Monday

QUEUE_CALLS_COLUMNS = (
    "call_id", "entry", "queue", "priority", "entered_at", "left_at", "outcome", "target", "wait_s",
    "agent_id", "offered_count", "no_answer_count", "connected_at", "disconnected_at", "ring_s",
    "talk_s", "hold_s", "callback", "caller_number", "skill", "wrap_s",
)  # fmt: skip
CONTACTS_COLUMNS = (
    "call_id", "caller_number", "topic", "started_at", "queue", "agent_id", "handled", "resolved",
    "outcome", "prev_at", "next_at",
)  # fmt: skip
SLOT_MEASURES = (
    "entries", "short_abandons", "answered", "answered_within_t", "all_abandoned", "abandoned_within_t",
    "answered_timed", "answered_wait_s", "handled", "handle_s", "callbacks", "contacts_handled",
    "contacts_resolved", "first_contacts", "first_contacts_resolved",
)  # fmt: skip
FLOAT_MEASURES = ("answered_wait_s", "handle_s")

ANSWERED, ABANDONED, CALLBACK = 0, 1, 2
OUTCOMES = np.array(["answered", "abandoned", "callback"], dtype=object)


@dataclass(frozen=True)
class Spec:
    """Sizes and seed of a data set; ``start`` is the first UTC midnight."""

    rows: int = 10_000_000
    days: int = 90
    queues: int = 20
    agents: int = 500
    callers: int = 2_000_000
    topics: int = 30
    seed: int = 1
    start: datetime = DEFAULT_START

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)


@dataclass
class Calls:
    """The generated calls as columns, in call_id (= start time) order. Times are UTC epoch ms."""

    started: np.ndarray  # int64
    entered: np.ndarray  # int64
    caller: np.ndarray  # int32 caller index
    topic: np.ndarray  # int16
    queue: np.ndarray  # int16
    agent: np.ndarray  # int16, -1 = none
    outcome: np.ndarray  # int8
    wait: np.ndarray  # float64 seconds
    ring: np.ndarray
    talk: np.ndarray
    hold: np.ndarray
    wrap: np.ndarray
    resolved: np.ndarray  # bool (meaningful when answered)
    prev_at: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # -1 = none
    next_at: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def __len__(self) -> int:
        return len(self.started)

    def take(self, index: np.ndarray) -> Calls:
        return Calls(**{k: v[index] for k, v in vars(self).items() if len(v)})


# --------------------------------------------------------------------------- profiles


def day_profile() -> np.ndarray:
    """Weights of the 96 15-minute slots of a day: quiet nights, peaks near 10:30 and 15:00."""
    hours = (np.arange(96) + 0.5) / 4.0
    morning = np.exp(-(((hours - 10.5) / 1.8) ** 2))
    afternoon = 0.85 * np.exp(-(((hours - 15.0) / 2.2) ** 2))
    evening = 0.25 * np.exp(-(((hours - 19.5) / 1.5) ** 2))
    weights = 0.01 + morning + afternoon + evening
    return np.asarray(weights / weights.sum())


def day_weights(spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Relative volume of each day: weekdays, lighter Saturdays, quiet Sundays, Monday peaks, noise."""
    weekday = np.array([(spec.start + timedelta(days=d)).weekday() for d in range(spec.days)])
    base = np.choose(weekday, [1.25, 1.05, 1.0, 1.0, 0.95, 0.45, 0.22])
    weights = base * rng.normal(1.0, 0.06, spec.days).clip(0.7, 1.3)
    return np.asarray(weights / weights.sum())


def zipf_weights(n: int, offset: float, exponent: float) -> np.ndarray:
    weights = (np.arange(n) + offset) ** -exponent
    return np.asarray(weights / weights.sum())


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class World:
    """Fixed traits drawn once: profiles, topic → queue, queue difficulty, agents, resolution rates."""

    profile: np.ndarray
    days: np.ndarray
    topic_p: np.ndarray
    topic_queue: np.ndarray
    topic_talk: np.ndarray
    topic_resolve: np.ndarray
    queue_difficulty: np.ndarray
    queue_agents: list[np.ndarray]
    caller_p: np.ndarray


def make_world(spec: Spec, rng: np.random.Generator) -> World:
    topic_queue = np.arange(spec.topics) % spec.queues
    rng.shuffle(topic_queue)
    agents = np.arange(spec.agents)
    home = agents % spec.queues
    return World(
        profile=day_profile(),
        days=day_weights(spec, rng),
        topic_p=zipf_weights(spec.topics, 3.0, 1.0),
        topic_queue=topic_queue,
        topic_talk=rng.uniform(150.0, 420.0, spec.topics),
        topic_resolve=rng.uniform(0.6, 0.92, spec.topics),
        queue_difficulty=rng.uniform(0.5, 1.6, spec.queues),
        queue_agents=[agents[home == q] for q in range(spec.queues)],
        caller_p=zipf_weights(spec.callers, 100.0, 0.8),
    )


def _time_of_day(world: World, n: int, rng: np.random.Generator) -> np.ndarray:
    slots = rng.choice(96, size=n, p=world.profile)
    return slots.astype(np.int64) * SLOT + rng.integers(0, SLOT, n)


def _first_calls(spec: Spec, world: World, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    day = rng.choice(spec.days, size=n, p=world.days).astype(np.int64)
    return {
        "started": spec.start_ms + day * DAY + _time_of_day(world, n, rng),
        "caller": rng.choice(spec.callers, size=n, p=world.caller_p).astype(np.int32),
        "topic": rng.choice(spec.topics, size=n, p=world.topic_p).astype(np.int16),
    }


def _attributes(
    spec: Spec, world: World, calls: dict[str, np.ndarray], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Queue, wait, outcome, agent, handle times and resolution of calls placed at ``started``."""
    n = len(calls["started"])
    topic = calls["topic"]
    # mostly the topic's home queue, 12% routed elsewhere (IVR choices, overflow rules)
    queue = world.topic_queue[topic].astype(np.int16)
    other = rng.random(n) < 0.12
    queue[other] = rng.integers(0, spec.queues, int(other.sum()))
    entered = calls["started"] + rng.integers(4 * SECOND, 75 * SECOND, n)
    slot = (entered % DAY) // SLOT
    load = world.profile[slot] / world.profile.max()
    mean_wait = world.queue_difficulty[queue] * (3.0 + 40.0 * load**2)
    wait_needed = rng.exponential(mean_wait)
    instant = rng.random(n) < 0.04
    patience = np.where(instant, rng.uniform(0.3, 6.0, n), rng.exponential(240.0, n))
    outcome = np.where(patience < wait_needed, ABANDONED, ANSWERED).astype(np.int8)
    wait = np.where(outcome == ABANDONED, patience, wait_needed)
    wants_callback = (outcome == ANSWERED) & (wait_needed > 60.0) & (rng.random(n) < 0.15)
    outcome[wants_callback] = CALLBACK
    wait[wants_callback] = rng.uniform(30.0, 60.0, int(wants_callback.sum()))
    answered = outcome == ANSWERED
    wait = np.round(wait, 3)
    agent = np.full(n, -1, np.int16)
    for q in range(spec.queues):
        pick = answered & (queue == q)
        pool = world.queue_agents[q] if len(world.queue_agents[q]) else np.arange(spec.agents)
        agent[pick] = rng.choice(pool, int(pick.sum()))
    roaming = answered & (rng.random(n) < 0.15)
    agent[roaming] = rng.integers(0, spec.agents, int(roaming.sum()))
    talk = np.round(rng.lognormal(np.log(world.topic_talk[topic]), 0.7), 3)
    hold = np.where(rng.random(n) < 0.3, np.round(rng.lognormal(np.log(45.0), 0.8, n), 3), 0.0)
    wrap = np.round(rng.lognormal(np.log(25.0), 0.5, n), 3)
    ring = np.round(rng.uniform(1.5, 9.0, n), 3)
    resolved = rng.random(n) < world.topic_resolve[topic]
    return {
        "entered": entered,
        "queue": queue,
        "agent": agent,
        "outcome": outcome,
        "wait": wait,
        "ring": np.where(answered, ring, np.nan),
        "talk": np.where(answered, talk, np.nan),
        "hold": np.where(answered, hold, np.nan),
        "wrap": np.where(answered, wrap, np.nan),
        "resolved": resolved & answered,
    }


def _follow_ups(
    spec: Spec, world: World, calls: dict[str, np.ndarray], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Next calls of the same callers on the same topics: retries after an abandon (minutes),
    returns after an unresolved call (days), and a few after a resolved one."""
    n = len(calls["started"])
    outcome = calls["outcome"]
    p = np.where(outcome == ABANDONED, 0.55, np.where(calls["resolved"], 0.06, 0.32))
    p = np.where(outcome == CALLBACK, 0.1, p)
    again = rng.random(n) < p
    started = calls["started"][again]
    abandoned = outcome[again] == ABANDONED
    m = len(started)
    retry = started + np.round(rng.lognormal(np.log(8 * MINUTE), 0.9, m)).astype(np.int64)
    offsets = np.array(
        [0.10, 0.26, 0.16, 0.11, 0.08, 0.06, 0.05, 0.04, 0.035, 0.03, 0.025, 0.02, 0.02, 0.015]
    )
    day_off = rng.choice(len(offsets), size=m, p=offsets / offsets.sum()).astype(np.int64)
    back = (started // DAY + day_off) * DAY + _time_of_day(world, m, rng)
    back = np.where(back <= started, back + DAY, back)
    nxt = np.where(abandoned, retry, back)
    keep = nxt < spec.start_ms + spec.days * DAY
    return {
        "started": nxt[keep],
        "caller": calls["caller"][again][keep],
        "topic": calls["topic"][again][keep],
    }


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def generate(spec: Spec, log: Any = None) -> Calls:
    """Exactly ``spec.rows`` calls, sorted by start time, with their repeat links."""
    rng = np.random.default_rng(spec.seed)
    world = make_world(spec, rng)
    parts: list[dict[str, np.ndarray]] = []
    total = 0
    n_first = int(spec.rows * 0.80)
    while total < spec.rows:
        batch = _first_calls(spec, world, max(n_first, 1), rng)
        while len(batch["started"]):
            batch.update(_attributes(spec, world, batch, rng))
            parts.append(batch)
            total += len(batch["started"])
            batch = _follow_ups(spec, world, batch, rng)
        n_first = max(spec.rows - total, 0) + 16
    merged = _concat(parts)
    if total > spec.rows:  # drop a uniform random subset: the mix stays the same
        keep = np.sort(rng.choice(total, size=spec.rows, replace=False))
        merged = {k: v[keep] for k, v in merged.items()}
    calls = Calls(**merged)
    _link_repeats(calls)
    calls = calls.take(np.argsort(calls.started, kind="stable"))
    if log:
        log(f"generated {len(calls):,} calls")
    return calls


def _link_repeats(calls: Calls) -> None:
    """prev_at/next_at per (caller, topic); nudges equal times apart and gaps within 2 ms of W."""
    for _ in range(20):
        order = np.lexsort((calls.started, calls.topic, calls.caller))
        t = calls.started[order]
        same = (calls.caller[order][1:] == calls.caller[order][:-1]) & (
            calls.topic[order][1:] == calls.topic[order][:-1]
        )
        gap = t[1:] - t[:-1]
        bad = same & ((gap == 0) | (np.abs(gap - REPEAT_W_MS) <= 2))
        if not bad.any():
            break
        fix = order[1:][bad]
        calls.started[fix] += 5
        calls.entered[fix] += 5
    prev_at = np.full(len(t), -1, np.int64)
    next_at = np.full(len(t), -1, np.int64)
    prev_at[1:][same] = t[:-1][same]
    next_at[:-1][same] = t[1:][same]
    calls.prev_at = np.empty_like(prev_at)
    calls.next_at = np.empty_like(next_at)
    calls.prev_at[order] = prev_at
    calls.next_at[order] = next_at


# --------------------------------------------------------------------------- measures


def slot_measures(spec: Spec, calls: Calls) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``kpi_queue_slots`` rows: (queue index, slot start ms, {measure: values}) with default thresholds."""
    base = spec.start_ms - DAY  # entries may start before the first day only in theory
    q_slot = (calls.entered - base) // SLOT
    c_slot = (calls.started - base) // SLOT
    n_slots = int(max(q_slot.max(), c_slot.max())) + 1
    q_key = calls.queue.astype(np.int64) * n_slots + q_slot
    c_key = calls.queue.astype(np.int64) * n_slots + c_slot
    size = int(spec.queues) * n_slots
    answered = calls.outcome == ANSWERED
    abandoned = calls.outcome == ABANDONED
    handled = answered
    repeated = (calls.next_at >= 0) & (calls.next_at - calls.started <= REPEAT_W_MS)
    first = handled & ~((calls.prev_at >= 0) & (calls.started - calls.prev_at <= REPEAT_W_MS))
    resolved = handled & calls.resolved & ~repeated
    wait = calls.wait
    queue_parts = {
        "entries": np.ones(len(calls), bool),
        "short_abandons": abandoned & (wait < SHORT_S),
        "answered": answered,
        "answered_within_t": answered & (wait <= SL_T),
        "all_abandoned": abandoned,
        "abandoned_within_t": abandoned & (wait <= SL_T),
        "answered_timed": answered,
        "answered_wait_s": np.where(answered, wait, 0.0),
        "handled": handled,
        "handle_s": np.where(handled, calls.talk + calls.hold + calls.wrap, 0.0),
        "callbacks": calls.outcome == CALLBACK,
    }
    contact_parts = {
        "contacts_handled": handled,
        "contacts_resolved": resolved,
        "first_contacts": first,
        "first_contacts_resolved": first & resolved,
    }
    sums = {
        k: np.bincount(q_key, weights=v.astype(np.float64), minlength=size) for k, v in queue_parts.items()
    }
    sums |= {
        k: np.bincount(c_key, weights=v.astype(np.float64), minlength=size) for k, v in contact_parts.items()
    }
    present = (np.bincount(q_key, minlength=size) + np.bincount(c_key, minlength=size)) > 0
    keys = np.nonzero(present)[0]
    queue = keys // n_slots
    slot_ms = base + (keys % n_slots) * SLOT
    return queue, slot_ms, {k: v[keys] for k, v in sums.items()}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- CLI


def _int(text: str) -> int:
    return int(text.replace("_", ""))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=_int, default=10_000_000)
    parser.add_argument("--days", type=_int, default=90)
    parser.add_argument("--queues", type=_int, default=20)
    parser.add_argument("--agents", type=_int, default=500)
    parser.add_argument("--callers", type=_int, default=2_000_000)
    parser.add_argument("--topics", type=_int, default=30)
    parser.add_argument("--seed", type=_int, default=1)
    parser.add_argument("--chunk", type=_int, default=200_000)
    parser.add_argument(
        "--pg", help="postgresql+asyncpg:// URL of an existing database (its public schema is replaced)"
    )
    parser.add_argument("--sqlite", type=Path, help="SQLite file to (re)create")
    parser.add_argument("--duckdb", type=Path, help="DuckDB file to (re)create")
    parser.add_argument(
        "--rollups",
        choices=("generator", "ccapp"),
        default="generator",
        help="fill kpi_queue_slots from the generated arrays (default) or with ccapp's rebuild_rollups",
    )
    args = parser.parse_args(argv)
    if not (args.pg or args.sqlite or args.duckdb):
        parser.error("name at least one of --pg, --sqlite, --duckdb")
    return args


def spec_from(args: argparse.Namespace) -> Spec:
    return Spec(args.rows, args.days, args.queues, args.agents, args.callers, args.topics, args.seed)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.kpi_load import load_duckdb, load_pg, load_sqlite, rebuild_with_ccapp

    args = parse_args(argv)
    spec = spec_from(args)
    began = time.perf_counter()
    calls = generate(spec, _log)
    _log(f"generation: {time.perf_counter() - began:.1f} s")
    loaders: tuple[tuple[str, Callable[[], None]], ...] = (
        ("duckdb", lambda: load_duckdb(args.duckdb, spec, calls, args.chunk)),
        ("pg", lambda: asyncio.run(load_pg(args.pg, spec, calls, args.chunk))),
        ("sqlite", lambda: load_sqlite(args.sqlite, spec, calls, args.chunk)),
    )
    for target, run in loaders:
        if getattr(args, target) is None:
            continue
        t0 = time.perf_counter()
        run()
        if target != "duckdb" and args.rollups == "ccapp":
            url = args.pg if target == "pg" else f"sqlite+aiosqlite:///{args.sqlite}"
            t1 = time.perf_counter()
            used = asyncio.run(rebuild_with_ccapp(url))
            _log(
                f"{target}: rebuild_rollups {'done' if used else 'not available'}"
                f" in {time.perf_counter() - t1:.1f} s"
            )
        _log(f"{target}: loaded in {time.perf_counter() - t0:.1f} s")
    os.sync()
    return 0


if __name__ == "__main__":
    sys.exit(main())
