"""The fast router decides exactly as the naive reference, over random centers and event streams."""

from __future__ import annotations

import random

import pytest

from ccapp.acd.model import Agent, AgentState, QueueConfig, RelaxationStep, Strategy, WaitingCall
from ccapp.acd.reference import reference_decide
from ccapp.acd.router import Router
from ccapp.acd.states import TRANSITIONS, change_state
from ccapp.clock import FakeClock

SKILLS = ["sales", "support", "billing", "english", "german", "french"]
S = AgentState


def random_skills(rng: random.Random, most: int) -> dict[str, int]:
    return {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(0, most))}


def random_queue(rng: random.Random, name: str) -> QueueConfig:
    steps: list[RelaxationStep] = []
    after, lower, drop = 0.0, 0, frozenset[str]()
    for _ in range(rng.randint(0, 3)):
        after += rng.choice([5.0, 10.0, 30.0])
        lower += rng.randint(0, 2)
        if rng.random() < 0.3:
            drop = drop | {rng.choice(SKILLS)}
        steps.append(RelaxationStep(after, lower, drop))
    return QueueConfig(name, random_skills(rng, 2), rng.choice(list(Strategy)), tuple(steps))


def random_agent(rng: random.Random, agent_id: str, queue_names: list[str]) -> Agent:
    queues = frozenset(rng.sample(queue_names, rng.randint(1, min(3, len(queue_names)))))
    return Agent(
        agent_id, agent_id, f"PJSIP/{agent_id}", random_skills(rng, 4), queues, calls_today=rng.randint(0, 3)
    )


def run_case(seed: int, steps: int = 150, remember: bool = True) -> int:
    rng = random.Random(seed)
    clock = FakeClock()
    queue_names = [f"q{i}" for i in range(rng.randint(1, 5))]
    queues = {name: random_queue(rng, name) for name in queue_names}
    router = Router(queues.values(), remember_unservable=remember)
    agents = [random_agent(rng, f"a{i:02d}", queue_names) for i in range(rng.randint(1, 40))]
    for agent in agents:
        router.update_agent(agent)
    calls: dict[str, WaitingCall] = {}
    gone: list[WaitingCall] = []  # calls that left the line and may come back (ring-no-answer)
    next_call = 0
    decisions = 0

    for _ in range(steps):
        event = rng.random()
        if event < 0.3:
            call = WaitingCall(
                f"c{next_call}",
                rng.choice(queue_names),
                clock.now(),
                rng.randint(0, 2),
                random_skills(rng, 1),
            )
            next_call += 1
            calls[call.call_id] = call
            router.add_call(call)
        elif event < 0.35 and calls:
            left = calls.pop(rng.choice(sorted(calls)))
            assert router.remove_call(left.call_id) is left
            gone.append(left)
        elif event < 0.4 and gone:
            back = gone.pop(rng.randrange(len(gone)))
            calls[back.call_id] = back
            router.add_call(back)  # with its old entry time: at the head of its line again
        elif event < 0.7:
            agent = rng.choice(agents)
            to = rng.choice(sorted(TRANSITIONS[agent.state]))
            reason = "missed" if to is S.NOT_READY and agent.not_ready_reason != "missed" else None
            reason = reason or ("break" if to is S.NOT_READY else None)
            change_state(agent, to, clock, reason)
            router.update_agent(agent)
        elif event < 0.75:
            agent = rng.choice(agents)
            agent.skills = random_skills(rng, 4)
            agent.queues = frozenset(rng.sample(queue_names, rng.randint(0, min(2, len(queue_names)))))
            router.update_agent(agent)
        else:
            clock.advance(rng.choice([0.5, 3.0, 12.0]))

        now = clock.now()
        memory = {name: router.rr_memory(name) for name in queue_names}
        expected = reference_decide(queues, agents, calls.values(), now, memory)
        got = router.decide(now)
        assert (got is None) == (expected is None), (seed, got, expected)
        if got is None or expected is None:
            continue
        assert got.call.call_id == expected.call.call_id, seed
        assert [a.agent_id for a in got.agents] == [a.agent_id for a in expected.agents], seed
        assert (got.stage, got.requirement) == (expected.stage, expected.requirement), seed
        if rng.random() < 0.7:
            router.commit(got)
            gone.append(calls.pop(got.call.call_id))
            for agent in got.agents:
                change_state(agent, S.RESERVED, clock)
                router.update_agent(agent)
            decisions += 1
    return decisions


@pytest.mark.parametrize("seed", range(60))
def test_the_fast_router_matches_the_reference_on_random_event_streams(seed: int) -> None:
    run_case(seed)


@pytest.mark.parametrize("seed", range(60, 80))
def test_without_its_memory_of_unservable_bands_the_router_still_matches(seed: int) -> None:
    run_case(seed, remember=False)


def test_the_random_cases_do_reach_decisions() -> None:
    assert sum(run_case(seed) for seed in range(60)) > 500
