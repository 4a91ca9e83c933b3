"""Automatic call distribution: agents, queues, skills and the routing core.

- `model`: `Agent`, `AgentState`, `QueueConfig` (+ `RelaxationStep`, `Strategy`), `WaitingCall`.
- `states`: `change_state`, the one place an agent's state changes; returns a `StateChange`.
- `router`: `Router`, the fast pure routing core (`decide` / `commit` / `route`).
- `ranking`: eligibility and strategy ranks shared by the router and `reference`, the naive
  specification the router is tested against.
"""
