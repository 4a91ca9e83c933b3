"""The router picks the right call and the right agent(s), by priority, wait, skills and strategy."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ccapp.acd.errors import AcdError
from ccapp.acd.model import Agent, AgentState, QueueConfig, RelaxationStep, Strategy, WaitingCall
from ccapp.acd.router import Router
from ccapp.acd.states import MISSED, change_state
from ccapp.clock import FakeClock

S = AgentState


class Center:
    """A router with its agents, moved through real state changes on a fake clock."""

    def __init__(self, *queues: QueueConfig) -> None:
        self.clock = FakeClock()
        self.router = Router(queues)
        self.agents: dict[str, Agent] = {}

    def agent(
        self, agent_id: str, skills: dict[str, int], queues: str = "sales", ready: bool = True
    ) -> Agent:
        a = Agent(
            agent_id, agent_id.title(), f"PJSIP/{agent_id}", skills=skills, queues=frozenset(queues.split())
        )
        self.agents[agent_id] = a
        if ready:
            self.move(a, S.READY)
        else:
            self.router.update_agent(a)
        return a

    def move(self, agent: Agent, to: AgentState, reason: str | None = None) -> None:
        change_state(agent, to, self.clock, reason)
        self.router.update_agent(agent)

    def call(self, call_id: str, queue: str = "sales", priority: int = 0, **skills: int) -> WaitingCall:
        c = WaitingCall(call_id, queue, self.clock.now(), priority, skills)
        self.router.add_call(c)
        return c

    def route_one(self) -> tuple[str, list[str]] | None:
        """Decide, commit and reserve the agents, as the ACD service will."""
        decision = self.router.decide(self.clock.now())
        if decision is None:
            return None
        self.router.commit(decision)
        for a in decision.agents:
            self.move(a, S.RESERVED)
        return decision.call.call_id, [a.agent_id for a in decision.agents]

    def tick(self, seconds: float = 1.0) -> None:
        self.clock.advance(seconds)

    def finish_call(self, agent: Agent) -> None:
        for to in (S.RINGING, S.ON_CALL, S.WRAP_UP, S.READY):
            self.tick()
            self.move(agent, to)


def sales(strategy: Strategy = Strategy.LONGEST_IDLE, **kwargs: object) -> QueueConfig:
    return QueueConfig("sales", {"sales": 1}, strategy, **kwargs)  # type: ignore[arg-type]


def test_no_call_or_no_ready_agent_means_no_decision() -> None:
    center = Center(sales())
    assert center.router.decide(center.clock.now()) is None
    center.agent("ann", {"sales": 3}, ready=False)
    center.call("c1")
    assert center.route_one() is None


def test_ready_agent_with_longest_idle_gets_the_call() -> None:
    center = Center(sales())
    for name in ("ann", "bob", "cid"):
        center.agent(name, {"sales": 3})
        center.tick()
    center.call("c1")
    assert center.route_one() == ("c1", ["ann"])
    center.call("c2")
    assert center.route_one() == ("c2", ["bob"])


def test_an_agent_back_from_a_call_goes_to_the_end_of_the_idle_line() -> None:
    center = Center(sales())
    ann = center.agent("ann", {"sales": 3})
    center.tick()
    center.agent("bob", {"sales": 3})
    center.call("c1")
    assert center.route_one() == ("c1", ["ann"])
    center.finish_call(ann)
    center.call("c2")
    assert center.route_one() == ("c2", ["bob"])


def test_higher_priority_jumps_the_line_then_the_longest_waiting_goes_first() -> None:
    center = Center(sales())
    center.call("old")
    center.tick()
    center.call("vip", priority=5)
    center.tick()
    center.call("new")
    for name in ("ann", "bob", "cid"):
        center.agent(name, {"sales": 3})
    order = [center.route_one() for _ in range(3)]
    assert [o[0] for o in order if o] == ["vip", "old", "new"]


def test_a_call_nobody_can_take_does_not_block_the_calls_behind_it() -> None:
    center = Center(sales())
    center.call("french", french=2)
    center.tick()
    center.call("plain")
    center.agent("ann", {"sales": 3})
    assert center.route_one() == ("plain", ["ann"])
    assert len(center.router) == 1


def test_agents_need_every_skill_at_the_minimum_level() -> None:
    center = Center(QueueConfig("support", {"support": 3, "english": 2}))
    center.agent("low", {"support": 2, "english": 5}, queues="support")
    center.agent("nolang", {"support": 5}, queues="support")
    center.agent("other_queue", {"support": 5, "english": 5}, queues="sales")
    center.call("c1", queue="support")
    assert center.route_one() is None
    good = center.agent("good", {"support": 3, "english": 2, "german": 1}, queues="support")
    assert center.route_one() == ("c1", [good.agent_id])


def test_a_call_can_ask_for_more_than_its_queue() -> None:
    center = Center(sales())
    center.agent("ann", {"sales": 5})
    center.tick()
    center.agent("bob", {"sales": 1, "german": 4})
    center.call("c1", german=3)
    assert center.route_one() == ("c1", ["bob"])


def test_skill_levels_relax_as_the_call_waits() -> None:
    steps = (
        RelaxationStep(30, lower_levels_by=2),
        RelaxationStep(60, lower_levels_by=2, drop_skills={"german"}),
    )
    center = Center(QueueConfig("sales", {"sales": 4}, relaxation=steps))
    center.agent("junior", {"sales": 2})
    center.call("c1", german=3)
    center.tick(29)
    assert center.route_one() is None
    center.tick(1)
    assert center.route_one() is None  # levels lowered, but junior has no german
    center.tick(30)
    decision = center.router.decide(center.clock.now())
    assert decision is not None
    assert (decision.stage, decision.requirement) == (2, (("sales", 2),))
    assert [a.agent_id for a in decision.agents] == ["junior"]


def test_relaxation_lowers_to_level_one_at_most() -> None:
    queue = QueueConfig("q", {"a": 3, "b": 5}, relaxation=(RelaxationStep(10, lower_levels_by=4),))
    assert queue.requirement({}, 0) == (("a", 3), ("b", 5))
    assert queue.requirement({}, 1) == (("a", 1), ("b", 1))
    assert [queue.step_at(t) for t in (0, 9.9, 10, 1e6)] == [0, 0, 1, 1]


def test_an_older_call_that_relaxed_goes_before_a_strict_one() -> None:
    center = Center(QueueConfig("sales", {"sales": 4}, relaxation=(RelaxationStep(30, lower_levels_by=3),)))
    center.call("old")
    center.tick(40)
    center.call("new")
    center.agent("junior", {"sales": 1})
    assert center.route_one() == ("old", ["junior"])


def test_round_robin_takes_turns_in_id_order_then_by_last_call() -> None:
    center = Center(sales(Strategy.ROUND_ROBIN))
    agents = [center.agent(name, {"sales": 1}) for name in ("cid", "ann", "bob")]
    got = []
    for i in range(6):
        center.call(f"c{i}")
        result = center.route_one()
        assert result is not None
        got.append(result[1][0])
        center.finish_call(next(a for a in agents if a.agent_id == got[-1]))
    assert got == ["ann", "bob", "cid", "ann", "bob", "cid"]


def test_fewest_calls_prefers_the_least_busy_agent_then_the_longest_idle() -> None:
    center = Center(sales(Strategy.FEWEST_CALLS))
    busy = center.agent("busy", {"sales": 1})
    center.tick()
    center.agent("fresh", {"sales": 1})
    center.tick()
    center.agent("fresh2", {"sales": 1})
    busy.calls_today = 3
    center.router.update_agent(busy)
    center.call("c1")
    center.call("c2")
    assert [center.route_one() for _ in range(3)] == [("c1", ["fresh"]), ("c2", ["fresh2"]), None]


def test_skills_weighted_prefers_the_highest_levels_in_the_calls_skills() -> None:
    center = Center(sales(Strategy.SKILLS_WEIGHTED))
    center.agent("idle_longest", {"sales": 2, "german": 2})
    center.tick()
    center.agent("expert", {"sales": 5, "german": 3})
    center.tick()
    center.agent("expert_in_other", {"sales": 1, "german": 1, "french": 5})
    center.call("c1", german=1)
    assert center.route_one() == ("c1", ["expert"])


def test_ring_all_offers_the_call_to_every_eligible_agent_longest_idle_first() -> None:
    center = Center(sales(Strategy.RING_ALL), QueueConfig("other"))
    center.agent("ann", {"sales": 1})
    center.tick()
    center.agent("bob", {"sales": 2}, queues="sales other")
    center.agent("cid", {"support": 2})  # lacks the skill
    center.agent("dan", {"sales": 2}, queues="other")  # not in the queue
    center.call("c1")
    assert center.route_one() == ("c1", ["ann", "bob"])
    center.call("c2")
    assert center.route_one() is None  # both reserved by c1


def test_ring_all_first_answer_wins_and_the_others_are_released() -> None:
    center = Center(sales(Strategy.RING_ALL))
    ann = center.agent("ann", {"sales": 1})
    bob = center.agent("bob", {"sales": 1})
    center.call("c1")
    center.route_one()
    for a in (ann, bob):
        center.move(a, S.RINGING)
    center.move(bob, S.ON_CALL)
    center.move(ann, S.READY)  # released
    center.call("c2")
    assert center.route_one() == ("c2", ["ann"])


def test_ring_no_answer_puts_the_call_back_at_the_head_of_the_line() -> None:
    center = Center(sales())
    first = center.call("first")
    center.tick()
    center.call("second")
    ann = center.agent("ann", {"sales": 1})
    assert center.route_one() == ("first", ["ann"])
    center.move(ann, S.RINGING)
    center.tick(15)
    center.move(ann, S.NOT_READY, MISSED)
    center.router.add_call(first)  # back in line with its entry time
    center.agent("bob", {"sales": 1})
    assert center.route_one() == ("first", ["bob"])


def test_an_agent_who_goes_not_ready_or_logs_out_leaves_the_index() -> None:
    center = Center(sales())
    ann = center.agent("ann", {"sales": 1})
    bob = center.agent("bob", {"sales": 1})
    assert center.router.ready_count("sales") == 2
    center.move(ann, S.NOT_READY, "break")
    center.move(bob, S.LOGGED_OUT)
    assert center.router.ready_count("sales") == 0
    center.call("c1")
    assert center.route_one() is None


def test_skill_and_queue_edits_take_effect_on_update() -> None:
    center = Center(sales(), QueueConfig("vip"))
    ann = center.agent("ann", {"sales": 1})
    center.call("v1", queue="vip")
    assert center.route_one() is None
    ann.queues = frozenset({"vip"})
    center.router.update_agent(ann)
    assert center.route_one() == ("v1", ["ann"])
    assert center.router.ready_count("sales") == 0


def test_removed_calls_and_agents_are_forgotten() -> None:
    center = Center(sales())
    center.call("gone")
    center.call("stays")
    assert center.router.remove_call("gone") is not None
    assert center.router.remove_call("gone") is None
    center.agent("ann", {"sales": 1})
    center.agent("bob", {"sales": 1})
    center.router.remove_agent("ann")
    assert center.route_one() == ("stays", ["bob"])


def test_waiting_lists_calls_in_line_order() -> None:
    center = Center(sales(), QueueConfig("other"))
    center.call("a")
    center.tick()
    center.call("b", priority=1)
    center.call("c", queue="other")
    assert [c.call_id for c in center.router.waiting()] == ["b", "a", "c"]
    assert [c.call_id for c in center.router.waiting("sales")] == ["b", "a"]


def test_route_assigns_until_nothing_fits() -> None:
    center = Center(sales())
    for i in range(3):
        center.call(f"c{i}")
    center.agent("ann", {"sales": 1})
    center.agent("bob", {"sales": 1})
    done = center.router.route(center.clock.now())
    assert [(d.call.call_id, d.agents[0].agent_id) for d in done] == [("c0", "ann"), ("c1", "bob")]
    assert len(center.router) == 1


def test_calls_for_unknown_queues_and_duplicates_are_refused() -> None:
    center = Center(sales())
    with pytest.raises(AcdError, match="unknown queue"):
        center.call("c1", queue="nope")
    center.call("c2")
    with pytest.raises(AcdError, match="already waiting"):
        center.call("c2")


def test_a_reload_that_drops_a_queue_with_waiting_calls_is_refused() -> None:
    center = Center(sales(), QueueConfig("other"))
    center.call("c1", queue="other")
    with pytest.raises(AcdError, match="drops"):
        center.router.set_queues([sales()])


def test_a_reload_that_changes_the_strategy_reindexes_the_ready_agents() -> None:
    center = Center(sales())
    center.agent("zed", {"sales": 1})
    center.tick()
    center.agent("amy", {"sales": 1})
    center.router.set_queues([sales(Strategy.ROUND_ROBIN)])
    center.call("c1")
    assert center.route_one() == ("c1", ["amy"])


def test_the_decision_depends_only_on_the_time_passed_in() -> None:
    center = Center(QueueConfig("sales", {"sales": 3}, relaxation=(RelaxationStep(10, lower_levels_by=2),)))
    center.agent("junior", {"sales": 1})
    center.call("c1")
    later: datetime = center.clock.now() + timedelta(seconds=10)
    assert center.router.decide(center.clock.now()) is None
    decision = center.router.decide(later)
    assert decision is not None
    assert decision.stage == 1


def test_a_call_put_back_with_its_old_entry_time_is_relaxed_at_once() -> None:
    center = Center(QueueConfig("sales", {"sales": 3}, relaxation=(RelaxationStep(30, lower_levels_by=2),)))
    old = WaitingCall("old", "sales", center.clock.now())
    center.tick(60)
    center.agent("junior", {"sales": 1})
    center.call("new")
    assert center.route_one() is None  # "new" needs level 3 for 30 s more
    center.router.add_call(old)  # back from ring-no-answer elsewhere, waiting for 60 s already
    assert center.route_one() == ("old", ["junior"])


def test_a_call_that_nobody_could_take_is_reconsidered_when_it_reaches_a_relaxation_step() -> None:
    center = Center(QueueConfig("sales", {"sales": 3}, relaxation=(RelaxationStep(30, lower_levels_by=2),)))
    center.agent("junior", {"sales": 1})
    center.call("c1")
    for _ in range(29):
        assert center.route_one() is None
        center.tick()
    center.tick()
    assert center.route_one() == ("c1", ["junior"])


def test_position_counts_the_calls_ahead_in_the_same_queue() -> None:
    center = Center(sales(), QueueConfig("other"))
    center.call("a")
    center.tick()
    center.call("b")
    center.call("x", queue="other")
    center.call("vip", priority=2)
    assert [center.router.position(c) for c in ("vip", "a", "b", "x", "nope")] == [1, 2, 3, 1, None]


def test_a_queue_at_max_length_is_full() -> None:
    center = Center(sales(max_length=2))
    center.call("a")
    assert not center.router.is_full("sales")
    center.call("b")
    assert center.router.is_full("sales")
    assert center.router.queue_length("sales") == 2
    center.router.remove_call("a")
    assert not center.router.is_full("sales")


def test_calls_past_max_wait_are_overdue_oldest_first() -> None:
    center = Center(sales(max_wait_s=60), QueueConfig("patient"))
    center.call("first")
    center.tick(10)
    center.call("vip", priority=3)
    center.call("patient", queue="patient")
    center.tick(45)
    center.call("fresh")
    assert center.router.overdue(center.clock.now()) == []
    center.tick(5)
    assert [c.call_id for c in center.router.overdue(center.clock.now())] == ["first"]
    center.tick(10)
    assert [c.call_id for c in center.router.overdue(center.clock.now())] == ["first", "vip"]
