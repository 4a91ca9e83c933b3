"""Pacing: how many new lines a campaign dials now, from recent history and the floor right now.

`lines_to_dial` is pure and `PacingHistory` only counts what it is told; neither reads a clock:
every time is a float of seconds on the caller's monotonic clock. The runtime and the simulator
(`ccapp.sim.campaign`) call the same code, about once a second and on every event.

Progressive
    One line per free agent: ``max(0, ready + reserved − lines in flight − live parties waiting)``.
    After dialling, lines in flight + answered parties waiting ≤ free agents, so every live answer
    finds an agent (no one else takes them) and progressive never abandons.

Predictive: the physics
    A line dialled now, if a person answers, answers τ seconds from now (τ drawn from the observed
    live ring times) and needs an agent free by τ + g (g = the 2 s grace before the recorded
    message). It is abandoned when the live answers before it (``L(τ)``) have used every agent
    free by then (``A(τ + g)``). Both sides are sums of independent Bernoulli variables:

    * ``A(t) = ready + reserved + #{wrap-ups ending by t} + Σ_i P(H ≤ a_i + t | H > a_i)`` over the
      agents on a call, a_i the time already talked and H the handle-time distribution (a log-normal
      fitted to recent handle times): the *residual life* of each call — each agent counts with its
      own conditional chance to be done by then, not with the mean handle time;
    * ``L(τ) = live parties waiting + Σ_j P(live answer in (e_j, e_j + τ] | unresolved at e_j)`` over
      the lines in flight (e_j their age), from the answer probability p and the observed ring-time
      distributions of live and of non-live outcomes; plus ``n · p · G(τ)`` for the other new lines;
      plus ``rate · p · ∫_0^τ G`` for the lines the pacer will dial in the next seconds at today's
      pace (rate = lines in flight / mean line life), which answer before a late answer of this one.

    With a normal approximation of ``L − A`` (means and variances add; half-unit continuity
    correction) the marginal risk of the n-th new line is its abandon probability averaged over
    ``STEPS`` quantiles of its answer time τ. The pacer dials the largest n whose marginal risk is at
    most θ: every line dialled earns its place, so the floor is read again on the next call.

Predictive: the budget
    θ is the marginal risk the campaign can afford, ``θ = θ0 · target · exp(κ · (x0 − x))`` clipped, where
    ``x = (abandoned + prior) / (target · (live answers + prior))`` is the abandon-budget use of the
    campaign's rolling window (30 days or 24 h) so far and ``x0`` the set point below 1. When the
    window runs hot θ shrinks, when it runs cold θ grows: the window's *own* rate is held under
    target, not an average over windows. The model's bias only moves the point where x settles, by
    ``ln(bias) / κ``. Above the set point θ also shrinks by ``((1 − x) / (1 − x0)) ** barrier``, so
    the pacer backs off before the budget is spent: when it is (abandoned ≥ target · live
    answers) only progressive-safe lines are dialled until enough answers restore it, which costs
    minutes of occupancy on a small floor.

Warm-up
    `Prior` supplies pseudo-observations (answer probability, ring and non-live times, handle time)
    with a small weight, so the pacer starts cautiously and the data take over after a few dozen
    dials; the history then forgets with an exponential decay of time constant ``window_s``.

Cost: O(agents + lines in flight) · STEPS float operations and a few table look-ups, well under a
millisecond for 100 agents (`benchmarks/dialer_pacing.py` measures it). docs/pacing.md has more.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

OUTCOMES = frozenset({"live", "machine", "busy", "no_answer", "failed"})
MAX_S = 120  # outcome times are kept per second up to this; later ones count in the last bin
STEPS = 8  # answer-time quantiles the marginal risk is averaged over
_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True, slots=True)
class Prior:
    """What the pacer assumes before it has seen enough: worth ``weight`` dials (``handle_weight``
    handled calls). A high ``p_live`` is the cautious side (fewer lines per agent)."""

    p_live: float = 0.4
    live_ring_s: tuple[float, float] = (3.0, 25.0)  # uniform
    nonlive_s: tuple[float, float] = (3.0, 30.0)  # uniform
    handle_mean_s: float = 180.0
    handle_cv: float = 1.0
    weight: float = 30.0
    handle_weight: float = 10.0


@dataclass(frozen=True, slots=True)
class PacingStats:
    """A snapshot of the history: what `lines_to_dial` needs, precomputed once per refresh."""

    p_live: float
    live_cdf: tuple[float, ...]  # P(live answer by k s | live), k = 0 … MAX_S
    nonlive_cdf: tuple[float, ...]  # P(resolved by k s | not a live answer)
    line_survival: tuple[float, ...]  # P(line still unresolved at k s)
    answer_quantiles: tuple[float, ...]  # STEPS quantiles of the live answer time
    answered_area: tuple[float, ...]  # ∫_0^τ G(u) du at each quantile τ (lines dialled later)
    line_life_s: float  # mean time from dial to resolution
    handle_mu: float  # log-normal fit of the handle time (talk + wrap-up)
    handle_sigma: float
    handle_survival: tuple[float, ...]  # P(H > k s), k = 0 … len − 1
    dials: float  # decayed sample counts (without the prior)
    handled: float

    @property
    def handle_mean_s(self) -> float:
        return math.exp(self.handle_mu + self.handle_sigma**2 / 2.0)

    @property
    def handle_cv(self) -> float:
        return math.sqrt(math.expm1(self.handle_sigma**2))

    def handle_sf(self, t: float) -> float:
        """P(H > t)."""
        i = int(t)
        table = self.handle_survival
        if i + 1 < len(table):
            lo = table[i]
            return lo + (table[i + 1] - lo) * (t - i)
        return _lognormal_sf(t, self.handle_mu, self.handle_sigma)


@dataclass(frozen=True, slots=True)
class Floor:
    """Agents and lines right now."""

    ready: int  # agents ready and not reserved
    wrapping_left_s: tuple[float, ...] = ()  # per agent in wrap-up: seconds of wrap-up left
    on_call_s: tuple[float, ...] = ()  # per agent on a call: seconds already talked
    in_flight_s: tuple[float, ...] = ()  # per line dialled, not yet resolved: seconds since dialled
    live_waiting: int = 0  # answered live parties not yet given an agent
    reserved: int = 0  # agents held for this campaign's lines (progressive reservation)

    @property
    def logged_in(self) -> int:
        return self.ready + self.reserved + len(self.wrapping_left_s) + len(self.on_call_s)


@dataclass(frozen=True, slots=True)
class AbandonBudget:
    """The campaign's abandon target and its rolling window's counts so far."""

    target: float  # e.g. 0.03 of live answers
    live_answers: int
    abandoned: int
    grace_s: float = 2.0  # a live answer without an agent this long is abandoned
    set_point: float = 0.9  # x0: the share of the budget the pacer aims to use
    theta0: float = 1.5  # θ0 as a multiple of target: the marginal risk at the set point
    gain: float = 4.0  # κ
    prior_answers: float = 200.0  # pseudo live answers at the set point (a young window)
    barrier: float = 2.0  # θ also shrinks by ((1 − x) / (1 − x0)) ** barrier above the set point
    future: float = 1.0  # weight of the lines dialled after this one that answer before it

    @property
    def exhausted(self) -> bool:
        """No abandon may be risked now: the window's allowance is used up (or the target is 0)."""
        if self.target <= 0:
            return True
        return self.abandoned > 0 and self.abandoned >= self.target * self.live_answers

    def use(self) -> float:
        """x: the share of the window's abandon allowance used so far (prior-weighted)."""
        prior = self.prior_answers
        spent = self.abandoned + self.set_point * self.target * prior
        return spent / (self.target * (self.live_answers + prior))

    def theta(self) -> float:
        """The marginal abandon risk a new line may carry now."""
        x = self.use()
        theta = self.theta0 * self.target * math.exp(self.gain * (self.set_point - x))
        if x > self.set_point:  # closing in on the limit: back off before the budget is spent
            theta *= max(0.0, (1.0 - x) / (1.0 - self.set_point)) ** self.barrier
        return min(0.5, max(self.target * 0.05, theta))


def lines_to_dial(mode: str, stats: PacingStats, floor: Floor, budget: AbandonBudget) -> int:
    """How many new lines to dial now (≥ 0) in ``mode`` "progressive" or "predictive"."""
    free = floor.ready + floor.reserved
    safe = max(0, free - len(floor.in_flight_s) - floor.live_waiting)
    if mode == "progressive":
        return safe
    if mode != "predictive":
        raise ValueError(f"unknown pacing mode {mode!r}")
    if floor.logged_in == 0 or budget.exhausted:
        return safe
    theta = budget.theta()
    p = stats.p_live
    grace = budget.grace_s
    taus = stats.answer_quantiles
    live_cdf = stats.live_cdf
    survival = stats.line_survival
    sf = stats.handle_sf
    mu_a = [float(free)] * STEPS
    var = [0.0] * STEPS
    horizons = [tau + grace for tau in taus]
    for left in floor.wrapping_left_s:
        for k, h in enumerate(horizons):
            if left <= h:
                mu_a[k] += 1.0
    for talked in floor.on_call_s:
        s0 = sf(talked)
        if s0 <= 1e-12:
            for k in range(STEPS):
                mu_a[k] += 1.0
            continue
        for k, h in enumerate(horizons):
            q = 1.0 - sf(talked + h) / s0
            mu_a[k] += q
            var[k] += q * (1.0 - q)
    mu_l = [float(floor.live_waiting)] * STEPS
    for age in floor.in_flight_s:
        alive = _at(survival, age)
        if alive <= 1e-9:
            continue
        base = _at(live_cdf, age)
        scale = p / alive
        for k, tau in enumerate(taus):
            pi = min(1.0, (_at(live_cdf, age + tau) - base) * scale)
            mu_l[k] += pi
            var[k] += pi * (1.0 - pi)
    # lines the pacer will dial in the next seconds at today's pace answer before a late answer
    rate = len(floor.in_flight_s) / stats.line_life_s * p
    for k, area in enumerate(stats.answered_area):
        mu_l[k] += rate * area * budget.future
        var[k] += rate * area * budget.future
    new = [p * _at(live_cdf, tau) for tau in taus]
    gap = [mu_l[k] - mu_a[k] + 0.5 for k in range(STEPS)]

    def risk(n: int) -> float:
        """Abandon probability of the (n + 1)-th new line if a person answers it."""
        total = 0.0
        for k in range(STEPS):
            w = new[k]
            sd = math.sqrt(var[k] + n * w * (1.0 - w) + 0.02)
            total += 0.5 * math.erfc(-(gap[k] + n * w) / (sd * _SQRT2))
        return total / STEPS

    # risk grows with n: gallop to a bracket, then bisect for the largest n with risk(n - 1) ≤ θ
    cap = 4 * floor.logged_in + 4
    if risk(0) > theta:
        return safe
    lo, hi = 1, 2  # risk(lo - 1) ≤ θ holds
    while hi <= cap and risk(hi - 1) <= theta:
        lo, hi = hi, hi * 2
    hi = min(hi, cap + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if risk(mid - 1) <= theta:
            lo = mid
        else:
            hi = mid
    n = lo
    return max(n, safe)


def _at(table: tuple[float, ...], t: float) -> float:
    """Linear interpolation in a per-second table; the last value beyond its end."""
    i = int(t)
    if i + 1 >= len(table):
        return table[-1]
    lo = table[i]
    return lo + (table[i + 1] - lo) * (t - i)


def _lognormal_sf(t: float, mu: float, sigma: float) -> float:
    if t <= 0:
        return 1.0
    return 0.5 * math.erfc((math.log(t) - mu) / (sigma * _SQRT2))


def _uniform_bins(lo: float, hi: float, weight: float) -> list[float]:
    """``weight`` spread uniformly over [lo, hi] into the per-second bins."""
    bins = [0.0] * (MAX_S + 1)
    lo, hi = max(0.0, lo), min(float(MAX_S), max(hi, lo + 1e-6))
    for k in range(int(lo), min(MAX_S, math.ceil(hi)) + 1):
        overlap = min(hi, k + 1.0) - max(lo, float(k))
        if overlap > 0:
            bins[k] += weight * overlap / (hi - lo)
    return bins


@dataclass(slots=True)
class _Decayed:
    """Exponentially decayed counts kept in growing units: adding is O(1), reading scales once."""

    window_s: float
    anchor: float | None = None
    live: list[float] = field(default_factory=lambda: [0.0] * (MAX_S + 1))
    nonlive: list[float] = field(default_factory=lambda: [0.0] * (MAX_S + 1))
    handle: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # Σw, Σw·ln h, Σw·ln²h

    def weight(self, now: float) -> float:
        if self.anchor is None:
            self.anchor = now
        exponent = (now - self.anchor) / self.window_s
        if exponent > 30.0:  # rebase before the weights overflow
            shrink = math.exp(-exponent)
            for values in (self.live, self.nonlive, self.handle):
                values[:] = [v * shrink for v in values]
            self.anchor = now
            exponent = 0.0
        return math.exp(exponent)

    def scale(self, now: float) -> float:
        """The factor that turns stored counts into counts worth 1 at ``now``."""
        if self.anchor is None:
            return 1.0
        return math.exp(-(now - self.anchor) / self.window_s)


class PacingHistory:
    """Recent dial outcomes and handle times, forgotten with time constant ``window_s``.

    Memory is bounded: per-second histograms of outcome times and three sums for the handle time.
    `stats` recomputes its snapshot at most every ``refresh_s`` seconds (and at once when new data
    arrived after a long quiet spell), so calling it every second costs nothing most of the time.
    """

    def __init__(
        self, *, window_s: float = 3600.0, prior: Prior | None = None, refresh_s: float = 5.0
    ) -> None:
        if not window_s > 0:
            raise ValueError("window_s must be > 0")
        self.prior = prior or Prior()
        self.refresh_s = refresh_s
        self._counts = _Decayed(window_s)
        self._snapshot: PacingStats | None = None
        self._snapshot_at = -math.inf
        self._dirty = True
        self._table_key: tuple[float, float] | None = None
        self._table: tuple[float, ...] = ()
        prior_ = self.prior
        self._prior_live = _uniform_bins(*prior_.live_ring_s, prior_.weight * prior_.p_live)
        self._prior_nonlive = _uniform_bins(*prior_.nonlive_s, prior_.weight * (1.0 - prior_.p_live))

    def dial_ended(self, now: float, *, outcome: str, after_s: float) -> None:
        """A line resolved ``after_s`` after it was dialled: the answer for a live party, the AMD
        verdict for a machine (the moment it stopped being a possible person), the release for
        busy, no answer and failed."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown dial outcome {outcome!r}")
        w = self._counts.weight(now)
        bins = self._counts.live if outcome == "live" else self._counts.nonlive
        bins[min(MAX_S, max(0, int(after_s)))] += w
        self._dirty = True

    def handled(self, now: float, handle_s: float) -> None:
        """An agent finished a call that took ``handle_s`` (talk + wrap-up)."""
        w = self._counts.weight(now)
        log_h = math.log(max(handle_s, 0.5))
        sums = self._counts.handle
        sums[0] += w
        sums[1] += w * log_h
        sums[2] += w * log_h * log_h
        self._dirty = True

    def stats(self, now: float) -> PacingStats:
        """The snapshot for ``now`` (cached for ``refresh_s``)."""
        snapshot = self._snapshot
        if snapshot is not None and now - self._snapshot_at < self.refresh_s:
            return snapshot
        if snapshot is not None and not self._dirty and now - self._snapshot_at < 60.0:
            return snapshot
        snapshot = self._compute(now)
        self._snapshot, self._snapshot_at, self._dirty = snapshot, now, False
        return snapshot

    def _compute(self, now: float) -> PacingStats:
        scale = self._counts.scale(now)
        live = [c * scale + q for c, q in zip(self._counts.live, self._prior_live, strict=True)]
        nonlive = [c * scale + q for c, q in zip(self._counts.nonlive, self._prior_nonlive, strict=True)]
        n_live, n_non = sum(live), sum(nonlive)
        total = n_live + n_non
        p = n_live / total
        live_cdf, non_cdf = _cdf(live), _cdf(nonlive)
        # an outcome binned at k s happened within [k, k + 1): the cdf at k + 1 includes it
        live_cdf = [0.0, *live_cdf[:-1]]
        non_cdf = [0.0, *non_cdf[:-1]]
        survival = tuple(
            max(0.0, 1.0 - p * a - (1.0 - p) * b) for a, b in zip(live_cdf, non_cdf, strict=True)
        )
        quantiles = tuple(_quantile(live_cdf, (k + 0.5) / STEPS) for k in range(STEPS))
        area = tuple(_area(live_cdf, tau) for tau in quantiles)
        life = sum((a + b) / 2.0 for a, b in itertools.pairwise(survival))
        mu, sigma, handled = self._handle_fit(scale)
        return PacingStats(
            p_live=p,
            live_cdf=tuple(live_cdf),
            nonlive_cdf=tuple(non_cdf),
            line_survival=survival,
            answer_quantiles=quantiles,
            answered_area=area,
            line_life_s=max(life, 1.0),
            handle_mu=mu,
            handle_sigma=sigma,
            handle_survival=self._handle_table(mu, sigma),
            dials=(sum(self._counts.live) + sum(self._counts.nonlive)) * scale,
            handled=handled,
        )

    def _handle_fit(self, scale: float) -> tuple[float, float, float]:
        prior = self.prior
        s2 = math.log1p(prior.handle_cv**2)
        w0 = prior.handle_weight
        m0 = math.log(prior.handle_mean_s) - s2 / 2.0
        sw, s1, sq = (v * scale for v in self._counts.handle)
        weight = sw + w0
        mu = (s1 + w0 * m0) / weight
        second = (sq + w0 * (s2 + m0 * m0)) / weight
        sigma = math.sqrt(max(second - mu * mu, 1e-4))
        return mu, sigma, sw

    def _handle_table(self, mu: float, sigma: float) -> tuple[float, ...]:
        key = (round(mu, 3), round(sigma, 3))
        if key != self._table_key:
            size = int(min(4 * 3600.0, math.exp(mu + 4.5 * sigma))) + 2
            self._table = tuple(_lognormal_sf(float(t), mu, sigma) for t in range(size))
            self._table_key = key
        return self._table


def _cdf(bins: list[float]) -> list[float]:
    total = sum(bins) or 1.0
    out, acc = [], 0.0
    for b in bins:
        acc += b
        out.append(min(1.0, acc / total))
    return out


def _area(cdf: list[float], t: float) -> float:
    """∫_0^t cdf(u) du for a per-second cdf, linear between seconds."""
    whole = min(int(t), len(cdf) - 1)
    total = sum((cdf[k] + cdf[k + 1]) / 2.0 for k in range(whole) if k + 1 < len(cdf))
    return total + _at(tuple(cdf), t) * (t - whole)


def _quantile(cdf: list[float], q: float) -> float:
    """The time at which a per-second cdf (linear between seconds) reaches ``q``."""
    for k in range(1, len(cdf)):
        if cdf[k] >= q:
            lo = cdf[k - 1]
            step = cdf[k] - lo
            return (k - 1) + ((q - lo) / step if step > 0 else 0.0)
    return float(len(cdf) - 1)
