"""Erlang B, C and A: queueing formulas for staffing a contact center.

Pure functions of numbers. Notation: ``n`` agents on the phones, ``A`` offered traffic in erlangs
(calls per second × mean handle time), ``aht`` the mean handle time and ``t`` the service-level
threshold, both in seconds.

Erlang C is the M/M/n queue (callers never hang up); it needs ``n > A``, otherwise the queue grows
without bound: then P(wait) = 1, SL = 0 and ASA = ∞. Erlang A is M/M/n+M (callers abandon after an
exponential patience of mean θ); it is stable for every ``n ≥ 1``.

Nothing here uses factorials or powers of ``A``: Erlang B comes from its recursion and Erlang A's
stationary distribution is summed in log space, so thousands of agents are fine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ErlangA",
    "QueueTooLongError",
    "agents_for",
    "agents_for_erlang_a",
    "asa",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "service_level",
    "traffic",
]

# Erlang A's queue is cut where the remaining stationary probability is below 1e-12 (e^-28 ≈ 7e-13).
_LOG_TAIL = -28.0
# Guard against a patience so long that, with n ≤ A, the queue would need millions of states.
_MAX_QUEUE_STATES = 2_000_000


def traffic(calls: float, period_s: float, aht_s: float) -> float:
    """Offered traffic in erlangs: ``A = calls / period × aht``."""
    if calls < 0 or period_s <= 0 or aht_s <= 0:
        raise ValueError("calls must be ≥ 0, period and aht > 0")
    return calls / period_s * aht_s


def _check(servers: int, load: float) -> None:
    if servers < 0:
        raise ValueError(f"servers must be ≥ 0, got {servers}")
    if load < 0 or not math.isfinite(load):
        raise ValueError(f"traffic must be a finite number ≥ 0, got {load}")


def erlang_b(servers: int, traffic: float) -> float:
    """Blocking probability of M/M/n/n (Erlang B).

    By the stable recursion ``B(0) = 1``, ``B(k) = A·B(k−1) / (k + A·B(k−1))``: every step stays
    in [0, 1], so it works for any number of servers.
    """
    _check(servers, traffic)
    b = 1.0
    for k in range(1, servers + 1):
        b = traffic * b / (k + traffic * b)
    return b


def erlang_c(servers: int, traffic: float) -> float:
    """Probability that a caller waits in M/M/n (Erlang C), from Erlang B.

    ``C = n·B / (n − A·(1 − B))`` for ``n > A``; 1 when ``n ≤ A`` (the queue never empties).
    """
    _check(servers, traffic)
    if servers <= traffic:
        return 1.0
    b = erlang_b(servers, traffic)
    return servers * b / (servers - traffic * (1.0 - b))


def service_level(servers: int, traffic: float, aht_s: float, target_s: float) -> float:
    """Erlang C share of calls answered within ``target_s``: ``1 − C·e^{−(n−A)·t/aht}``."""
    if aht_s <= 0 or target_s < 0:
        raise ValueError("aht must be > 0 and the target time ≥ 0")
    if servers <= traffic:
        return 0.0
    c = erlang_c(servers, traffic)
    return 1.0 - c * math.exp(-(servers - traffic) * target_s / aht_s)


def asa(servers: int, traffic: float, aht_s: float) -> float:
    """Erlang C average speed of answer (mean wait of all calls): ``C·aht / (n − A)``; ∞ if n ≤ A."""
    if aht_s <= 0:
        raise ValueError("aht must be > 0")
    if servers <= traffic:
        return math.inf
    return erlang_c(servers, traffic) * aht_s / (servers - traffic)


def agents_for(calls: float, period_s: float, aht_s: float, target_sl: float, target_s: float) -> int:
    """Smallest ``n > A`` whose Erlang C service level reaches ``target_sl`` (a fraction < 1)."""
    if not 0 <= target_sl < 1:
        raise ValueError("the target service level must be a fraction in [0, 1)")
    load = traffic(calls, period_s, aht_s)
    n = max(1, math.floor(load) + 1)
    while service_level(n, load, aht_s, target_s) < target_sl:
        n += 1
    return n


class QueueTooLongError(ValueError):
    """Erlang A with n well below A and a very long patience: the queue needs millions of states."""


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Erlang A (M/M/n+M) figures for one number of agents; probabilities are over all arrivals."""

    servers: int
    p_wait: float
    p_abandon: float
    service_level: float  # answered within the target time / all arrivals (abandons count as misses)
    asa_s: float  # mean wait of the answered calls
    mean_wait_s: float  # mean time in queue of all calls, answered or abandoned


def erlang_a(servers: int, traffic: float, aht_s: float, patience_s: float, target_s: float) -> ErlangA:
    """Erlang A figures for ``n`` agents, traffic ``A``, mean patience θ = ``patience_s``.

    Birth-death chain with states k = callers in the system: births at λ, deaths at
    ``min(k, n)·μ + max(k − n, 0)·γ`` (μ = 1/aht, γ = 1/θ). Stationary weights, in log space:
    ``π_k ∝ A^k / k!`` for k ≤ n and ``π_{n+j} = π_n · Π_{i=1..j} A / (n + i·r)`` with r = aht/θ,
    cut where the tail is below 1e-12. By PASTA an arrival finds state k with probability π_k.

    An arrival finding j ≥ 0 callers queued moves up at rate ``nμ + iγ`` while i are ahead of it,
    so its time to reach an agent is ``T = Σ_{i=0..j} Exp(γ(c + i))`` with ``c = nμ/γ`` and
    ``U = e^{−γT} ~ Beta(c, j + 1)`` (a product of Beta(c + i, 1)). It is answered if its own
    patience outlasts T, which has probability ``E[U] = c / (c + j + 1)``, and:

    - P(answered within t) = ``c/(c+j+1) · (1 − I_x(c + 1, j + 1))`` with ``x = e^{−γt}``;
    - E[wait; answered] = ``(1/γ) · c/(c+j+1) · Σ_{i=0..j} 1/(c + 1 + i)``;
    - E[wait] = (1/γ) · P(abandon | j) (Little's law on the abandoning callers: γ·E[queue] = λ·P(ab)).

    ``I_x`` is the regularised incomplete beta; with an integer second argument it is the finite
    negative-binomial sum ``I_x(a, m) = Σ_{k<m} Γ(a+k)/(Γ(a)·k!) · x^a (1−x)^k`` of positive terms.
    They are exact, equal to the incomplete-gamma forms of Garnett, Mandelbaum & Reiman (2002),
    but need no special functions.
    """
    _check(servers, traffic)
    if servers < 1:
        raise ValueError("Erlang A needs at least one agent")
    if aht_s <= 0 or patience_s <= 0 or target_s < 0:
        raise ValueError("aht and patience must be > 0 and the target time ≥ 0")
    if traffic == 0:
        return ErlangA(servers, 0.0, 0.0, 1.0, 0.0, 0.0)
    n, load = servers, traffic
    ratio = aht_s / patience_s  # r = γ/μ
    log_load = math.log(load)
    # log π_k for k = 0..n (unnormalised), then the queue states n+1, n+2, …
    below = [k * log_load - math.lgamma(k + 1) for k in range(n + 1)]
    queue = [below[n]]  # queue[j] = log π_{n+j}
    top = max(below)
    while True:
        step = log_load - math.log(n + len(queue) * ratio)
        queue.append(queue[-1] + step)
        top = max(top, queue[-1])
        # The steps only decrease, so once negative the rest of the tail is below a geometric series.
        if step < 0 and queue[-1] + step - math.log(-math.expm1(step)) < top + _LOG_TAIL:
            break
        if len(queue) > _MAX_QUEUE_STATES:
            raise QueueTooLongError("patience too long for so few agents: use Erlang C (no patience)")
    total = sum(math.exp(v - top) for v in below[:n]) + sum(math.exp(v - top) for v in queue)
    p_queue = [math.exp(v - top) / total for v in queue]  # P(arrival finds j queued), j = 0…
    c = n / ratio
    a = c + 1.0
    log_x = -target_s / patience_s  # x = e^{−γt}, kept in logs so a long patience loses nothing
    log_1mx = math.log(-math.expm1(log_x)) if target_s > 0 else -math.inf
    p_wait = sum(p_queue)
    p_abandon = answered_in_t = wait_answered = 0.0
    beta_cdf = harmonic = log_rising = log_fact = 0.0
    for j, p in enumerate(p_queue):
        # I_x(a, j+1) = I_x(a, j) + Γ(a+j)/(Γ(a)·j!) · x^a (1−x)^j
        if j:
            log_rising += math.log(a + j - 1)
            log_fact += math.log(j)
        log_term = a * log_x + (j * log_1mx if j else 0.0) + log_rising - log_fact
        if log_term > -745.0:  # below that exp() underflows to 0 anyway
            beta_cdf = min(1.0, beta_cdf + math.exp(log_term))
        served = c / (c + j + 1)
        harmonic += 1.0 / (c + 1 + j)
        p_abandon += p * (1.0 - served)
        answered_in_t += p * served * (1.0 - beta_cdf)
        wait_answered += p * served * harmonic * patience_s
    p_answered = 1.0 - p_abandon
    return ErlangA(
        servers=n,
        p_wait=p_wait,
        p_abandon=p_abandon,
        service_level=(1.0 - p_wait) + answered_in_t,
        asa_s=wait_answered / p_answered if p_answered > 0 else math.inf,
        mean_wait_s=p_abandon * patience_s,
    )


def agents_for_erlang_a(
    calls: float, period_s: float, aht_s: float, patience_s: float, target_sl: float, target_s: float
) -> int:
    """Smallest ``n ≥ 1`` whose Erlang A service level reaches ``target_sl`` (a fraction < 1).

    The service level grows with n, so the search doubles n from ``⌈A⌉`` until the target is met,
    then bisects below. A count so far under A that, with a very long patience, the queue would need
    millions of states answers essentially nobody in time: it counts as missing the target.
    """
    if not 0 <= target_sl < 1:
        raise ValueError("the target service level must be a fraction in [0, 1)")
    load = traffic(calls, period_s, aht_s)

    def meets(n: int) -> bool:
        try:
            return erlang_a(n, load, aht_s, patience_s, target_s).service_level >= target_sl
        except QueueTooLongError:
            return False

    low, high = 0, max(1, math.ceil(load))  # meets(0) is False: no agents answer nothing
    while not meets(high):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if meets(mid):
            high = mid
        else:
            low = mid
    return high
