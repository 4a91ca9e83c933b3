"""Agent state changes go through one method that validates, stamps time and reports the change."""

from __future__ import annotations

import dataclasses

import pytest

from ccapp.acd.errors import AcdError, InvalidTransition
from ccapp.acd.model import Agent, AgentState
from ccapp.acd.states import MISSED, TRANSITIONS, StateChange, change_state
from ccapp.clock import FakeClock
from ccapp.errors import CcappError

S = AgentState


def agent(state: AgentState = S.LOGGED_OUT) -> Agent:
    return Agent("a1", "Alice", "PJSIP/1001", skills={"sales": 3}, queues=frozenset({"sales"}), state=state)


def test_a_call_cycle_walks_ready_reserved_ringing_on_call_wrap_up_ready() -> None:
    clock = FakeClock()
    alice = agent()
    changes = []
    for to in (S.READY, S.RESERVED, S.RINGING, S.ON_CALL, S.WRAP_UP, S.READY):
        clock.advance(5)
        changes.append(change_state(alice, to, clock))
    assert [(c.from_state, c.to_state) for c in changes] == [
        (S.LOGGED_OUT, S.READY),
        (S.READY, S.RESERVED),
        (S.RESERVED, S.RINGING),
        (S.RINGING, S.ON_CALL),
        (S.ON_CALL, S.WRAP_UP),
        (S.WRAP_UP, S.READY),
    ]
    assert alice.state is S.READY
    assert alice.state_since == clock.now() == changes[-1].at
    assert alice.calls_today == 1
    assert alice.last_call_ended_at == changes[4].at


def test_the_change_record_is_immutable_and_names_agent_states_reason_and_time() -> None:
    clock = FakeClock()
    change = change_state(agent(), S.NOT_READY, clock, reason="break")
    assert change == StateChange("a1", S.LOGGED_OUT, S.NOT_READY, "break", clock.now())
    with pytest.raises(dataclasses.FrozenInstanceError):
        change.to_state = S.READY  # type: ignore[misc]


def test_ring_no_answer_puts_the_agent_not_ready_missed() -> None:
    alice = agent(S.RINGING)
    change = change_state(alice, S.NOT_READY, FakeClock(), reason=MISSED)
    assert (alice.state, alice.not_ready_reason, change.reason) == (S.NOT_READY, "missed", "missed")
    assert alice.calls_today == 0


def test_the_reason_is_cleared_when_the_agent_becomes_ready_again() -> None:
    alice = agent()
    clock = FakeClock()
    change_state(alice, S.NOT_READY, clock, reason="lunch")
    change_state(alice, S.NOT_READY, clock, reason="training")
    assert alice.not_ready_reason == "training"
    change_state(alice, S.READY, clock)
    assert alice.not_ready_reason is None


@pytest.mark.parametrize("state", [s for s in S if s is not S.LOGGED_OUT])
def test_every_logged_in_state_may_log_out(state: AgentState) -> None:
    alice = agent(state)
    change_state(alice, S.LOGGED_OUT, FakeClock(), reason="unregistered")
    assert alice.state is S.LOGGED_OUT


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (S.LOGGED_OUT, S.RESERVED),
        (S.LOGGED_OUT, S.LOGGED_OUT),
        (S.READY, S.RINGING),
        (S.READY, S.ON_CALL),
        (S.READY, S.READY),
        (S.RESERVED, S.ON_CALL),
        (S.RINGING, S.WRAP_UP),
        (S.ON_CALL, S.READY),
        (S.ON_CALL, S.NOT_READY),
        (S.WRAP_UP, S.ON_CALL),
        (S.NOT_READY, S.RESERVED),
    ],
)
def test_an_illegal_transition_raises_and_changes_nothing(start: AgentState, to: AgentState) -> None:
    alice = agent(start)
    before = dataclasses.replace(alice)
    reason = "break" if to is S.NOT_READY else None
    with pytest.raises(InvalidTransition, match=f"{start} → {to}") as raised:
        change_state(alice, to, FakeClock(), reason=reason)
    assert isinstance(raised.value, AcdError)
    assert isinstance(raised.value, CcappError)
    assert raised.value.error_id == "agent_invalid_transition"
    assert alice == before


def test_not_ready_needs_a_reason_and_other_states_refuse_one() -> None:
    with pytest.raises(InvalidTransition, match="needs a reason"):
        change_state(agent(S.READY), S.NOT_READY, FakeClock())
    with pytest.raises(InvalidTransition, match="take a reason"):
        change_state(agent(S.NOT_READY), S.READY, FakeClock(), reason="back")


def test_not_ready_to_the_same_reason_is_not_a_change() -> None:
    alice = agent()
    change_state(alice, S.NOT_READY, FakeClock(), reason="break")
    with pytest.raises(InvalidTransition, match="already not ready"):
        change_state(alice, S.NOT_READY, FakeClock(), reason="break")


def test_the_table_covers_every_state_and_every_logged_in_state_can_leave() -> None:
    assert set(TRANSITIONS) == set(S)
    for state, targets in TRANSITIONS.items():
        assert targets, state
        if state is not S.LOGGED_OUT:
            assert S.LOGGED_OUT in targets
