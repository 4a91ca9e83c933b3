"""ACD routing decision latency: the pure router over a synthetic contact center, no I/O.

    .venv/bin/python benchmarks/routing.py [--agents 100,500,1000,2000,5000,10000] [--calls 2000]
        [--skills 50] [--queues 50] [--quiet 15] [--events 4000] [--seed 7] [--reference 2000]
        [--gc-freeze] [--no-memory]

Center (seeded random, same for every size): ``--skills`` skills; ``--queues`` queues, each needing
one skill at level 1-3 (30 % a second skill at level 1-2), strategies mixed (60 % longest_idle, 10 %
each round_robin / fewest_calls / skills_weighted / ring_all), half with relaxation steps (30 s:
levels -1, 90 s: levels -2). Agents have 3-6 skills at levels 1-5 and join up to 4 queues whose
first skill they have; 15 % start ready, the rest on a call, in wrap-up or not ready. ``--calls``
waiting calls spread over the queues by Zipf weights (queue i gets 1/(i+1), the last ``--quiet``
queues none: their agents stay ready and fit no call), priorities 0/1/2
(85/10/5 %), 20 % also need one of 5 language skills at level 1-3, entered over the last 5 minutes.

Per size:
1. *drain*: `Router.route` assigns everything assignable (each assigned agent reserved, each
   assigned call replaced by a new one, so the line stays at ``--calls``). What is left is the hard
   case: many ready agents and many waiting calls, none of which fit.
2. *idle decision*: `decide` 1,000 times on that state (nothing assignable). ``warm``: as the service
   calls it, with the router's memory of bands nobody can serve; ``cold``: a copy of the state in a
   `Router(remember_unservable=False)`, so every call examines every band of every queue that has a
   ready agent — the worst case. ``--no-memory`` runs the churn with such a router too.
3. *churn*: ``--events`` events (40 % an agent becomes ready, 40 % a call arrives, 10 % an agent
   takes a break, 10 % the clock moves 0.2 s); after each, `decide` until it returns None,
   committing each assignment. Every `decide` is timed (those that assign and the final None).
4. *reference* (sizes ≤ ``--reference``): the naive O(calls × agents) `reference_decide` on the
   drained state, once, and a check that it agrees with the router.

Times are ``time.perf_counter_ns`` around the call only, garbage collector on: the rare
milliseconds-long maxima are its full collections over the center's objects (``--gc-freeze``
moves the built center out of the collector's reach with `gc.freeze`, as a server can after
loading its agents).
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import time
from datetime import timedelta

from ccapp.acd.model import Agent, AgentState, QueueConfig, RelaxationStep, Strategy, WaitingCall
from ccapp.acd.reference import reference_decide
from ccapp.acd.router import Router
from ccapp.acd.states import change_state
from ccapp.clock import FakeClock

S = AgentState
STRATEGIES = [Strategy.LONGEST_IDLE] * 6 + [
    Strategy.ROUND_ROBIN,
    Strategy.FEWEST_CALLS,
    Strategy.SKILLS_WEIGHTED,
    Strategy.RING_ALL,
]
TO_READY = {  # a legal path back to ready from each state
    S.RESERVED: (S.RINGING, S.ON_CALL, S.WRAP_UP, S.READY),
    S.RINGING: (S.ON_CALL, S.WRAP_UP, S.READY),
    S.ON_CALL: (S.WRAP_UP, S.READY),
    S.WRAP_UP: (S.READY,),
    S.NOT_READY: (S.READY,),
    S.LOGGED_OUT: (S.READY,),
}


class Center:
    def __init__(self, n_agents: int, args: argparse.Namespace) -> None:
        self.rng = rng = random.Random(args.seed)
        self.clock = FakeClock()
        self.skills = [f"s{i:02d}" for i in range(args.skills)]
        self.languages = self.skills[-5:]
        queues = []
        for i in range(args.queues):
            required = {self.skills[i % len(self.skills)]: rng.randint(1, 3)}
            if rng.random() < 0.3:
                required[rng.choice(self.skills)] = rng.randint(1, 2)
            steps = (RelaxationStep(30, 1), RelaxationStep(90, 2)) if rng.random() < 0.5 else ()
            queues.append(QueueConfig(f"q{i:02d}", required, rng.choice(STRATEGIES), steps))
        self.queues = {q.name: q for q in queues}
        # Zipf traffic: a few busy queues, a long tail of quiet ones whose agents stay ready
        self.queue_names = list(self.queues)
        busy = len(queues) - args.quiet
        self.queue_weights = [1.0 / (i + 1) if i < busy else 0.0 for i in range(len(queues))]
        self.router = Router(queues, remember_unservable=not args.no_memory)
        by_skill: dict[str, list[str]] = {}
        for q in queues:
            by_skill.setdefault(next(iter(q.skills)), []).append(q.name)
        self.agents: list[Agent] = []
        for n in range(n_agents):
            skills = {s: rng.randint(1, 5) for s in rng.sample(self.skills, rng.randint(3, 6))}
            member = [name for s in skills for name in by_skill.get(s, [])]
            agent = Agent(
                f"a{n:05d}",
                f"Agent {n}",
                f"PJSIP/{n}",
                skills,
                frozenset(rng.sample(member, min(4, len(member)))),
                calls_today=rng.randint(0, 30),
            )
            change_state(agent, S.NOT_READY, self.clock, "start")
            self.clock.advance(0.01)
            roll = rng.random()
            if roll < 0.15:
                change_state(agent, S.READY, self.clock)
            elif roll < 0.7:
                for to in (S.READY, S.RESERVED, S.RINGING, S.ON_CALL):
                    change_state(agent, to, self.clock)
            elif roll < 0.85:
                for to in (S.READY, S.RESERVED, S.RINGING, S.ON_CALL, S.WRAP_UP):
                    change_state(agent, to, self.clock)
            self.router.update_agent(agent)
            self.agents.append(agent)
        self.next_call = 0
        for _ in range(args.calls):
            self.add_call(back_s=rng.uniform(0, 300))

    def add_call(self, back_s: float = 0.0) -> None:
        rng = self.rng
        extra = {rng.choice(self.languages): rng.randint(1, 3)} if rng.random() < 0.2 else {}
        priority = rng.choices((0, 1, 2), (85, 10, 5))[0]
        entered = self.clock.now() - timedelta(seconds=back_s)
        name = rng.choices(self.queue_names, self.queue_weights)[0]
        self.router.add_call(WaitingCall(f"c{self.next_call}", name, entered, priority, extra))
        self.next_call += 1

    def settle(self, samples: list[int] | None) -> int:
        """decide/commit until None; reserve the agents; keep the line full. Returns assignments."""
        done = 0
        now = self.clock.now()
        while True:
            t0 = time.perf_counter_ns()
            decision = self.router.decide(now)
            t1 = time.perf_counter_ns()
            if samples is not None:
                samples.append(t1 - t0)
            if decision is None:
                return done
            self.router.commit(decision)
            for agent in decision.agents:
                change_state(agent, S.RESERVED, self.clock)
                self.router.update_agent(agent)
            self.add_call()
            done += 1

    def event(self, event_ns: list[int]) -> None:
        rng = self.rng
        roll = rng.random()
        t0 = time.perf_counter_ns()
        if roll < 0.4:
            agent = rng.choice(self.agents)
            if agent.state is not S.READY:
                for to in TO_READY[agent.state]:
                    change_state(agent, to, self.clock)
                self.router.update_agent(agent)
        elif roll < 0.8:
            self.add_call()
        elif roll < 0.9:
            agent = rng.choice(self.agents)
            if agent.state is S.READY:
                change_state(agent, S.NOT_READY, self.clock, "break")
                self.router.update_agent(agent)
        else:
            self.clock.advance(0.2)
        event_ns.append(time.perf_counter_ns() - t0)


def pct(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000.0


def run(n_agents: int, args: argparse.Namespace) -> dict[str, object]:
    t_build = time.perf_counter()
    center = Center(n_agents, args)
    build_s = time.perf_counter() - t_build
    drained = center.settle(None)
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    ready = sum(1 for a in center.agents if a.state is S.READY)
    idle: list[int] = []
    cold: list[int] = []
    now = center.clock.now()
    shadow = Router(center.queues.values(), remember_unservable=False)
    for agent in center.agents:
        shadow.update_agent(agent)
    for call in center.router.waiting():
        shadow.add_call(call)
    for _ in range(1000):
        t0 = time.perf_counter_ns()
        assert center.router.decide(now) is None
        idle.append(time.perf_counter_ns() - t0)
    for _ in range(1000):
        t0 = time.perf_counter_ns()
        assert shadow.decide(now) is None
        cold.append(time.perf_counter_ns() - t0)
    reference_ms: float | None = None
    if n_agents <= args.reference:
        memory = {name: center.router.rr_memory(name) for name in center.queues}
        t0 = time.perf_counter_ns()
        expected = reference_decide(center.queues, center.agents, center.router.waiting(), now, memory)
        reference_ms = (time.perf_counter_ns() - t0) / 1e6
        assert expected is None, "reference disagrees with the router on the drained state"
    churn: list[int] = []
    event_ns: list[int] = []
    assigned = 0
    for _ in range(args.events):
        center.event(event_ns)
        assigned += center.settle(churn)
    if args.gc_freeze:
        gc.unfreeze()
    return {
        "agents": n_agents,
        "build_s": build_s,
        "drained": drained,
        "ready": ready,
        "waiting": len(center.router),
        "idle_p50": pct(idle, 0.5),
        "idle_p99": pct(idle, 0.99),
        "cold_p50": pct(cold, 0.5),
        "cold_p99": pct(cold, 0.99),
        "n": len(churn),
        "assigned": assigned,
        "p50": pct(churn, 0.5),
        "p99": pct(churn, 0.99),
        "max": max(churn) / 1000.0,
        "mean": statistics.fmean(churn) / 1000.0,
        "event_p99": pct(event_ns, 0.99),
        "reference_ms": reference_ms,
    }


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--agents", default="100,500,1000,2000,5000,10000")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() the center once built")
    parser.add_argument("--no-memory", action="store_true", help="churn without the unservable-band memory")
    parser.add_argument("--quiet", type=int, default=15, help="queues that get no calls (their agents idle)")
    parser.add_argument("--reference", type=int, default=2000, help="run the naive reference up to this size")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()} on {platform.machine()}; {args.calls} waiting calls, "
        f"{args.skills} skills, {args.queues} queues ({args.quiet} quiet), {args.events} churn events, "
        f"seed {args.seed}{', no memory' if args.no_memory else ''}{', gc frozen' if args.gc_freeze else ''}"
    )
    print("times in µs unless noted. idle = decide on the drained state (nothing fits); churn = every")
    print("decide during the event stream; event = one event's state change + router update")
    columns = [
        ("agents", "agents", "d"),
        ("ready", "ready", "d"),
        ("drained", "drained", "d"),
        ("idle warm p50", "idle_p50", ".1f"),
        ("idle warm p99", "idle_p99", ".1f"),
        ("idle cold p50", "cold_p50", ".1f"),
        ("idle cold p99", "cold_p99", ".1f"),
        ("churn decisions", "n", "d"),
        ("assigned", "assigned", "d"),
        ("churn p50", "p50", ".1f"),
        ("churn p99", "p99", ".1f"),
        ("churn max", "max", ".1f"),
        ("event p99", "event_p99", ".1f"),
        ("reference ms", "reference_ms", ".0f"),
    ]
    print("| " + " | ".join(title for title, _, _ in columns) + " |")
    print("|" + "|".join("-" * (len(title) + 1) + ":" for title, _, _ in columns) + "|")
    for n in (int(x) for x in args.agents.split(",")):
        r = run(n, args)
        cells = []
        for title, key, fmt in columns:
            value = r[key]
            cells.append(f"{format(value, fmt) if value is not None else '–':>{len(title)}}")
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
