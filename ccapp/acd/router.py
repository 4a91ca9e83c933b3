"""The routing core: which waiting call goes to which ready agent(s). Pure: no I/O, time passed in.

Decision rule (the specification is `ccapp.acd.reference.reference_decide`): take waiting calls in
line order — higher priority first, then the longest waiting — and give the first call that has at
least one eligible agent to the agent its queue's strategy ranks first (every eligible agent with
``ring_all``). A call nobody can take does not block the calls behind it that others can take.

Why it is fast:

* **Calls** are kept in *bands*, one per (queue, call skills, priority), each a heap by arrival.
  Everyone in a band needs the same skills except for relaxation, and the oldest in a band is the
  most relaxed (steps only loosen), so if a band's head cannot be served nobody in it can: a decision
  looks at band heads only, not at every waiting call.
* **Ready agents** are indexed per (queue), and per (queue, skill, minimum level) for every level up to
  the agent's, each a heap ordered by the queue's strategy rank, with lazy invalidation (an entry
  carries the agent's index version; stale ones are dropped when met, and heaps are compacted when
  half stale). For a call the router takes the smallest heap among its requirements: its top is
  the answer when that agent has the other skills too, otherwise it scans only that heap.
* **Memory of bands nobody can serve**: such a band is skipped until its queue gains a ready agent
  (a per-queue epoch), its head reaches the next relaxation step, or an older call rejoins it.
  Agents leaving only shrink the candidates, so they never make a skipped band servable.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime, timedelta

from ccapp.acd.errors import AcdError
from ccapp.acd.model import Agent, AgentState, QueueConfig, Strategy, WaitingCall
from ccapp.acd.ranking import Assignment, Rank, Requirement, call_rank, has_skills, static_rank

IndexKey = tuple[str, str, int]  # (queue, skill, min level); ("q", "", 0) = every ready agent of q
BandKey = tuple[str, Requirement, int]  # (queue, call's own skills, priority)
_Entry = tuple[Rank, str, int]  # (rank, agent id, index version)
_CallEntry = tuple[datetime, str, int]  # (entered_at, call id, add sequence)

_COMPACT_SLACK = 32


class Router:
    """Holds the line of waiting calls and an index of ready agents; decides assignments.

    The owner (the ACD service) tells it every change: `update_agent` after each state change or
    edit of an agent, `add_call` / `remove_call` as calls enter and leave, `commit` for each decision
    it acts on. `decide` only reads (and drops stale index entries).
    """

    def __init__(self, queues: Iterable[QueueConfig] = (), *, remember_unservable: bool = True) -> None:
        """``remember_unservable=False`` makes every `decide` re-examine every band (the worst case):
        for benchmarks and for testing the memory against its absence.
        """
        self._remember = remember_unservable
        self._queues: dict[str, QueueConfig] = {}
        self._agents: dict[str, Agent] = {}
        # ready-agent index
        self._indexed: dict[str, int] = {}  # agent id → version of its live entries (ready agents only)
        self._agent_keys: dict[str, list[IndexKey]] = {}
        self._heaps: dict[IndexKey, list[_Entry]] = {}
        self._live: dict[IndexKey, int] = {}
        self._version = 0
        # round robin memory: queue → agent id → sequence of its last call from that queue
        self._rr: dict[str, dict[str, int]] = {}
        self._rr_seq = 0
        # waiting calls
        self._calls: dict[str, tuple[WaitingCall, BandKey, int]] = {}
        self._bands: dict[BandKey, list[_CallEntry]] = {}
        self._band_live: dict[BandKey, int] = {}
        self._queue_bands: dict[str, dict[BandKey, list[_CallEntry]]] = {}  # the same heaps, by queue
        self._call_seq = 0
        # requirement per (queue, call skills, stage): configuration-derived, cleared with it
        self._requirements: dict[tuple[str, Requirement, int], Requirement] = {}
        # bands whose head nobody could take: (queue epoch, until, head entered_at) — see decide()
        self._epoch: dict[str, int] = {}
        self._unservable: dict[BandKey, tuple[int, datetime | None, datetime]] = {}
        self.set_queues(queues)

    # -- configuration and agents -------------------------------------------------------------

    def set_queues(self, queues: Iterable[QueueConfig]) -> None:
        """Replace the queue configuration (reload); the agent index is rebuilt for new strategies."""
        new = {queue.name: queue for queue in queues}
        orphans = [c.call_id for c, _, _ in self._calls.values() if c.queue not in new]
        if orphans:
            raise AcdError(f"calls are waiting in queues the new configuration drops: {orphans[:5]}")
        self._queues = new
        self._requirements.clear()
        self._unservable.clear()
        self._heaps.clear()
        self._live.clear()
        self._indexed.clear()
        self._agent_keys.clear()
        for agent in self._agents.values():
            self._index(agent)

    @property
    def queues(self) -> dict[str, QueueConfig]:
        return dict(self._queues)

    def update_agent(self, agent: Agent) -> None:
        """(Re)index ``agent`` after any change to it: state, skills, queues, calls today."""
        self._agents[agent.agent_id] = agent
        self._unindex(agent.agent_id)
        if agent.state is AgentState.READY:
            self._index(agent)

    def remove_agent(self, agent_id: str) -> None:
        """Forget an agent (deleted by the admin)."""
        self._unindex(agent_id)
        self._agents.pop(agent_id, None)
        for memory in self._rr.values():
            memory.pop(agent_id, None)

    def ready_count(self, queue: str) -> int:
        """Ready agents in ``queue`` that the router may still assign."""
        return self._live.get((queue, "", 0), 0)

    def _index(self, agent: Agent) -> None:
        if agent.state is not AgentState.READY:
            return
        self._version += 1
        version = self._version
        keys: list[IndexKey] = []
        agent_id = agent.agent_id
        for name in agent.queues:
            queue = self._queues.get(name)
            if queue is None:
                continue
            rank = static_rank(queue.strategy, agent, self._rr.get(name, {}).get(agent_id, -1))
            self._epoch[name] = self._epoch.get(name, 0) + 1
            entry = (rank, agent_id, version)
            queue_keys: list[IndexKey] = [(name, "", 0)]
            for skill, level in agent.skills.items():
                queue_keys.extend((name, skill, minimum) for minimum in range(1, level + 1))
            for key in queue_keys:
                heapq.heappush(self._heaps.setdefault(key, []), entry)
                self._live[key] = self._live.get(key, 0) + 1
            keys.extend(queue_keys)
        self._indexed[agent_id] = version
        self._agent_keys[agent_id] = keys

    def _unindex(self, agent_id: str) -> None:
        if self._indexed.pop(agent_id, None) is None:
            return
        for key in self._agent_keys.pop(agent_id):
            live = self._live[key] - 1
            self._live[key] = live
            heap = self._heaps[key]
            if len(heap) > 2 * live + _COMPACT_SLACK:
                indexed = self._indexed
                heap[:] = [entry for entry in heap if indexed.get(entry[1]) == entry[2]]
                heapq.heapify(heap)

    # -- waiting calls --------------------------------------------------------------------------

    def add_call(self, call: WaitingCall) -> None:
        """A call joins its queue's line (or rejoins it, keeping ``entered_at``, after ring-no-answer)."""
        if call.queue not in self._queues:
            raise AcdError(f"call {call.call_id!r}: unknown queue {call.queue!r}")
        if call.call_id in self._calls:
            raise AcdError(f"call {call.call_id!r} is already waiting")
        band: BandKey = (call.queue, tuple(sorted(call.required_skills.items())), call.priority)
        self._call_seq += 1
        self._calls[call.call_id] = (call, band, self._call_seq)
        heap = self._bands.get(band)
        if heap is None:
            heap = self._bands[band] = []
            self._queue_bands.setdefault(call.queue, {})[band] = heap
        heapq.heappush(heap, (call.entered_at, call.call_id, self._call_seq))
        self._band_live[band] = self._band_live.get(band, 0) + 1

    def remove_call(self, call_id: str) -> WaitingCall | None:
        """The call left the line (abandoned, overflowed, assigned). Unknown ids are ignored."""
        found = self._calls.pop(call_id, None)
        if found is None:
            return None
        call, band, _ = found
        live = self._band_live[band] - 1
        self._band_live[band] = live
        if live == 0 or len(self._bands[band]) > 2 * live + _COMPACT_SLACK:
            self._clean_band(band)
        return call

    def waiting(self, queue: str | None = None) -> list[WaitingCall]:
        """Waiting calls in line order (all queues, or one): for positions and wallboards. O(n log n)."""
        calls = [c for c, _, _ in self._calls.values() if queue is None or c.queue == queue]
        calls.sort(key=WaitingCall.order_key)
        return calls

    def __len__(self) -> int:
        return len(self._calls)

    def queue_length(self, queue: str) -> int:
        """Calls waiting in ``queue``."""
        return sum(self._band_live[band] for band in self._queue_bands.get(queue, {}))

    def is_full(self, queue: str) -> bool:
        """True if ``queue`` has reached its max_length: a new call should overflow instead."""
        limit = self._queues[queue].max_length
        return limit is not None and self.queue_length(queue) >= limit

    def position(self, call_id: str) -> int | None:
        """1-based place of a waiting call in its queue's line (for announcements), None if not waiting."""
        found = self._calls.get(call_id)
        if found is None:
            return None
        key = found[0].order_key()
        return 1 + sum(1 for c in self.waiting(found[0].queue) if c.order_key() < key)

    def overdue(self, now: datetime) -> list[WaitingCall]:
        """Calls that have waited their queue's max_wait_s at ``now`` (to overflow), oldest first.

        Looks past a band's head only when the head itself is overdue.
        """
        late: list[WaitingCall] = []
        calls = self._calls
        for queue, bands in self._queue_bands.items():
            max_wait = self._queues[queue].max_wait_s
            if max_wait is None:
                continue
            cutoff = now - timedelta(seconds=max_wait)
            for band in bands:
                head = self._band_head(band)
                if head is None or head.entered_at > cutoff:
                    continue
                for entered_at, call_id, seq in self._bands[band]:
                    found = calls.get(call_id)
                    if entered_at <= cutoff and found is not None and found[2] == seq:
                        late.append(found[0])
        late.sort(key=lambda c: (c.entered_at, c.call_id))
        return late

    def _clean_band(self, band: BandKey) -> None:
        calls = self._calls
        heap = self._bands[band]
        heap[:] = [e for e in heap if (found := calls.get(e[1])) is not None and found[2] == e[2]]
        if heap:
            heapq.heapify(heap)
        else:
            del self._bands[band]
            del self._band_live[band]
            self._unservable.pop(band, None)
            del self._queue_bands[band[0]][band]

    def _band_head(self, band: BandKey) -> WaitingCall | None:
        heap = self._bands[band]
        calls = self._calls
        while heap:
            _, call_id, seq = heap[0]
            found = calls.get(call_id)
            if found is not None and found[2] == seq:
                return found[0]
            heapq.heappop(heap)
        return None

    # -- decisions ------------------------------------------------------------------------------

    def decide(self, now: datetime) -> Assignment | None:
        """The next assignment at ``now``, or None if no waiting call has an eligible ready agent."""
        # A band whose head nobody could take stays so while its queue gains no ready agent (the
        # queue's epoch moves only when an agent is indexed into it; agents leaving can only make
        # it worse), its head does not get older, and the head reaches no new relaxation step.
        heads: list[tuple[tuple[int, datetime, str], BandKey, WaitingCall]] = []
        live = self._live
        calls = self._calls
        unservable = self._unservable if self._remember else {}
        for queue, bands in self._queue_bands.items():
            if not live.get((queue, "", 0)):
                continue
            epoch = self._epoch.get(queue, 0)
            for band, heap in bands.items():
                entered_at, call_id, seq = heap[0]
                found = calls.get(call_id)
                if found is None or found[2] != seq:
                    head = self._band_head(band)
                    if head is None:
                        continue
                    entered_at, call_id = head.entered_at, head.call_id
                else:
                    head = found[0]
                known = unservable.get(band)
                if (
                    known is not None
                    and known[0] == epoch
                    and (known[1] is None or now < known[1])
                    and entered_at >= known[2]
                ):
                    continue
                heads.append(((-band[2], entered_at, call_id), band, head))
        if not heads:
            return None
        heads.sort()
        tried: dict[tuple[str, Requirement], tuple[Agent, ...]] = {}
        for _, band, call in heads:
            config = self._queues[band[0]]
            steps = config.relaxation
            stage = config.step_at((now - call.entered_at).total_seconds()) if steps else 0
            requirement = self._requirement(config, band[1], stage)
            memo = (config.name, requirement)
            agents = tried.get(memo)
            if agents is None:
                agents = tried[memo] = self._pick(config, requirement)
            if agents:
                return Assignment(call, agents, stage, requirement)
            until = call.entered_at + timedelta(seconds=steps[stage].after_s) if stage < len(steps) else None
            if self._remember:
                unservable[band] = (self._epoch.get(config.name, 0), until, call.entered_at)
        return None

    def commit(self, assignment: Assignment) -> None:
        """Act on a decision: the call leaves the line, its agents leave the ready index.

        The owner then moves the agents to ``reserved`` and calls `update_agent`; an agent put back to
        ``ready`` (ring_all loser, abandoned call) re-enters the index through `update_agent`.
        """
        call = assignment.call
        self.remove_call(call.call_id)
        queue = self._queues[call.queue]
        for agent in assignment.agents:
            self._unindex(agent.agent_id)
        if queue.strategy is Strategy.ROUND_ROBIN and assignment.agents:
            self._rr_seq += 1
            self._rr.setdefault(queue.name, {})[assignment.agents[0].agent_id] = self._rr_seq

    def route(self, now: datetime) -> list[Assignment]:
        """Decide and commit until nothing more can be assigned at ``now``."""
        done: list[Assignment] = []
        while (assignment := self.decide(now)) is not None:
            self.commit(assignment)
            done.append(assignment)
        return done

    def rr_memory(self, queue: str) -> dict[str, int]:
        """Round robin memory of ``queue`` (agent id → sequence of its last call), for the reference."""
        return dict(self._rr.get(queue, {}))

    def _requirement(self, queue: QueueConfig, call_skills: Requirement, stage: int) -> Requirement:
        key = (queue.name, call_skills, stage)
        requirement = self._requirements.get(key)
        if requirement is None:
            requirement = self._requirements[key] = queue.requirement(dict(call_skills), stage)
        return requirement

    def _pick(self, queue: QueueConfig, requirement: Requirement) -> tuple[Agent, ...]:
        name = queue.name
        live = self._live
        best: IndexKey = (name, "", 0)
        best_live = live.get(best, 0)
        for skill, level in requirement:
            key = (name, skill, level)
            count = live.get(key, 0)
            if count == 0:
                return ()
            if count < best_live:
                best, best_live = key, count
        if best_live == 0:
            return ()
        heap = self._heaps[best]
        indexed = self._indexed
        agents = self._agents
        strategy = queue.strategy
        if strategy is Strategy.RING_ALL:
            found = [e for e in heap if indexed.get(e[1]) == e[2] and has_skills(agents[e[1]], requirement)]
            found.sort()
            return tuple(agents[e[1]] for e in found)
        if strategy is Strategy.SKILLS_WEIGHTED:
            top: tuple[Rank, str] | None = None
            for _, agent_id, version in heap:
                if indexed.get(agent_id) == version:
                    agent = agents[agent_id]
                    if has_skills(agent, requirement):
                        rank = call_rank(strategy, agent, -1, requirement)
                        if top is None or rank < top[0]:
                            top = (rank, agent_id)
            return (agents[top[1]],) if top is not None else ()
        # ranked by a call-independent key: the heap's top is the best agent if it is eligible
        while heap and indexed.get(heap[0][1]) != heap[0][2]:
            heapq.heappop(heap)
        if has_skills(agents[heap[0][1]], requirement):
            return (agents[heap[0][1]],)
        best_entry: _Entry | None = None
        for entry in heap:
            if (
                indexed.get(entry[1]) == entry[2]
                and (best_entry is None or entry < best_entry)
                and has_skills(agents[entry[1]], requirement)
            ):
                best_entry = entry
        return (agents[best_entry[1]],) if best_entry is not None else ()
