"""Expected wait for a caller at a given position in a queue. Pure: no I/O, time passed in.

Method (position-based, "k-th release"): a caller at position ``k`` (1 = next) is answered when
``k`` agents have become free for the queue. ``ready`` agents are free now and take positions
1…ready at once (wait 0). Beyond them the caller waits for ``k - ready`` releases among the ``busy``
agents. With ``busy`` agents each releasing on average once per mean handle time ``h``, releases
come at a rate ``busy / h``, so::

    expected_wait(k) = max(0, k - ready) × h / busy

For exponential handle times this is the exact conditional mean of the wait given the queue state
(the wait is then the sum of ``k - ready`` exponential gaps of mean ``h / busy``: an M/M/c queue);
for other distributions with a coefficient of variation near 1 (log-normal, as measured in call
centers) the mean residual handle time of a busy agent is also close to ``h`` and the formula stays
nearly unbiased. ``benchmarks/expected_wait.py`` replays queues with log-normal handle times and
compares it with the naive ``k × h`` (wrong by a factor of the agent count) and with the average of
the last waits (app_queue's "holdtime": blind to position), and with the Erlang C mean.

Why not Erlang C: its mean wait is an average over every state of the queue; the caller's position
and the agents working now say much more about *this* caller's wait, and both are known exactly.
In the replay (ρ 0.7-0.95, 5-50 agents) the mean absolute error is 27 % of the mean wait, against
26 % for the same formula fed the true AHT (what is left is the wait's own randomness: the sum of
``j`` release gaps has a spread of about ``1/√j`` of its mean), 49 % for the last 20 waits, 73 %
for the Erlang C mean even with the true arrival rate, and 25 times the wait for ``k × h``.

``h`` is a *recent* mean: handle times decay with a half-life in seconds (default one hour), so
"recent" means the last hour or two whatever the call volume, and a shift's drift in handle time is
followed. Shorter half-lives follow faster but are noisier: at 5 agents (~90 calls an hour) a
20-minute half-life added 15 % to the error of the true-AHT oracle in the replay, one hour 8 %,
while a 1.5× step in AHT was still followed (benchmark ``--half-life``, ``--aht-change``). A prior
(the configured default handle time, worth a few calls) fills in before any history and takes over
again after a long quiet spell (overnight). Handle time here is the agent's busy span for a call,
reserved → ready again (ring + talk + hold + wrap-up), since that is how long the agent is unavailable.

Staffing is per queue as the ACD service counts it: ``ready`` = ready agents able to take the queue's
calls, ``busy`` = agents of the queue reserved, ringing, on a call or in wrap-up. Not-ready agents
count as neither: they release no capacity. An agent in several queues counts in each, so a queue
that shares agents gets an optimistic estimate, as does a caller later passed by higher-priority calls
(the position is the place in line now; re-announcements pick the change up).

Every update and every estimate is O(1).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from ccapp.acd.errors import AcdError, InvalidAcdConfig

DEFAULT_HANDLE_S = 180.0
DEFAULT_HALF_LIFE_S = 3600.0
DEFAULT_PRIOR_CALLS = 3.0
DEFAULT_RECENT_WAITS = 20


@dataclass(slots=True)
class _QueueStats:
    ready: int = 0
    busy: int = 0
    # time-decayed sums of handle times and of their weights, both as of ``at``
    weighted_sum: float = 0.0
    weight: float = 0.0
    at: float = 0.0
    # last waits of answered calls, for the app_queue-like baseline
    waits: deque[float] = field(default_factory=deque)
    waits_sum: float = 0.0


class WaitEstimator:
    """Per-queue recent handle times and staffing; answers the expected wait at a position.

    The owner feeds it: `record_handle` when an agent finishes a call (its busy span),
    `set_staffing` whenever a queue's ready or busy count changes, and `record_wait` when a call is
    answered (only the `recent_waits` baseline reads it). Times (``now``) are seconds on a
    monotonic scale (`ccapp.clock.Clock.monotonic`).
    """

    def __init__(
        self,
        *,
        default_handle_s: float = DEFAULT_HANDLE_S,
        half_life_s: float = DEFAULT_HALF_LIFE_S,
        prior_calls: float = DEFAULT_PRIOR_CALLS,
        recent_waits: int = DEFAULT_RECENT_WAITS,
    ) -> None:
        if default_handle_s <= 0:
            raise InvalidAcdConfig(f"default_handle_s must be > 0, not {default_handle_s}")
        if half_life_s <= 0:
            raise InvalidAcdConfig(f"half_life_s must be > 0, not {half_life_s}")
        if prior_calls <= 0:
            raise InvalidAcdConfig(f"prior_calls must be > 0, not {prior_calls}")
        if recent_waits < 1:
            raise InvalidAcdConfig(f"recent_waits must be >= 1, not {recent_waits}")
        self._default_handle = default_handle_s
        self._decay_per_s = math.log(2) / half_life_s
        self._prior = prior_calls
        self._recent_waits = recent_waits
        self._queues: dict[str, _QueueStats] = {}

    def _stats(self, queue: str) -> _QueueStats:
        stats = self._queues.get(queue)
        if stats is None:
            stats = self._queues[queue] = _QueueStats()
        return stats

    def _decay(self, stats: _QueueStats, now: float) -> float:
        """How much of the weight as of ``stats.at`` is left at ``now`` (1 if time went back)."""
        return math.exp(-self._decay_per_s * max(0.0, now - stats.at))

    # -- feeds --------------------------------------------------------------------------------

    def record_handle(self, queue: str, handle_s: float, now: float) -> None:
        """An agent of ``queue`` finished a call at ``now`` after ``handle_s`` seconds of busy time."""
        if handle_s < 0:
            raise AcdError(f"handle time must be >= 0, not {handle_s}")
        stats = self._stats(queue)
        if now > stats.at:
            kept = self._decay(stats, now)
            stats.weighted_sum *= kept
            stats.weight *= kept
            stats.at = now
        # a sample stamped before ``at`` (out of order) counts as if it came at ``at``
        stats.weighted_sum += handle_s
        stats.weight += 1.0

    def set_staffing(self, queue: str, *, ready: int, busy: int) -> None:
        """``ready`` agents can take ``queue``'s next calls now; ``busy`` are working a call."""
        if ready < 0 or busy < 0:
            raise AcdError(f"staffing counts must be >= 0, not ready={ready} busy={busy}")
        stats = self._stats(queue)
        stats.ready = ready
        stats.busy = busy

    def record_wait(self, queue: str, waited_s: float) -> None:
        """A call of ``queue`` was answered after waiting ``waited_s`` seconds (0 if answered at once)."""
        stats = self._stats(queue)
        stats.waits.append(waited_s)
        stats.waits_sum += waited_s
        if len(stats.waits) > self._recent_waits:
            stats.waits_sum -= stats.waits.popleft()

    def forget(self, queue: str) -> None:
        """Drop everything known about ``queue`` (it was removed from the configuration)."""
        self._queues.pop(queue, None)

    # -- estimates ----------------------------------------------------------------------------

    def mean_handle(self, queue: str, now: float) -> float:
        """Recent mean handle time of ``queue``: decayed history blended with the default."""
        stats = self._queues.get(queue)
        if stats is None:
            return self._default_handle
        kept = self._decay(stats, now)
        prior = self._prior
        return (stats.weighted_sum * kept + prior * self._default_handle) / (stats.weight * kept + prior)

    def expected_wait(self, queue: str, position: int, now: float) -> float | None:
        """Expected seconds until the caller at ``position`` (1 = next) is answered.

        0 when a ready agent is there for that position; None when no agent of the queue is busy
        or ready for it, so no release is in sight (announce the position only).
        """
        if position < 1:
            raise AcdError(f"position must be >= 1, not {position}")
        stats = self._queues.get(queue)
        ready, busy = (stats.ready, stats.busy) if stats is not None else (0, 0)
        releases = position - ready
        if releases <= 0:
            return 0.0
        if busy == 0:
            return None
        return releases * self.mean_handle(queue, now) / busy

    def naive_wait(self, queue: str, position: int, now: float) -> float:
        """Baseline: position × mean handle time, as if one agent served the whole line."""
        if position < 1:
            raise AcdError(f"position must be >= 1, not {position}")
        return position * self.mean_handle(queue, now)

    def recent_wait(self, queue: str) -> float | None:
        """Baseline: the mean wait of the last answered calls, the same for every position.

        None before any call was answered.
        """
        stats = self._queues.get(queue)
        if stats is None or not stats.waits:
            return None
        return max(0.0, stats.waits_sum / len(stats.waits))


def announced_wait(seconds: float | None, *, cap_s: float = 3600.0) -> int | None:
    """Round an expected wait for a prompt, in seconds; None = say the position only.

    An estimate is only worth its precision (see the benchmark: errors of a minute or more at low
    agent counts), so: under 15 s → 0 ("you are next" / "shortly"); under 2 minutes → the nearest
    30 s, at least 30; under 10 minutes → the nearest minute; then the nearest 5 minutes. Unknown,
    or past ``cap_s`` (an hour), → None: a number that large would not be honest.
    """
    if seconds is None or math.isnan(seconds) or seconds > cap_s:
        return None
    if seconds < 15:
        return 0
    if seconds < 120:
        return max(30, _nearest(seconds, 30))
    if seconds < 600:
        return _nearest(seconds, 60)
    return _nearest(seconds, 300)


def _nearest(seconds: float, step: int) -> int:
    """``seconds`` to the nearest multiple of ``step``, halves up (no banker's rounding)."""
    return math.floor(seconds / step + 0.5) * step
