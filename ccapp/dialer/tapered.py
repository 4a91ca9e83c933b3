"""A re-implementation of VICIdial's ADAPT_TAPERED adaptive dial level, as the benchmark's baseline.

Written from VICIdial's public description of its campaign settings, not from its code. Sources:
VICIdial's admin help text for the dial methods and adaptive fields (as recalled; the search
corpora held only third-party summaries, e.g. vicifast.com's glossary "ADAPT_TAPERED … eases the
calling pace down as a campaign runs" and "Maximum adapt dial level … default 3.0", and
vicistack.com's tuning guide). What that description says:

* the *dial level* (``auto_dial_level``) is the number of lines kept per agent; in the adaptive dial
  methods a periodic process (``AST_VDadapt``) raises or lowers it toward the *drop percentage
  limit* (``adaptive_dropped_percentage``, 3 % by default: drops / answered calls of the day);
* it never exceeds the *maximum adapt dial level* (``adaptive_maximum_level``, 3.0 by default);
* ADAPT_HARD_LIMIT stops raising once the drop limit is reached; ADAPT_AVERAGE keeps the average
  near it; ADAPT_TAPERED "allows running over the dropped percentage in the first half of the shift"
  and gets stricter as the shift goes on, the shift ending at the *latest server time*
  (``adaptive_latest_server_time``);
* an *intensity modifier* (``adaptive_intensity``, −40 … +40) makes the adjustments gentler or more
  aggressive, and a *dial level difference target* (``adaptive_dl_diff_target``) says how many agents
  waiting (negative) or calls waiting (positive) to aim for.

What is modelled here (`TaperedSettings` holds every parameter):

* lines counted VICIdial's way (``available_only_ratio_tally`` off): ring-or-talk lines wanted =
  ``level × (agents ready + agents on a call)``; new lines = that − lines in flight − agents on a
  call − answered parties waiting. Level 1 is therefore progressive dialling;
* every ``period_s`` (15 s) the level is adjusted from the day's drop rate (the budget's counts) and
  from how many agents waited during the period: allowed drop = ``target · (1 + overshoot · (1 − f))``
  for the elapsed share f of the shift (ending at ``shift_s``, the latest server time), i.e.
  ``1 + overshoot`` times the target at the start tapering linearly to the target at the end;
  over the allowed drop the level falls by ``down`` × how far over (at least 5 %); otherwise, when
  agents waited more than ``diff_target`` on average, it rises by ``up`` × the idle share of agents;
  when parties waited for agents it falls by ``up`` × that share. The steps scale by
  ``1 + intensity / 40``;
* the level stays within [``min_level``, ``max_level``].

It is the stateful part of the baseline (the level moves); `lines_to_dial` is its only entry point
and takes the clock's ``now`` like everything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ccapp.dialer.pacing import AbandonBudget, Floor


@dataclass(frozen=True, slots=True)
class TaperedSettings:
    """ADAPT_TAPERED's parameters (VICIdial's names in the module docstring)."""

    start_level: float = 1.0  # auto_dial_level at the start of the shift
    min_level: float = 1.0
    max_level: float = 3.0  # adaptive_maximum_level
    target: float | None = None  # adaptive_dropped_percentage as a share; None: the budget's target
    shift_s: float = 8 * 3600.0  # from the shift start to adaptive_latest_server_time
    overshoot: float = 1.0  # allowed drop at the shift start = target × (1 + overshoot)
    intensity: float = 0.0  # adaptive_intensity, −40 … +40
    diff_target: float = 0.0  # adaptive_dl_diff_target: agents waiting to aim for (as −n)
    period_s: float = 15.0
    up: float = 0.05  # our choice (VICIdial publishes no step size): gentle enough not to oscillate
    down: float = 0.2

    def __post_init__(self) -> None:
        if not 1.0 <= self.min_level <= self.start_level <= self.max_level:
            raise ValueError("tapered: need 1 <= min_level <= start_level <= max_level")
        if not -40.0 <= self.intensity <= 40.0:
            raise ValueError("tapered: intensity must be within -40 … 40")


class TaperedPacer:
    """The ADAPT_TAPERED dial level of one campaign over one shift."""

    def __init__(self, settings: TaperedSettings | None = None, *, shift_start: float = 0.0) -> None:
        self.settings = settings or TaperedSettings()
        self.shift_start = shift_start
        self.level = self.settings.start_level
        self._next_adapt = shift_start + self.settings.period_s
        self._ready_area = 0.0  # agent-seconds ready since the last adjustment
        self._waiting_area = 0.0  # party-seconds waiting
        self._agent_area = 0.0
        self._last: float | None = None
        self._last_floor: Floor | None = None

    def allowed_drop(self, now: float, target: float) -> float:
        """The drop rate tolerated at ``now``: more early in the shift, the target at its end."""
        s = self.settings
        f = min(1.0, max(0.0, (now - self.shift_start) / s.shift_s))
        return target * (1.0 + s.overshoot * (1.0 - f))

    def lines_to_dial(self, now: float, floor: Floor, budget: AbandonBudget) -> int:
        """New lines to dial now at the current level (the level adapts every ``period_s``)."""
        self._observe(now, floor)
        if now >= self._next_adapt:
            self._adapt(now, budget)
            self._next_adapt = now + self.settings.period_s
        agents = floor.ready + floor.reserved + len(floor.on_call_s)
        if agents == 0:
            return 0
        wanted = math.floor(self.level * agents + 1e-9)
        busy_lines = len(floor.in_flight_s) + len(floor.on_call_s) + floor.live_waiting
        return max(0, wanted - busy_lines)

    def _observe(self, now: float, floor: Floor) -> None:
        """Integrate ready agents and waiting parties since the previous call (the floor held)."""
        last, previous = self._last, self._last_floor
        if last is not None and previous is not None and now > last:
            dt = now - last
            self._ready_area += previous.ready * dt
            self._waiting_area += previous.live_waiting * dt
            self._agent_area += previous.logged_in * dt
        self._last, self._last_floor = now, floor

    def _adapt(self, now: float, budget: AbandonBudget) -> None:
        s = self.settings
        target = s.target if s.target is not None else budget.target
        scale = 1.0 + s.intensity / 40.0
        drop = budget.abandoned / budget.live_answers if budget.live_answers else 0.0
        allowed = self.allowed_drop(now, target)
        agents = self._agent_area
        idle = self._ready_area / agents if agents > 0 else 0.0
        waiting = self._waiting_area / agents if agents > 0 else 0.0
        span = max(now - (self._next_adapt - s.period_s), 1e-9)
        if drop > allowed:
            over = drop / allowed - 1.0
            self.level *= 1.0 - min(0.5, s.down * max(0.05, over)) * scale
        elif self._ready_area / span > -s.diff_target and idle > 0:
            self.level *= 1.0 + s.up * idle * scale
        elif waiting > 0:
            self.level *= 1.0 - s.up * waiting * scale
        self.level = min(s.max_level, max(s.min_level, self.level))
        self._ready_area = self._waiting_area = self._agent_area = 0.0
