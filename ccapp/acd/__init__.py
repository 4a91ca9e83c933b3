"""Automatic call distribution: agents, queues, skills and the routing core.

- `model`: `Agent`, `AgentState`, `QueueConfig` (+ `RelaxationStep`, `Strategy`), `WaitingCall`.
- `states`: `change_state`, the one place an agent's state changes; returns a `StateChange`.
- `router`: `Router`, the fast pure routing core (`decide` / `commit` / `route`).
- `ranking`: eligibility and strategy ranks shared by the router and `reference`, the naive
  specification the router is tested against.
- `wait`: `WaitEstimator`, expected wait by position from recent handle times and busy agents, and
  `announced_wait` (rounded for prompts).

Configuration (`queues:`, `agents:` in ccapp.yaml) becomes these objects in `ccapp.config.acd`.
"""
