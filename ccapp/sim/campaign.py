"""Outbound campaign simulator: a virtual clock, a heap of events, and the runtime's own pacing code.

The pacers are the ones the dialer runs: `ccapp.dialer.pacing.lines_to_dial` ("progressive" and
"predictive", fed by a `PacingHistory`) and `ccapp.dialer.tapered.TaperedPacer` (the ADAPT_TAPERED
baseline). They see only what the runtime would: a `Floor` (agents ready, on a call and for how
long, lines in flight and their ages, answered parties waiting) and the window's `AbandonBudget`.

The shift (the benchmark of issue 6, all parameters in `CampaignScenario`):

* ``agents`` agents logged in for the whole run; one campaign, so agents are interchangeable (no ACD
  routing: the first free agent takes the first waiting party);
* a dialled line is a live person with probability ``p_live`` (``p_live_change``: another one from
  a given second on, a list that answers unlike its history), answering after U(4, 20) s of ringing;
  otherwise 60 % no answer (released at 25 s), 20 % busy (released at 3 s), 20 % answering machine
  (answers after U(4, 20) s like a person, AMD says "machine" 3 s later, the line is released then);
* a live answer is bridged at once to a free agent; with none free it waits up to ``grace_s`` (2 s)
  for one, then hears the message and is *abandoned*;
* the handle time (talk + wrap-up as one) is log-normal, mean 180 s, CV 1;
* the pacer runs every ``tick_s`` (1 s) and after every event (a line resolves, an agent frees, a
  waiting party abandons); it is never asked while the campaign is over.

Measures (`CampaignResult`): after the ``warmup_s`` (10 min), occupancy = agent time handling /
(handling + ready idle) — agents are never paused, so that is handling / (agents × measured time);
abandonment = abandoned live answers / live answers, both counted at the answer; dials per hour.
``max_window_abandon`` is the abandon rate of the worst rolling ``window_s`` window of the whole run
(warm-up included: the law counts it): one window when the run is shorter than the window.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ccapp.dialer.pacing import AbandonBudget, Floor, PacingHistory, PacingStats, Prior, lines_to_dial
from ccapp.dialer.tapered import TaperedPacer, TaperedSettings
from ccapp.sim.distributions import InvalidScenario, LogNormal, Sampler

PACERS = ("ccapp", "tapered", "progressive")
BENCHMARK_HANDLE = LogNormal(180.0, 1.0)
DEFAULT_TAPERED = TaperedSettings()
DEFAULT_PRIOR = Prior()

_TICK, _RESOLVE, _HANDLE_END, _EXPIRE = range(4)

Policy = Callable[[float, PacingStats, Floor, AbandonBudget], int]


@dataclass(frozen=True, slots=True)
class CampaignScenario:
    """One outbound shift. Times in seconds."""

    agents: int
    p_live: float
    pacer: str = "ccapp"
    hours: float = 8.0
    warmup_s: float = 600.0
    seed: int = 1
    target: float = 0.03
    window_s: float = 86_400.0
    grace_s: float = 2.0
    tick_s: float = 1.0
    ring_s: tuple[float, float] = (4.0, 20.0)
    no_answer: tuple[float, float] = (0.6, 25.0)  # share of non-live, release time
    busy: tuple[float, float] = (0.2, 3.0)
    machine_amd_s: float = 3.0  # the rest of non-live are machines: answer + this
    handle: Sampler = BENCHMARK_HANDLE
    p_live_change: tuple[float, float] | None = None  # (at second, new p): a list that changes
    tapered: TaperedSettings = DEFAULT_TAPERED
    prior: Prior = DEFAULT_PRIOR

    def __post_init__(self) -> None:
        if self.agents < 1:
            raise InvalidScenario(f"campaign: agents must be >= 1, not {self.agents}")
        if not 0.0 < self.p_live <= 1.0:
            raise InvalidScenario(f"campaign: p_live must be in (0, 1], not {self.p_live}")
        if self.p_live_change is not None and not 0.0 < self.p_live_change[1] <= 1.0:
            raise InvalidScenario(f"campaign: the new p_live must be in (0, 1], not {self.p_live_change[1]}")
        if self.pacer not in PACERS:
            raise InvalidScenario(f"campaign: pacer must be one of {', '.join(PACERS)}, not {self.pacer!r}")
        if not self.hours * 3600.0 > self.warmup_s:
            raise InvalidScenario("campaign: the run must be longer than its warm-up")

    @property
    def duration_s(self) -> float:
        return self.hours * 3600.0


@dataclass(frozen=True, slots=True)
class CampaignResult:
    """What a run measured (after the warm-up unless said otherwise)."""

    occupancy: float
    live_answers: int
    abandoned: int
    dials: int
    dials_per_hour: float
    max_window_abandon: float  # worst rolling window, whole run
    pacer_calls: int

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live_answers if self.live_answers else 0.0


def progressive_occupancy(scenario: CampaignScenario) -> float:
    """Progressive mode's closed form ``h / (h + E[non-live time] · (1 − p) / p + E[ring])``.

    Each agent dials one line at a time: before each live answer it waits through a geometric
    number (mean (1 − p) / p) of non-live attempts and then the live one's ring; then it handles.
    """
    sc = scenario
    ring = sum(sc.ring_s) / 2.0
    machine = 1.0 - sc.no_answer[0] - sc.busy[0]
    nonlive = (
        sc.no_answer[0] * sc.no_answer[1] + sc.busy[0] * sc.busy[1] + machine * (ring + sc.machine_amd_s)
    )
    h = sc.handle.mean
    return h / (h + nonlive * (1.0 - sc.p_live) / sc.p_live + ring)


def policy_for(scenario: CampaignScenario) -> Policy:
    """The pacing decision of ``scenario.pacer``, as the runtime would call it."""
    if scenario.pacer == "progressive":
        return lambda now, stats, floor, budget: lines_to_dial("progressive", stats, floor, budget)
    if scenario.pacer == "ccapp":
        return lambda now, stats, floor, budget: lines_to_dial("predictive", stats, floor, budget)
    tapered = TaperedPacer(scenario.tapered, shift_start=0.0)
    return lambda now, stats, floor, budget: tapered.lines_to_dial(now, floor, budget)


def run_campaign(scenario: CampaignScenario) -> CampaignResult:
    """Run one shift to its end and measure it."""
    return CampaignSimulation(scenario).run()


class CampaignSimulation:
    """One run; use `run_campaign`, or `run` once on a fresh instance."""

    def __init__(self, scenario: CampaignScenario, policy: Policy | None = None) -> None:
        self.sc = scenario
        self.rng = random.Random(scenario.seed)
        self.policy = policy or policy_for(scenario)
        self.history = PacingHistory(window_s=3600.0, prior=scenario.prior)
        self.now = 0.0
        self._heap: list[tuple[float, int, int, int]] = []
        self._seq = 0
        self._lines: dict[int, tuple[float, str, float]] = {}  # line → (dialled at, outcome, after)
        self._in_flight: dict[int, float] = {}  # line → dialled at
        self._calls: dict[int, tuple[float, float]] = {}  # call → (started, handle)
        self._waiting: deque[int] = deque()  # live lines waiting for an agent, oldest first
        self._waiting_set: set[int] = set()
        self._window: deque[tuple[float, bool]] = deque()  # live answers in the budget's window
        self._window_abandoned = 0
        self._answers: list[tuple[float, bool]] = []  # every live answer: (time, abandoned)
        self._busy_area = 0.0
        self._last = 0.0
        self._dials = 0
        self._pacer_calls = 0

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> CampaignResult:
        end = self.sc.duration_s
        self._push(0.0, _TICK, 0)
        heap = self._heap
        while heap:
            t, _, kind, ref = heapq.heappop(heap)
            if t > end:
                break
            self._advance(t)
            if kind == _TICK:
                self._push(t + self.sc.tick_s, _TICK, 0)
            elif kind == _RESOLVE:
                self._on_resolve(ref)
            elif kind == _HANDLE_END:
                self._on_handle_end(ref)
            elif not self._on_expire(ref):
                continue
            self._pace()
        self._advance(end)
        return self._result()

    def _push(self, t: float, kind: int, ref: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, ref))

    def _advance(self, t: float) -> None:
        """Move the clock to ``t``, adding the busy agents' time inside the measured span."""
        lo = max(self._last, self.sc.warmup_s)
        if t > lo:
            self._busy_area += len(self._calls) * (t - lo)
        self._last = t
        self.now = t

    # -- events -----------------------------------------------------------------------------------

    def _on_resolve(self, line: int) -> None:
        _, outcome, after = self._lines.pop(line)
        del self._in_flight[line]
        self.history.dial_ended(self.now, outcome=outcome, after_s=after)
        if outcome != "live":
            return
        if len(self._calls) < self.sc.agents:
            self._answered(abandoned=False)
            self._connect(line)
        else:
            self._waiting.append(line)
            self._waiting_set.add(line)
            self._push(self.now + self.sc.grace_s, _EXPIRE, line)

    def _on_handle_end(self, call: int) -> None:
        _, handle = self._calls.pop(call)
        self.history.handled(self.now, handle)
        if self._waiting:
            line = self._waiting.popleft()
            self._waiting_set.discard(line)
            self._answered(abandoned=False)
            self._connect(line)

    def _on_expire(self, line: int) -> bool:
        if line not in self._waiting_set:
            return False  # it got an agent in time
        self._waiting_set.discard(line)
        self._waiting.remove(line)
        self._answered(abandoned=True)
        return True

    def _connect(self, line: int) -> None:
        handle = self.sc.handle.sample(self.rng)
        self._calls[line] = (self.now, handle)
        self._push(self.now + handle, _HANDLE_END, line)

    def _answered(self, *, abandoned: bool) -> None:
        """Count a live answer (at its answer time: the waiting parties' time is within 2 s)."""
        self._answers.append((self.now, abandoned))
        self._window.append((self.now, abandoned))
        self._window_abandoned += abandoned

    # -- pacing -----------------------------------------------------------------------------------

    def _pace(self) -> None:
        now = self.now
        window = self._window
        horizon = now - self.sc.window_s
        while window and window[0][0] <= horizon:
            self._window_abandoned -= window.popleft()[1]
        floor = Floor(
            ready=self.sc.agents - len(self._calls),
            on_call_s=tuple(now - started for started, _ in self._calls.values()),
            in_flight_s=tuple(now - dialled for dialled in self._in_flight.values()),
            live_waiting=len(self._waiting),
        )
        budget = AbandonBudget(self.sc.target, len(window), self._window_abandoned, grace_s=self.sc.grace_s)
        self._pacer_calls += 1
        n = self.policy(now, self.history.stats(now), floor, budget)
        for _ in range(n):
            self._dial()

    def _dial(self) -> None:
        sc, rng = self.sc, self.rng
        self._seq += 1
        line = self._seq
        ring = rng.uniform(*sc.ring_s)
        p = sc.p_live
        if sc.p_live_change is not None and self.now >= sc.p_live_change[0]:
            p = sc.p_live_change[1]
        if rng.random() < p:
            outcome, after = "live", ring
        else:
            u = rng.random()
            if u < sc.no_answer[0]:
                outcome, after = "no_answer", sc.no_answer[1]
            elif u < sc.no_answer[0] + sc.busy[0]:
                outcome, after = "busy", sc.busy[1]
            else:
                outcome, after = "machine", ring + sc.machine_amd_s
        self._lines[line] = (self.now, outcome, after)
        self._in_flight[line] = self.now
        self._push(self.now + after, _RESOLVE, line)
        if self.now >= sc.warmup_s:
            self._dials += 1

    # -- results ----------------------------------------------------------------------------------

    def _result(self) -> CampaignResult:
        sc = self.sc
        measured = sc.duration_s - sc.warmup_s
        after = [abandoned for t, abandoned in self._answers if t >= sc.warmup_s]
        return CampaignResult(
            occupancy=self._busy_area / (sc.agents * measured),
            live_answers=len(after),
            abandoned=sum(after),
            dials=self._dials,
            dials_per_hour=self._dials / (measured / 3600.0),
            max_window_abandon=max_window_rate(self._answers, sc.window_s, sc.duration_s),
            pacer_calls=self._pacer_calls,
        )


def max_window_rate(answers: list[tuple[float, bool]], window_s: float, end_s: float) -> float:
    """The highest abandon rate over the rolling windows of ``window_s`` inside [0, end_s].

    ``answers`` are (time, abandoned) in time order. A run shorter than the window is one window;
    otherwise every window (t − window_s, t] for t from window_s to end_s is considered, evaluated at
    the instants its content changes (an answer enters or one leaves).
    """
    if not answers:
        return 0.0
    if end_s <= window_s:
        return sum(a for _, a in answers) / len(answers)
    worst = 0.0
    lo = 0
    abandoned = 0
    times = [t for t, _ in answers]
    ends = sorted(
        {t for t in times if t >= window_s}
        | {t + window_s for t in times if t + window_s <= end_s}
        | {window_s, end_s}
    )
    hi = 0
    for t in ends:
        while hi < len(answers) and answers[hi][0] <= t:
            abandoned += answers[hi][1]
            hi += 1
        while lo < hi and answers[lo][0] <= t - window_s:
            abandoned -= answers[lo][1]
            lo += 1
        if hi > lo:
            worst = max(worst, abandoned / (hi - lo))
    return worst
