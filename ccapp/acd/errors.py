"""ACD errors, in ccapp's one tree (`ccapp.errors.CcappError`)."""

from __future__ import annotations

from ccapp.errors import CcappError


class AcdError(CcappError):
    """An ACD rule was broken (bad agent or queue definition, illegal state change)."""

    error_id = "acd_error"


class InvalidAcdConfig(AcdError):
    """An agent or queue definition is inconsistent (skill level out of 1-5, unknown strategy…)."""

    error_id = "acd_config_invalid"


class InvalidTransition(AcdError):
    """An agent state change that the transition table does not allow."""

    error_id = "agent_invalid_transition"

    def __init__(self, agent_id: str, from_state: str, to_state: str, why: str = "not allowed") -> None:
        super().__init__(f"agent {agent_id!r}: {from_state} → {to_state}: {why}")
        self.agent_id = agent_id
        self.from_state = from_state
        self.to_state = to_state


class UnknownAgent(AcdError):
    error_id = "agent_unknown"


class UnknownCall(AcdError):
    """No live call of that id is handled by the ACD."""

    error_id = "call_unknown"


class InvalidDisposition(AcdError):
    """A disposition the ACD refuses: an outcome or topic that is not a short code word, notes too long."""

    error_id = "disposition_invalid"


class NotPermitted(AcdError):
    """The operation is not allowed in the call's or agent's present situation (e.g. a transfer of a
    call that is not connected, completing a transfer nobody started)."""

    error_id = "acd_not_permitted"
